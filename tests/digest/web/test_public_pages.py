from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pytest
import time_machine
from django.urls import reverse
from django.utils.http import http_date

from digest.models import Delivery, Edition, PaperSnapshot
from tests.factories import DeliveryFactory, PaperFactory, PaperTopicFactory, TopicFactory

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 20)  # a Friday
NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def paper(day: dt.date = DAY, **fields):
    return PaperFactory(listed_on=day, published_at=None, **fields)


def html(response: _MonkeyPatchedWSGIResponse) -> str:
    return response.content.decode()


def test_papers_page_lists_the_latest_day_best_first_with_everything_a_reader_needs(client):
    topic = TopicFactory(name="Video generation", slug="video-generation")
    best = paper(
        title="Fast video diffusion",
        authors=["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra"],
        upvotes=90,
        comments=4,
        ai_summary="Makes video diffusion four times faster.",
        github_repo="https://github.com/example/fastvid",
        project_page="https://fastvid.example.org/",
    )
    PaperTopicFactory(paper=best, topic=topic)
    paper(title="A quieter paper", upvotes=3, abstract="First sentence here. Second one. " + "Long " * 200)
    paper(day=DAY - dt.timedelta(days=1), title="Yesterday's paper", upvotes=500)
    paper(title="Hidden by the editor", upvotes=999, hidden=True)

    response = client.get(reverse("digest:papers"))

    body = html(response)
    assert response.status_code == 200
    assert body.index("Fast video diffusion") < body.index("A quieter paper")
    assert "Yesterday&#x27;s paper" not in body
    assert "Yesterday's paper" not in body
    assert "Hidden by the editor" not in body
    assert "Ada Lovelace, Alan Turing, Grace Hopper et al." in body
    assert "Makes video diffusion four times faster." in body
    assert "First sentence here. Second one." in body  # abstract's first sentences, not all of it
    assert "Long Long Long Long Long Long Long Long Long Long Long Long Long Long Long Long" not in body
    assert "90" in body
    assert "upvotes" in body
    assert 'href="?topic=video-generation">Video generation</a>' in body
    assert f"https://arxiv.org/abs/{best.paper_id}" in body
    assert f"https://arxiv.org/pdf/{best.paper_id}" in body
    assert "https://github.com/example/fastvid" in body
    assert "https://fastvid.example.org/" in body
    assert f'href="{reverse("subscriptions:signup")}"' in body  # the sign-up box


def test_day_page_links_to_the_neighbouring_listing_days_skipping_empty_ones(client):
    paper(day=DAY - dt.timedelta(days=3), title="Three days ago")
    paper(title="Today")
    paper(day=DAY + dt.timedelta(days=2), title="Later")

    body = html(client.get(reverse("digest:papers_day", args=[DAY])))

    assert f'href="/papers/{DAY - dt.timedelta(days=3)}/" rel="prev"' in body
    assert f'href="/papers/{DAY + dt.timedelta(days=2)}/" rel="next"' in body
    assert "Today" in body
    assert "Three days ago" not in body


def test_a_day_without_papers_says_so_and_an_impossible_date_is_404(client):
    paper(day=DAY - dt.timedelta(days=1))

    empty = client.get(reverse("digest:papers_day", args=[DAY]))
    impossible = client.get("/papers/2026-02-30/")

    assert empty.status_code == 200
    assert "No papers were listed that day." in html(empty)
    assert impossible.status_code == 404


def test_topic_filter_shows_only_that_topics_papers_and_its_feeds(client):
    topic = TopicFactory(name="Speech and audio", slug="speech")
    PaperTopicFactory(paper=paper(title="Talking machines"), topic=topic)
    excluded = paper(title="Excluded by hand")
    PaperTopicFactory(paper=excluded, topic=topic, manual=True, excluded=True)
    paper(title="Unrelated vision paper")

    body = html(client.get(reverse("digest:papers"), {"topic": "speech"}))

    assert "Talking machines" in body
    assert "Unrelated vision paper" not in body
    assert "Excluded by hand" not in body
    assert '<option value="speech" selected>Speech and audio</option>' in body
    assert 'rel="alternate" type="application/rss+xml" title="Paperboy — Speech and audio (RSS)"' in body
    assert reverse("digest:topic_feed_atom", kwargs={"topic": "speech"}) in body


def test_unknown_topic_is_a_404_not_an_error(client):
    paper()

    assert client.get(reverse("digest:papers"), {"topic": "no-such-topic"}).status_code == 404


def test_week_view_ranks_the_whole_iso_week(client):
    monday = DAY - dt.timedelta(days=DAY.weekday())
    paper(day=monday, title="Monday paper", upvotes=5)
    paper(day=monday + dt.timedelta(days=6), title="Sunday paper", upvotes=1)
    paper(day=monday - dt.timedelta(days=1), title="Last week's paper")

    response = client.get(reverse("digest:papers_week", args=[DAY]))

    body = html(response)
    assert "Monday paper" in body
    assert "Sunday paper" in body
    assert "Last week&#x27;s paper" not in body
    assert f'href="/papers/week/{monday - dt.timedelta(days=1)}/" rel="prev"' in body
    assert "Week of Monday 16 November 2026" in body


