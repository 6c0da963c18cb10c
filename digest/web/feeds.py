"""RSS and Atom feeds of trending papers, for everything or for one topic.

Items are the trending papers of the latest listing week, ranked like the email.
Links are absolute on SITE_URL; text is escaped by the feed generator and
stripped of control characters XML 1.0 cannot carry.
"""

from __future__ import annotations

import datetime as dt
import re

from django.contrib.syndication.views import Feed
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, SyndicationFeed

from digest.catalog.ranking import RankedPaper
from digest.web.listing import authors_line, feed_papers, paper_summary
from subscriptions.links import absolute
from subscriptions.models import Topic

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
FEED_ITEMS = 50


def xml_safe(text: str) -> str:
    """`text` without the control characters XML 1.0 forbids."""
    return _CONTROL.sub("", text)


class TrendingRssFeed(Feed[RankedPaper, Topic | None]):
    """Trending papers as RSS 2.0; `/feeds/trending.rss` or `/feeds/<topic>.rss`."""

    feed_type: type[SyndicationFeed] = Rss201rev2Feed
    extension = "rss"

    def get_object(self, request: HttpRequest, topic: str | None = None) -> Topic | None:
        if topic is None:
            return None
        return get_object_or_404(Topic, slug=topic, is_active=True)

    def title(self, obj: Topic | None) -> str:
        return f"Paperboy — trending papers: {obj.name}" if obj else "Paperboy — trending papers"

    def link(self, obj: Topic | None) -> str:
        url = absolute(reverse("digest:papers"))
        return f"{url}?topic={obj.slug}" if obj else url

    def feed_url(self, obj: Topic | None) -> str:
        name = f"digest:topic_feed_{self.extension}" if obj else f"digest:trending_{self.extension}"
        return absolute(reverse(name, kwargs={"topic": obj.slug} if obj else {}))

    def description(self, obj: Topic | None) -> str:
        about = f" about {obj.name}" if obj else ""
        return xml_safe(f"The research papers people are talking about{about}, ranked by Paperboy.")

    subtitle = description

    def items(self, obj: Topic | None) -> list[RankedPaper]:
        return feed_papers(topic=obj, limit=FEED_ITEMS)

    def item_title(self, item: RankedPaper) -> str:
        return xml_safe(item.paper.title)

    def item_description(self, item: RankedPaper) -> str:
        return xml_safe(paper_summary(item.paper))

    def item_link(self, item: RankedPaper) -> str:
        return absolute(reverse("digest:paper", args=[item.paper.paper_id]))

    def item_guid(self, item: RankedPaper) -> str:
        return self.item_link(item)

    def item_author_name(self, item: RankedPaper) -> str:
        return xml_safe(authors_line(item.paper.authors or []))

    def item_pubdate(self, item: RankedPaper) -> dt.datetime:
        listed = dt.datetime.combine(item.paper.listed_on, dt.time.min, tzinfo=dt.UTC)
        return max(listed, item.paper.published_at) if item.paper.published_at else listed

    def item_updateddate(self, item: RankedPaper) -> dt.datetime:
        return item.paper.updated_at

    def item_categories(self, item: RankedPaper) -> list[str]:
        return [xml_safe(name) for name in item.topic_names]


class TrendingAtomFeed(TrendingRssFeed):
    """The same items as Atom 1.0; `/feeds/trending.atom` or `/feeds/<topic>.atom`."""

    feed_type = Atom1Feed
    extension = "atom"
