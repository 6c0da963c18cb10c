"""A small read-only JSON API: papers by day and topic (paginated), and the topics.

Bad parameters get a 400 with a JSON `error` saying what is wrong; nothing here writes.
See docs/api.md.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from digest.catalog.ranking import RankedPaper, latest_listing_day
from digest.catalog.similarity import SHOWN, similar_papers
from digest.models import Paper
from digest.web import listing
from digest.web.page_cache import shared_page
from digest.web.search import QUERY_MAX, clean_query, search
from subscriptions.links import absolute
from subscriptions.models import Topic

DEFAULT_PER_PAGE = 20
MAX_SIMILAR = 20
MAX_PER_PAGE = 100
API_MAX_AGE = 300


class PapersQuery(forms.Form):
    """The query string of /api/papers/."""

    date = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
    topic = forms.SlugField(required=False, max_length=80)
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000)
    per_page = forms.IntegerField(required=False, min_value=1, max_value=MAX_PER_PAGE)
    q = forms.CharField(required=False, max_length=QUERY_MAX, strip=True)


def _error(message: str, *, fields: dict[str, list[str]] | None = None, status: int = 400) -> JsonResponse:
    body: dict[str, Any] = {"error": message}
    if fields:
        body["fields"] = fields
    response = JsonResponse(body, status=status)
    patch_cache_control(response, no_store=True)
    return response


def _ok(body: dict[str, Any]) -> JsonResponse:
    response = JsonResponse(body)
    patch_cache_control(response, public=True, max_age=API_MAX_AGE)
    return response


def _paper_json(card: listing.PaperCard, rank: int) -> dict[str, Any]:
    paper: Paper = card.paper
    return {
        "rank": rank,
        "id": paper.paper_id,
        "title": paper.title,
        "authors": list(paper.authors or []),
        "summary": card.summary,
        "listed_on": paper.listed_on.isoformat(),
        "upvotes": paper.upvotes,
        "comments": paper.comments,
        "score": round(card.ranked.score, 6),
        "pinned": card.ranked.pinned,
        "topics": [{"name": name, "slug": slug or None} for name, slug in card.chips],
        "organization": paper.organization or None,
        "categories": list(paper.categories or []),
        "doi": paper.doi or None,
        "sources": [name for name, seen in (("hf", paper.on_hf), ("arxiv", paper.on_arxiv)) if seen],
        "links": {
            "page": absolute(reverse("digest:paper", args=[paper.paper_id])),
            "abstract": paper.abstract_url or None,
            "pdf": paper.pdf_url or None,
            "code": paper.github_repo or None,
            "project": paper.project_page or None,
        },
    }


def _page_url(params: dict[str, str], page: int) -> str:
    query = urlencode({**params, "page": page})
    return absolute(f"{reverse('digest:api_papers')}?{query}")


def _query_error(request: HttpRequest, query: PapersQuery) -> JsonResponse | None:
    unknown = sorted(set(request.GET) - set(PapersQuery.base_fields))
    if unknown:
        return _error(f"Unknown parameter(s): {', '.join(unknown)}. Allowed: date, topic, page, per_page, q.")
    if not query.is_valid():
        fields = {name: [str(e) for e in errors] for name, errors in query.errors.items()}
        return _error("Invalid parameters.", fields=fields)
    return None


def _page_json(
    *, request: HttpRequest, page: Page[RankedPaper], found: listing.Listing | None, topics: list[Topic]
) -> dict[str, Any]:
    params = {k: str(v) for k, v in request.GET.items() if k != "page"}
    cards = listing.paper_cards(list(page.object_list), topics)
    day = found.days[0] if found else None
    return {
        "date": day.isoformat() if day else None,
        "topic": found.topic.slug if found and found.topic else None,
        "count": page.paginator.count,
        "page": page.number,
        "pages": page.paginator.num_pages,
        "per_page": page.paginator.per_page,
        "previous": _page_url(params, page.number - 1) if page.has_previous() else None,
        "next": _page_url(params, page.number + 1) if page.has_next() else None,
        "previous_day": found.previous_day.isoformat() if found and found.previous_day else None,
        "next_day": found.next_day.isoformat() if found and found.next_day else None,
        "results": [_paper_json(card, page.start_index() + i) for i, card in enumerate(cards)],
    }


@require_safe
@shared_page
def papers(request: HttpRequest) -> JsonResponse:
    """GET /api/papers/?date=YYYY-MM-DD&topic=slug&page=N&per_page=M, or ?q=words[&topic=…]
    to search the whole catalog (every listing day; `date` then narrows to one day)."""
    query = PapersQuery(request.GET)
    if error := _query_error(request, query):
        return error
    topics = listing.active_topics()
    topic = None
    if query.cleaned_data["topic"]:
        topic = listing.find_topic(query.cleaned_data["topic"], topics)
        if topic is None:
            return _error(f"Unknown topic {query.cleaned_data['topic']!r}; see /api/topics/.")
    if words := clean_query(query.cleaned_data["q"] or ""):
        return _search_json(request, query, words, topic=topic, topics=topics)
    day = query.cleaned_data["date"] or latest_listing_day()
    found = listing.listing_for(days=[day], topic=topic, topics=topics) if day else None
    paginator = Paginator(found.papers if found else [], query.cleaned_data["per_page"] or DEFAULT_PER_PAGE)
    number = query.cleaned_data["page"] or 1
    if number > paginator.num_pages:
        return _error(f"Page {number} is past the last page ({paginator.num_pages}).")
    return _ok(_page_json(request=request, page=paginator.page(number), found=found, topics=topics))


def _search_json(
    request: HttpRequest, query: PapersQuery, words: str, *, topic: Topic | None, topics: list[Topic]
) -> JsonResponse:
    day = query.cleaned_data["date"]
    results = search(words, topic=topic, topics=topics, day=day)
    paginator = Paginator(results, query.cleaned_data["per_page"] or DEFAULT_PER_PAGE)
    number = query.cleaned_data["page"] or 1
    if number > paginator.num_pages:
        return _error(f"Page {number} is past the last page ({paginator.num_pages}).")
    page = paginator.page(number)
    params = {k: str(v) for k, v in request.GET.items() if k != "page"}
    cards = listing.paper_cards(list(page.object_list), topics)
    return _ok(
        {
            "q": words,
            "date": day.isoformat() if day else None,
            "topic": topic.slug if topic else None,
            "count": paginator.count,
            "page": page.number,
            "pages": paginator.num_pages,
            "per_page": paginator.per_page,
            "previous": _page_url(params, page.number - 1) if page.has_previous() else None,
            "next": _page_url(params, page.number + 1) if page.has_next() else None,
            "results": [_paper_json(card, page.start_index() + i) for i, card in enumerate(cards)],
        }
    )


@require_safe
@shared_page
def topics(request: HttpRequest) -> JsonResponse:
    """GET /api/topics/: every active topic with its feeds."""
    if request.GET:
        return _error("/api/topics/ takes no parameters.")
    return _ok(
        {
            "count": len(found := listing.active_topics()),
            "results": [
                {
                    "slug": topic.slug,
                    "name": topic.name,
                    "description": topic.description,
                    "papers": absolute(f"{reverse('digest:api_papers')}?{urlencode({'topic': topic.slug})}"),
                    "rss": absolute(reverse("digest:topic_feed_rss", kwargs={"topic": topic.slug})),
                    "atom": absolute(reverse("digest:topic_feed_atom", kwargs={"topic": topic.slug})),
                }
                for topic in found
            ],
        }
    )


def _similar_json(paper: Paper, similarity: float) -> dict[str, Any]:
    return {
        "id": paper.paper_id,
        "title": paper.title,
        "authors": list(paper.authors or []),
        "listed_on": paper.listed_on.isoformat(),
        "summary": listing.paper_summary(paper),
        "similarity": similarity,
        "links": {
            "page": absolute(reverse("digest:paper", args=[paper.paper_id])),
            "abstract": paper.abstract_url or None,
            "pdf": paper.pdf_url or None,
        },
    }


@require_safe
@shared_page
def similar(request: HttpRequest, paper_id: str) -> JsonResponse:
    """GET /api/papers/<id>/similar/?limit=N: the nearest recent papers in the matcher's space."""
    unknown = sorted(set(request.GET) - {"limit"})
    if unknown:
        return _error(f"Unknown parameter(s): {', '.join(unknown)}. Allowed: limit.")
    query = SimilarQuery(request.GET)
    if not query.is_valid():
        fields = {name: [str(e) for e in errors] for name, errors in query.errors.items()}
        return _error("Invalid parameters.", fields=fields)
    detail = listing.paper_detail(paper_id)
    if detail is None:
        return _error(f"No paper {paper_id!r}.", status=404)
    found = similar_papers(detail.paper, limit=query.cleaned_data["limit"] or SHOWN)
    return _ok(
        {
            "id": detail.paper.paper_id,
            "title": detail.paper.title,
            "count": len(found),
            "results": [_similar_json(p, score) for p, score in found],
        }
    )


class SimilarQuery(forms.Form):
    limit = forms.IntegerField(required=False, min_value=1, max_value=MAX_SIMILAR)
