"""Public routes: papers pages, feeds, the JSON API and the web copy of editions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.http import HttpResponse
from django.urls import path, register_converter
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from digest.web import api, feedback, views
from digest.web.feeds import TrendingAtomFeed, TrendingRssFeed


class IsoDateConverter:
    """YYYY-MM-DD as a date; an impossible date does not match (so it is a 404)."""

    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value: str) -> dt.date:
        return dt.date.fromisoformat(value)  # ValueError means "no match"

    def to_url(self, value: dt.date | str) -> str:
        return value.isoformat() if isinstance(value, dt.date) else str(value)


register_converter(IsoDateConverter, "isodate")

app_name = "digest"


def _feed(feed: TrendingRssFeed) -> Callable[..., HttpResponse]:
    """A feed view answering GET/HEAD only, cacheable for 15 minutes."""
    return require_safe(cache_control(public=True, max_age=900)(feed))


urlpatterns = [
    path("papers/", views.papers_latest, name="papers"),
    path("papers/<isodate:day>/", views.papers_day, name="papers_day"),
    path("papers/week/<isodate:day>/", views.papers_week, name="papers_week"),
    path("papers/<path:paper_id>/", views.paper_detail, name="paper"),
    path("feeds/trending.rss", _feed(TrendingRssFeed()), name="trending_rss"),
    path("feeds/trending.atom", _feed(TrendingAtomFeed()), name="trending_atom"),
    path("feeds/<slug:topic>.rss", _feed(TrendingRssFeed()), name="topic_feed_rss"),
    path("feeds/<slug:topic>.atom", _feed(TrendingAtomFeed()), name="topic_feed_atom"),
    path("api/papers/", api.papers, name="api_papers"),
    path("api/papers/<path:paper_id>/similar/", api.similar, name="api_similar"),
    path("api/topics/", api.topics, name="api_topics"),
    path("e/<slug:slug>/", views.edition_detail, name="edition"),
    path("e/<slug:slug>/<str:reader>/", views.edition_detail, name="personal_edition"),
    path("feedback/<str:token>/<int:paper>/<str:choice>/", feedback.feedback, name="feedback"),
]
