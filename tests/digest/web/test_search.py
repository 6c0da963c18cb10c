"""Search over the whole catalog: /papers/?q= and /api/papers/?q=."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection

from tests.factories import PaperFactory, PaperTopicFactory, TopicFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 10)
LAST_MONTH = dt.date(2026, 2, 3)


@pytest.fixture
def catalog():
    video = TopicFactory(name="Video", slug="video")
    speech = TopicFactory(name="Speech", slug="speech")
    old = PaperFactory(title="Diffusion models for video editing", listed_on=LAST_MONTH)
    new = PaperFactory(title="Talking heads", abstract="We edit video with diffusion.", listed_on=TODAY)
    author = PaperFactory(title="Unrelated title", authors=[{"name": "Grace Hopperfield"}], listed_on=TODAY)
    hidden = PaperFactory(title="Hidden diffusion video", listed_on=TODAY, hidden=True)
    PaperTopicFactory(paper=old, topic=video)
    PaperTopicFactory(paper=new, topic=speech)
    return {"old": old, "new": new, "author": author, "hidden": hidden, "video": video}


def test_the_page_searches_every_listing_day_by_title_and_abstract(client, catalog):
    page = client.get("/papers/", {"q": "diffusion video"})
    assert page.status_code == 200
    body = page.content.decode()
    assert "Papers matching “diffusion video”" in body
    assert "Diffusion models for video editing" in body  # a month old
    assert "Talking heads" in body  # the words are in its abstract
    assert "Hidden diffusion video" not in body
    assert "Unrelated title" not in body
    assert body.index("Diffusion models for video editing") < body.index("Talking heads")  # title hits first


def test_authors_are_searched_and_the_topic_filter_combines(client, catalog):
    assert "Unrelated title" in client.get("/papers/", {"q": "hopperfield"}).content.decode()
    body = client.get("/papers/", {"q": "diffusion", "topic": "video"}).content.decode()
    assert "Diffusion models for video editing" in body
    assert "Talking heads" not in body
    assert 'name="q" value="diffusion"' in body  # the topic form keeps the query


def test_no_match_says_so_and_a_blank_query_is_the_normal_listing(client, catalog):
    body = client.get("/papers/", {"q": "zebrafish"}).content.decode()
    assert "No paper matches “zebrafish”" in body
    listing = client.get("/papers/", {"q": "   "}).content.decode()
    assert "Trending papers" in listing


def test_results_are_paginated_and_pages_keep_the_query(client, catalog):
    for n in range(25):
        PaperFactory(title=f"Diffusion study {n}", listed_on=TODAY)
    first = client.get("/papers/", {"q": "diffusion"}).content.decode()
    assert "page 1 of 2" in first
    assert "?q=diffusion&amp;page=2" in first
    second = client.get("/papers/", {"q": "diffusion", "page": "2"}).content.decode()
    assert "page 2 of 2" in second


def test_every_page_has_a_search_box_in_its_header(client, catalog):
    for path in ("/", "/papers/"):
        body = client.get(path).content.decode()
        assert 'role="search" action="/papers/"' in body
        assert 'name="q"' in body


def test_the_api_searches_too_and_refuses_an_overlong_query(client, catalog):
    answer = client.get("/api/papers/", {"q": "diffusion video", "per_page": "1"})
    assert answer.status_code == 200
    data = json.loads(answer.content)
    assert (data["q"], data["count"], data["pages"]) == ("diffusion video", 2, 2)
    assert data["results"][0]["title"] == "Diffusion models for video editing"
    assert data["next"].endswith("page=2")
    assert "q=diffusion+video" in data["next"]
    narrowed = json.loads(client.get("/api/papers/", {"q": "diffusion", "date": TODAY.isoformat()}).content)
    assert [r["title"] for r in narrowed["results"]] == ["Talking heads"]
    too_long = client.get("/api/papers/", {"q": "x" * 201})
    assert too_long.status_code == 400
    assert "q" in json.loads(too_long.content)["fields"]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="full-text search is PostgreSQL's (set DATABASE_URL)"
)
def test_postgresql_stems_words_and_understands_phrases_and_exclusions(client, catalog):
    def titles(q: str) -> set[str]:
        return {r["title"] for r in json.loads(client.get("/api/papers/", {"q": q}).content)["results"]}

    assert titles("videos edited") == {"Diffusion models for video editing", "Talking heads"}
    assert titles('"video editing"') == {"Diffusion models for video editing"}
    assert titles("diffusion -talking") == {"Diffusion models for video editing"}
