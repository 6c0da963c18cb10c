"""Public pages: papers of a day or a week, one paper, the web copy of an edition.

Thin: selectors in digest/web/listing.py do the reading; these views pick the days,
paginate and set cache headers.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from digest.catalog.ranking import latest_listing_day
from digest.catalog.similarity import similar_papers
from digest.daily.lists import PersonalList, list_at
from digest.models import Edition
from digest.readers.feedback import feedback_on
from digest.web import listing
from digest.web.feedback import reader_for
from digest.web.page_cache import shared_page
from digest.web.search import clean_query, search
from digest.web.webview import public_edition_html
from subscriptions.models import Topic

PAPERS_PER_PAGE = 20
PAGE_MAX_AGE = 300  # seconds: papers change a few times a day (ingests, upvotes)


def _topic_from_request(request: HttpRequest, topics: list[Topic]) -> Topic | None:
    slug = request.GET.get("topic", "").strip()
    if not slug:
        return None
    topic = listing.find_topic(slug, topics)
    if topic is None:
        raise Http404("No topic with that name.")
    return topic


def _url(name: str, day: dt.date | None, topic: Topic | None) -> str | None:
    if day is None:
        return None
    url = reverse(name, args=[day.isoformat()])
    return f"{url}?{urlencode({'topic': topic.slug})}" if topic else url


def _with_cache_headers(
    request: HttpRequest, response: HttpResponse, papers: list[listing.PaperCard]
) -> HttpResponse:
    """Last-Modified from the newest paper shown; answers 304 when the client is up to date."""
    if papers:
        newest = max(card.paper.updated_at for card in papers)
        last_modified = int(newest.timestamp())
        response["Last-Modified"] = http_date(last_modified)
        return get_conditional_response(request, last_modified=last_modified, response=response) or response
    return response


def _render_listing(request: HttpRequest, *, days: list[dt.date], week: bool) -> HttpResponse:
    topics = listing.active_topics()
    topic = _topic_from_request(request, topics)
    found = listing.listing_for(days=days, topic=topic, topics=topics)
    page = Paginator(found.papers, PAPERS_PER_PAGE).get_page(request.GET.get("page"))
    cards = listing.paper_cards(list(page.object_list), topics)
    name = "digest:papers_week" if week else "digest:papers_day"
    context = {
        "days": days,
        "day": days[0],
        "week": week,
        "topic": topic,
        "topics": topics,
        "page_obj": page,
        "cards": cards,
        "rank_offset": page.start_index() - 1 if cards else 0,
        "previous_url": _url(name, found.previous_day, topic),
        "next_url": _url(name, found.next_day, topic),
        "day_url": _url("digest:papers_day", days[0] if not week else max(days), topic),
        "week_url": _url("digest:papers_week", days[0], topic),
    }
    response = render(request, "digest/papers/list.html", context)
    return _with_cache_headers(request, response, cards)


def _render_search(request: HttpRequest, query: str) -> HttpResponse:
    """/papers/?q=…: the whole catalog, best match first, with the topic filter and pages."""
    topics = listing.active_topics()
    topic = _topic_from_request(request, topics)
    found = search(query, topic=topic, topics=topics)
    page = Paginator(found, PAPERS_PER_PAGE).get_page(request.GET.get("page"))
    cards = listing.paper_cards(list(page.object_list), topics)
    context = {
        "query": query,
        "day": None,
        "week": False,
        "topic": topic,
        "topics": topics,
        "page_obj": page,
        "cards": cards,
        "rank_offset": page.start_index() - 1 if cards else 0,
    }
    return render(request, "digest/papers/list.html", context)


@require_safe
@cache_control(public=True, max_age=PAGE_MAX_AGE)
@shared_page
def papers_latest(request: HttpRequest) -> HttpResponse:
    if query := clean_query(request.GET.get("q", "")):
        return _render_search(request, query)
    day = latest_listing_day()
    if day is None:
        return render(request, "digest/papers/empty.html", {"topics": listing.active_topics()})
    return _render_listing(request, days=[day], week=False)


@require_safe
@cache_control(public=True, max_age=PAGE_MAX_AGE)
@shared_page
def papers_day(request: HttpRequest, day: dt.date) -> HttpResponse:
    return _render_listing(request, days=[day], week=False)


@require_safe
@cache_control(public=True, max_age=PAGE_MAX_AGE)
@shared_page
def papers_week(request: HttpRequest, day: dt.date) -> HttpResponse:
    return _render_listing(request, days=listing.week_of(day), week=True)


@require_safe
def paper_detail(request: HttpRequest, paper_id: str) -> HttpResponse:
    """One paper. A reader who came from their digest (?r=<their feedback token>) also gets
    "more / less like this" buttons; that page is theirs, so it is never cached."""
    detail = listing.paper_detail(paper_id)
    if detail is None:
        raise Http404("No such paper.")
    token = request.GET.get("r", "")[:200]
    reader = reader_for(token) if token else None
    context = {
        "paper": detail.paper,
        "summary": listing.paper_summary(detail.paper),
        "matches": detail.matches,
        "editions": detail.editions,
        "readers": sum(use.sent for use in detail.editions),
        "similar": similar_papers(detail.paper),
        "feedback_token": token if reader else "",
        "feedback_value": feedback_on(subscriber=reader, paper=detail.paper) if reader else 0,
    }
    response = render(request, "digest/papers/detail.html", context)
    if reader is not None or token:
        patch_cache_control(response, private=True, no_store=True)
        return response
    patch_cache_control(response, public=True, max_age=PAGE_MAX_AGE)
    response["Last-Modified"] = http_date(int(detail.paper.updated_at.timestamp()))
    return response


@require_safe
def edition_detail(request: HttpRequest, slug: str, reader: str | None = None) -> HttpResponse:
    """An edition's web copy; a personal list's at its own address (digest.daily.lists), which
    a row of lists alone does not show."""
    edition = get_object_or_404(Edition, slug=slug)
    shown: Edition | PersonalList | None = edition
    if edition.personal:
        shown = list_at(edition, reader)
    elif reader is not None:
        shown = None
    if shown is None:
        raise Http404("no such digest")
    response = HttpResponse(public_edition_html(shown), content_type="text/html; charset=utf-8")
    # The address is unguessable on purpose: keep it out of search engines.
    response["X-Robots-Tag"] = "noindex, nofollow"
    if edition.personal:
        patch_cache_control(response, private=True, max_age=3600)
    else:
        patch_cache_control(response, public=True, max_age=3600)
    return response
