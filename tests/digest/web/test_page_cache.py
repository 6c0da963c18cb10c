"""Public pages kept in the cache: served without the database, fresh after every change."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from digest.catalog.curation import hide_papers
from digest.catalog.freshness import GENERATION_KEY
from tests.factories import PaperFactory, PaperTopicFactory, TopicFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 10)


@pytest.fixture
def catalog():
    topic = TopicFactory(name="Video", slug="video")
    first = PaperFactory(title="Streaming video diffusion", listed_on=TODAY, upvotes=40)
    second = PaperFactory(title="Sparse video tokens", listed_on=TODAY, upvotes=10)
    for paper in (first, second):
        PaperTopicFactory(paper=paper, topic=topic)
    return {"topic": topic, "first": first, "second": second}


@pytest.mark.parametrize("address", ["/papers/", "/papers/?q=video", "/api/papers/", "/api/topics/"])
def test_a_second_request_is_answered_from_the_cache_without_queries(
    client, catalog, django_assert_num_queries, address
):
    first = client.get(address)
    assert first.status_code == 200
    with django_assert_num_queries(0):
        again = client.get(address)
    assert again.status_code == 200
    assert again.content == first.content
    assert again["Cache-Control"] == first["Cache-Control"]


def test_an_editor_hiding_a_paper_shows_at_once(client, catalog):
    assert "Streaming video diffusion" in client.get("/papers/").content.decode()
    assert "Streaming video diffusion" in client.get("/papers/", {"q": "diffusion"}).content.decode()
    hide_papers(papers=[catalog["first"]])  # one UPDATE for many papers: no per-row signal
    assert "Streaming video diffusion" not in client.get("/papers/").content.decode()
    assert "Streaming video diffusion" not in client.get("/papers/", {"q": "diffusion"}).content.decode()
    assert [p["title"] for p in client.get("/api/papers/").json()["results"]] == ["Sparse video tokens"]


def test_saving_a_paper_or_a_topic_shows_at_once(client, catalog):
    client.get("/papers/")
    paper = catalog["second"]
    paper.title = "Sparse video tokens, revised"
    paper.save()
    assert "Sparse video tokens, revised" in client.get("/papers/").content.decode()
    catalog["topic"].name = "Moving pictures"
    catalog["topic"].save()
    assert "Moving pictures" in client.get("/papers/").content.decode()
    assert "Moving pictures" in client.get("/").content.decode()  # the sign-up form's topics


def test_another_process_change_shows_within_a_second(client, catalog):
    """Another process starts a new generation in the shared cache; this process keeps its own
    copy of the generation for at most a second."""
    start = timezone.now()
    with time_machine.travel(start, tick=False):  # the clock stands still: "within the second"
        before = client.get("/api/papers/").json()["results"]
        PaperFactory._meta.model.objects.filter(pk=catalog["second"].pk).update(upvotes=500)  # no signal
        cache.set(GENERATION_KEY, "from-another-process", None)
        assert client.get("/api/papers/").json()["results"] == before
    with time_machine.travel(start + dt.timedelta(seconds=2), tick=False):
        after = client.get("/api/papers/").json()["results"]
    assert after[0]["title"] == "Sparse video tokens"


def test_a_client_that_is_up_to_date_gets_304_from_the_cache(client, catalog):
    first = client.get("/papers/")
    again = client.get("/papers/", headers={"if-modified-since": first["Last-Modified"]})
    assert again.status_code == 304


def test_errors_are_not_kept(client, catalog):
    assert client.get("/papers/", {"topic": "audio"}).status_code == 404
    TopicFactory(name="Audio", slug="audio")
    assert client.get("/papers/", {"topic": "audio"}).status_code == 200


def test_turned_off_every_request_reads_the_database(client, catalog, settings):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 0
    client.get("/papers/")
    client.get("/")
    for address in ("/papers/", "/"):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(address).status_code == 200
        assert len(queries) > 0


def _token(body: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    assert found is not None
    return found.group(1)


def test_the_kept_sign_up_page_gives_each_visitor_a_token_that_works(catalog):
    alice, bob = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    alice_page, bob_page = alice.get("/"), bob.get("/")
    assert alice_page.status_code == bob_page.status_code == 200
    alice_token, bob_token = _token(alice_page.content.decode()), _token(bob_page.content.decode())
    assert alice_token != bob_token
    assert "placeholder-7f3a9c1e5b" not in alice_page.content.decode() + bob_page.content.decode()
    assert "Cookie" in bob_page["Vary"]
    form = {
        "email": "bob@example.org",
        "topics": [catalog["topic"].pk],
        "frequency": "daily",
        "weekday": "0",
        "delivery_hour": "8",
        "timezone": "UTC",
        "papers_per_email": "10",
        "website": "",
        "csrfmiddlewaretoken": bob_token,
    }
    assert bob.post("/", form).status_code == 302
    assert alice.post("/", {**form, "csrfmiddlewaretoken": ""}).status_code == 403


def test_the_sign_up_page_lists_today_after_a_change(client, catalog):
    assert "Streaming video diffusion" in client.get("/").content.decode()
    hide_papers(papers=[catalog["first"]])
    assert "Streaming video diffusion" not in client.get("/").content.decode()
    assert "Sparse video tokens" in client.get("/").content.decode()


def test_a_cache_that_does_not_answer_slows_pages_down_but_never_breaks_them(client, catalog, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
        },
        "near": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "down-test"},
    }
    for address in ("/", "/papers/", "/papers/?q=video", "/api/papers/", "/api/topics/"):
        assert client.get(address).status_code == 200, address
    hide_papers(papers=[catalog["first"]])
    assert "Streaming video diffusion" not in client.get("/papers/").content.decode()
    health = client.get("/healthz/")
    assert health.status_code == 503
    assert "cache unreachable" in health.json()["problems"]
