from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tests.factories import PaperFactory, PaperTopicFactory, TopicFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 20)
URL = "/api/papers/"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://paperboy.example"
    with time_machine.travel(dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC), tick=False):
        yield


def paper(day: dt.date = DAY, **fields):
    return PaperFactory(listed_on=day, published_at=None, **fields)


def test_papers_default_to_the_latest_day_ranked_with_all_fields(client):
    topic = TopicFactory(name="Video", slug="video")
    best = paper(
        title="Best",
        upvotes=40,
        comments=2,
        ai_summary="One line.",
        github_repo="https://github.com/example/best",
    )
    PaperTopicFactory(paper=best, topic=topic)
    paper(title="Second", upvotes=4)
    paper(day=DAY - dt.timedelta(days=1), title="Yesterday")

    response = client.get(URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert data["date"] == "2026-11-20"
    assert data["count"] == 2
    assert data["page"] == 1
    assert data["pages"] == 1
    assert data["previous_day"] == "2026-11-19"
    assert data["next_day"] is None
    first = data["results"][0]
    assert [r["title"] for r in data["results"]] == ["Best", "Second"]
    assert first["rank"] == 1
    assert first["id"] == best.paper_id
    assert first["authors"] == ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
    assert first["summary"] == "One line."
    assert first["upvotes"] == 40
    assert first["comments"] == 2
    assert first["topics"] == [{"name": "Video", "slug": "video"}]
    assert first["links"] == {
        "page": f"https://paperboy.example/papers/{best.paper_id}/",
        "abstract": f"https://arxiv.org/abs/{best.paper_id}",
        "pdf": f"https://arxiv.org/pdf/{best.paper_id}",
        "code": "https://github.com/example/best",
        "project": None,
    }
    assert "public" in response["Cache-Control"]


def test_papers_by_date_and_topic(client):
    topic = TopicFactory(slug="speech")
    PaperTopicFactory(paper=paper(day=DAY - dt.timedelta(days=2), title="Old speech paper"), topic=topic)
    paper(day=DAY - dt.timedelta(days=2), title="Old other paper")

    data = client.get(URL, {"date": "2026-11-18", "topic": "speech"}).json()

    assert data["topic"] == "speech"
    assert [r["title"] for r in data["results"]] == ["Old speech paper"]


def test_pagination_walks_every_paper_once(client):
    for n in range(5):
        paper(title=f"P{n}", upvotes=50 - n)

    first = client.get(URL, {"per_page": 2}).json()
    second = client.get(first["next"].removeprefix("https://paperboy.example")).json()
    last = client.get(URL, {"per_page": 2, "page": 3}).json()

    assert first["pages"] == 3
    assert first["previous"] is None
    assert first["next"] == "https://paperboy.example/api/papers/?per_page=2&page=2"
    assert [r["title"] for r in first["results"]] == ["P0", "P1"]
    assert [r["title"] for r in second["results"]] == ["P2", "P3"]
    assert [r["rank"] for r in second["results"]] == [3, 4]
    assert second["previous"].endswith("page=1")
    assert [r["title"] for r in last["results"]] == ["P4"]
    assert last["next"] is None


def test_a_day_without_papers_is_an_empty_page_not_an_error(client):
    data = client.get(URL, {"date": "2020-01-01"}).json()

    assert data["count"] == 0
    assert data["results"] == []
    assert data["pages"] == 1


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"date": "2026-02-30"}, "Invalid parameters."),
        ({"date": "20-11-2026"}, "Invalid parameters."),
        ({"page": "0"}, "Invalid parameters."),
        ({"page": "two"}, "Invalid parameters."),
        ({"per_page": "101"}, "Invalid parameters."),
        ({"topic": "not a slug!"}, "Invalid parameters."),
        ({"topic": "no-such-topic"}, "Unknown topic 'no-such-topic'; see /api/topics/."),
        ({"page": "9"}, "Page 9 is past the last page (1)."),
        ({"sort": "upvotes"}, "Unknown parameter(s): sort. Allowed: date, topic, page, per_page, q."),
    ],
)
def test_bad_parameters_get_a_400_with_a_clear_json_error(client, params, message):
    paper()

    response = client.get(URL, params)

    assert response.status_code == 400
    assert response.json()["error"] == message
    assert "no-store" in response["Cache-Control"]


def test_invalid_fields_are_named_in_the_error(client):
    data = client.get(URL, {"date": "yesterday", "per_page": "0"}).json()

    assert set(data["fields"]) == {"date", "per_page"}


def test_api_is_read_only(client):
    assert client.post(URL).status_code == 405
    assert client.delete("/api/topics/").status_code == 405


def test_topics_lists_active_topics_with_their_feeds(client):
    TopicFactory(name="Speech", slug="speech", description="Talking machines.", position=1)
    TopicFactory(name="Retired", slug="retired", is_active=False)

    data = client.get("/api/topics/").json()

    assert data["count"] == 1
    assert data["results"] == [
        {
            "slug": "speech",
            "name": "Speech",
            "description": "Talking machines.",
            "papers": "https://paperboy.example/api/papers/?topic=speech",
            "rss": "https://paperboy.example/feeds/speech.rss",
            "atom": "https://paperboy.example/feeds/speech.atom",
        }
    ]
    assert client.get("/api/topics/", {"x": "1"}).status_code == 400


def test_api_query_count_is_fixed(client, django_assert_max_num_queries):
    topic = TopicFactory()
    for n in range(30):
        PaperTopicFactory(paper=paper(upvotes=n), topic=topic)

    with django_assert_max_num_queries(7):
        assert client.get(URL, {"topic": topic.slug, "per_page": 100}).status_code == 200