def test_listing_is_paginated(client):
    for n in range(25):
        paper(title=f"Paper number {n:02d}", upvotes=100 - n)

    first = html(client.get(reverse("digest:papers")))
    second = html(client.get(reverse("digest:papers"), {"page": 2}))
    nonsense = client.get(reverse("digest:papers"), {"page": "lots"})

    assert "Paper number 00" in first
    assert "Paper number 19" in first
    assert "Paper number 20" not in first
    assert "Paper number 20" in second
    assert "Paper number 24" in second
    assert "Paper number 00" not in second
    assert '<ol class="paper-cards" start="21">' in second
    assert nonsense.status_code == 200  # falls back to the first page


@pytest.mark.parametrize("count", [3, 30])
def test_listing_runs_a_fixed_number_of_queries(client, django_assert_max_num_queries, count):
    topics = [TopicFactory() for _ in range(3)]
    for n in range(count):
        item = paper(upvotes=n)
        PaperTopicFactory(paper=item, topic=topics[n % 3])
        PaperSnapshot.objects.create(paper=item, taken_at=NOW, upvotes=n)
    paper(day=DAY - dt.timedelta(days=1))

    with django_assert_max_num_queries(7):
        assert client.get(reverse("digest:papers")).status_code == 200
    with django_assert_max_num_queries(7):
        assert (
            client.get(reverse("digest:papers_week", args=[DAY]), {"topic": topics[0].slug}).status_code
            == 200
        )


def test_hostile_titles_and_summaries_are_shown_as_text(client):
    paper(
        title="<script>alert('x')</script> & \"quotes\"",
        ai_summary="<img src=x onerror=alert(1)> summary",
        authors=["<b>Mallory</b>"],
    )

    body = html(client.get(reverse("digest:papers")))

    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quotes&quot;" in body
    assert "<img src=x" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body
    assert "<b>Mallory</b>" not in body


def test_pages_are_cacheable_and_answer_304_when_nothing_changed(client):
    item = paper()

    response = client.get(reverse("digest:papers"))
    again = client.get(reverse("digest:papers"), HTTP_IF_MODIFIED_SINCE=response["Last-Modified"])

    assert "public" in response["Cache-Control"]
    assert "max-age=300" in response["Cache-Control"]
    assert response["Last-Modified"] == http_date(int(item.updated_at.timestamp()))
    assert again.status_code == 304


def test_papers_page_links_the_site_wide_feeds(client):
    paper()

    body = html(client.get(reverse("digest:papers")))

    assert '<link rel="alternate" type="application/rss+xml"' in body
    assert 'href="/feeds/trending.rss"' in body
    assert 'href="/feeds/trending.atom"' in body


def test_empty_catalog_shows_a_friendly_page(client):
    response = client.get(reverse("digest:papers"))

    assert response.status_code == 200
    assert "No papers are in yet" in html(response)


def test_paper_page_shows_topics_and_the_editions_that_carried_it(client, django_assert_max_num_queries):
    topic = TopicFactory(name="Reasoning", slug="reasoning")
    item = paper(
        title="Chains of thought",
        abstract="A full abstract that the listing only summarises.",
        editor_note="Worth a read.",
    )
    PaperTopicFactory(paper=item, topic=topic, reason="term: reasoning")
    edition = Edition.objects.create(
        digest_date=DAY,
        topic_key="1",
        content_key="a" * 64,
        subject="Your papers for Friday",
        html="x",
        text="x",
    )
    edition.papers.add(item)
    DeliveryFactory(edition=edition, status=Delivery.Status.SENT)
    DeliveryFactory(edition=edition, status=Delivery.Status.SENT)
    DeliveryFactory(edition=edition, status=Delivery.Status.FAILED)

    with django_assert_max_num_queries(3):
        response = client.get(reverse("digest:paper", args=[item.paper_id]))

    body = html(response)
    assert response.status_code == 200
    assert '<h1 id="paper-title">Chains of thought</h1>' in body
    assert "A full abstract that the listing only summarises." in body
    assert "Worth a read." in body
    assert ">Reasoning</a>" in body
    assert "matched on term: reasoning" in body
    assert "In 1 digest edition, to 2 readers." in body
    assert reverse("digest:edition", args=[edition.slug]) in body
    assert "Your papers for Friday" in body
    assert f'href="/papers/{DAY}/"' in body


def test_paper_page_for_seed_ids_and_unknown_or_hidden_papers(client):
    seed = paper(paper_id="seed-0123abcd", source="seed")
    hidden = paper(hidden=True)

    seed_response = client.get(reverse("digest:paper", args=[seed.paper_id]))

    assert seed_response.status_code == 200
    assert "Not sent in a digest yet." in html(seed_response)
    assert "arxiv.org" not in html(seed_response)
    assert client.get(reverse("digest:paper", args=[hidden.paper_id])).status_code == 404
    assert client.get("/papers/9999.99999/").status_code == 404


@pytest.mark.parametrize("paper_id", ["abc%00def", "x" * 500, "new%0Aline"])
def test_impossible_paper_ids_are_404_not_a_database_error(client, paper_id):
    assert client.get(f"/papers/{paper_id}/").status_code == 404


def test_public_pages_refuse_writes(client):
    paper()

    assert client.post(reverse("digest:papers")).status_code == 405
