"""arXiv as a second source, against a loopback server serving Atom feeds of the real shape:
versioned ids, hard-wrapped titles, paging, `Rate exceeded.`, an `Error` entry."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from werkzeug import Request, Response

from digest.catalog.arxiv_calendar import announcement_listed_on
from digest.catalog.arxiv_client import ArxivClient, ArxivQueryError
from digest.catalog.arxiv_ingest import ingest_announcement, parse_entry, search_query
from digest.catalog.ingest import ingest_day
from digest.catalog.ranking import ranked_papers
from digest.models import Paper, PaperTopic
from tests.factories import PaperFactory, TopicFactory

pytestmark = pytest.mark.django_db

FEEDS = Path(__file__).parent / "payloads" / "arxiv"
HF_PAYLOADS = Path(__file__).parent / "payloads"
DAY = dt.date(2026, 12, 1)  # a Tuesday: Monday evening's announcement
PATH = "/api/query"


def feed(name: str) -> str:
    return (FEEDS / name).read_text(encoding="utf-8")


@pytest.fixture
def arxiv(settings, httpserver):
    """The real client pointed at a local server: two entries a page, no waiting."""
    settings.ARXIV_API_BASE = httpserver.url_for("/").rstrip("/")
    settings.ARXIV_API_PAGE_SIZE = 2
    settings.ARXIV_API_BACKOFF = 0
    settings.ARXIV_API_RETRIES = 2
    settings.ARXIV_API_TIMEOUT = 2.0
    settings.ARXIV_CATEGORIES = ["cs.CL", "cs.LG", "eess.AS"]
    return httpserver


def client() -> ArxivClient:
    return ArxivClient(delay=0)


def serve(
    httpserver, name: str, *, start: int = 0, status: int = 200, content_type: str = "application/atom+xml"
) -> None:
    httpserver.expect_request(PATH, query_string={**_query(start)}).respond_with_data(
        feed(name), status=status, content_type=content_type
    )


def _query(start: int) -> dict[str, str]:
    announcement = announcement_listed_on(DAY)
    assert announcement is not None
    return {
        "search_query": search_query(announcement, ["cs.CL", "cs.LG", "eess.AS"]),
        "start": str(start),
        "max_results": "2",
        "sortBy": "submittedDate",
        "sortOrder": "descending",
    }


def test_an_announcement_is_paged_unwrapped_and_stored_with_every_arxiv_field(arxiv):
    serve(arxiv, "page0.xml", start=0)
    serve(arxiv, "page2.xml", start=2)

    report = ingest_announcement(day=DAY, client=client())

    assert (report.fetched, report.created, report.skipped) == (4, 3, 1)
    assert report.errors == [
        "entry 1: id 'http://example.org/not-an-arxiv-id' is not an arXiv abstract URL; skipped"
    ]
    paper = Paper.objects.get(paper_id="2611.01001")
    assert paper.title == "Sparse Attention for Long Context Language Models"
    assert paper.abstract == (
        "We study sparse attention for long contexts. The abstract is hard-wrapped as arXiv sends it."
    )
    assert paper.arxiv_version == 2
    assert (paper.primary_category, paper.categories) == ("cs.CL", ["cs.CL", "cs.LG"])
    assert (paper.arxiv_comment, paper.journal_ref, paper.doi) == (
        "12 pages, 3 figures",
        "Proc. Foo 2026",
        "10.1000/xyz123",
    )
    assert paper.abs_link == "https://arxiv.org/abs/2611.01001v2"
    assert paper.pdf_url == "https://arxiv.org/pdf/2611.01001v2"
    assert paper.authors == ["Ada Lovelace", "Alan Turing"]
    assert paper.published_at == dt.datetime(2026, 11, 27, 18, 30, tzinfo=dt.UTC)
    assert (paper.listed_on, paper.source, paper.on_arxiv, paper.on_hf) == (
        DAY,
        Paper.Source.ARXIV,
        True,
        False,
    )
    assert not Paper.objects.filter(paper_id__contains="v").exists()


def test_a_new_version_updates_the_paper_and_an_old_one_changes_nothing(arxiv):
    serve(arxiv, "page0.xml", start=0)
    serve(arxiv, "page2.xml", start=2)
    ingest_announcement(day=DAY, client=client())
    arxiv.clear()
    arxiv.expect_request(PATH).respond_with_data(feed("revised.xml"), content_type="application/atom+xml")

    report = ingest_announcement(day=DAY, client=client())

    assert (report.created, report.updated) == (0, 1)
    paper = Paper.objects.get(paper_id="2611.01001")
    assert paper.arxiv_version == 3
    assert paper.title == "Sparse Attention for Long-Context Language Models, Revised"
    assert paper.categories == ["cs.CL", "cs.LG", "cs.AI"]
    assert Paper.objects.filter(paper_id="2611.01001").count() == 1

    arxiv.clear()
    serve(arxiv, "page0.xml", start=0)  # v2 again, as a stale mirror might send it
    serve(arxiv, "page2.xml", start=2)
    ingest_announcement(day=DAY, client=client())
    assert Paper.objects.get(paper_id="2611.01001").arxiv_version == 3


def test_one_paper_two_sources_each_fills_its_own_fields_and_blanks_none(arxiv, settings, httpserver):
    settings.HF_API_BASE = settings.ARXIV_API_BASE
    settings.HF_API_BACKOFF = 0
    hf_day = dt.date(2026, 11, 30)
    httpserver.expect_request("/api/daily_papers").respond_with_data(
        (HF_PAYLOADS / "refresh_after.json").read_text(), content_type="application/json"
    )
    ingest_day(day=hf_day)
    serve(arxiv, "page0.xml", start=0)
    serve(arxiv, "page2.xml", start=2)

    ingest_announcement(day=DAY, client=client())

    shared = Paper.objects.get(paper_id="2506.30010")
    assert (shared.on_hf, shared.on_arxiv) == (True, True)
    assert shared.upvotes == 30
    assert shared.ai_summary == "Filled in later by HF."
    assert shared.categories == ["cs.LG", "stat.ML"]
    assert shared.primary_category == "cs.LG"
    assert shared.title == "Late AI summary"  # arXiv's title wins once arXiv has the paper
    assert shared.listed_on == hf_day  # first listed by HF: keeps its day

    ingest_day(day=hf_day)  # HF again: its items carry no categories, and must not blank them
    shared.refresh_from_db()
    assert shared.categories == ["cs.LG", "stat.ML"]
    assert shared.title == "Late AI summary"


def test_rate_exceeded_and_5xx_are_retried_with_one_request_at_a_time(arxiv):
    answers = iter(
        [
            Response("Rate exceeded.\n", status=200, content_type="text/plain"),
            Response("busy", status=503),
            Response(feed("empty.xml"), content_type="application/atom+xml"),
        ]
    )
    arxiv.expect_request(PATH).respond_with_handler(lambda request: next(answers))
    slept: list[float] = []
    arxiv_client = ArxivClient(delay=3.0, backoff=1.0, sleep=slept.append, clock=lambda: 100.0)

    report = ingest_announcement(day=DAY, client=arxiv_client)

    assert not report.fetch_failed
    assert report.fetched == 0
    assert arxiv_client.requests_made == 3
    # Backoff 1 s then 2 s, and before each request after the first the 3 s pause (the fake
    # clock never moves, so every pause is the whole delay).
    assert slept == [1.0, 3.0, 2.0, 3.0]


def test_requests_keep_their_distance_on_a_real_clock(arxiv):
    import time

    import requests

    def answer(request: Request) -> Response:
        name = "page0.xml" if request.args["start"] == "0" else "page2.xml"
        return Response(feed(name), content_type="application/atom+xml")

    arxiv.expect_request(PATH).respond_with_handler(answer)
    sent: list[float] = []

    class Recording(requests.Session):
        def get(self, *args: object, **kwargs: object) -> requests.Response:
            sent.append(time.monotonic())  # when the client lets a request go
            return super().get(*args, **kwargs)  # type: ignore[arg-type]

    ingest_announcement(day=DAY, client=ArxivClient(delay=0.5, session=Recording()))
    assert len(sent) == 2
    assert sent[1] - sent[0] >= 0.5


def test_an_error_entry_is_a_clear_error_and_stores_nothing(arxiv):
    arxiv.expect_request(PATH).respond_with_data(feed("error_entry.xml"), content_type="application/atom+xml")

    report = ingest_announcement(day=DAY, client=client())

    assert report.fetch_failed
    assert report.errors == ["arXiv API refused the query: incorrect id format for x"]
    assert not Paper.objects.exists()
    with pytest.raises(ArxivQueryError):
        client().get_page("cat:", start=0)


def test_rate_exceeded_on_every_attempt_fails_the_run_without_a_traceback(arxiv):
    arxiv.expect_request(PATH).respond_with_data("Rate exceeded.", content_type="text/plain")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="fetching from arXiv failed"):
        call_command("ingest_arxiv", "--date", DAY.isoformat(), stdout=out, stderr=err, verbosity=0)
    assert "Rate exceeded." in err.getvalue()
    assert not Paper.objects.exists()


def test_the_command_takes_categories_and_ends_with_a_summary(arxiv, settings):
    settings.ARXIV_API_DELAY = 0  # the command builds its own client from settings
    announcement = announcement_listed_on(DAY)
    assert announcement is not None
    arxiv.expect_request(
        PATH, query_string={**_query(0), "search_query": search_query(announcement, ["cs.SD"])}
    ).respond_with_data(feed("empty.xml"), content_type="application/atom+xml")
    out = io.StringIO()
    call_command("ingest_arxiv", "--date", DAY.isoformat(), "--categories", "cs.SD", stdout=out, verbosity=0)
    assert out.getvalue().strip() == "arXiv 2026-12-01 (cs.SD): fetched 0, created 0, updated 0, skipped 0."
    with pytest.raises(CommandError, match="arXiv categories"):
        call_command("ingest_arxiv", "--categories", "cs.CL;DROP TABLE", stdout=out, verbosity=0)


def test_a_weekend_day_has_no_announcement_and_fetches_nothing(arxiv):
    report = ingest_announcement(day=dt.date(2026, 11, 28), client=client())
    assert report.fetched == 0
    assert not report.fetch_failed
    assert arxiv.log == []


def test_without_a_date_the_latest_announcement_is_fetched(arxiv):
    serve(arxiv, "empty.xml", start=0)
    with time_machine.travel(dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC), tick=False):
        report = ingest_announcement(client=client())
    assert report.listed_on == DAY


def test_a_page_that_fails_to_store_is_rolled_back_whole(arxiv, monkeypatch):
    from django.db import DatabaseError

    from digest.catalog import arxiv_ingest

    serve(arxiv, "page0.xml", start=0)
    serve(arxiv, "page2.xml", start=2)

    def explode(*args: object, **kwargs: object) -> None:
        raise DatabaseError("disk full")

    monkeypatch.setattr(arxiv_ingest, "rematch_papers", explode)
    report = ingest_announcement(day=DAY, client=client())
    assert report.created == 0
    assert report.skipped == 4
    assert not Paper.objects.exists()


def test_category_rules_match_arxiv_papers_and_arxiv_only_papers_trend(arxiv):
    speech = TopicFactory(
        slug="speech", name="Speech", terms=["text-to-speech"], categories=["cs.SD", "eess.AS"]
    )
    serve(arxiv, "page0.xml", start=0)
    serve(arxiv, "page2.xml", start=2)
    ingest_announcement(day=DAY, client=client())

    match = PaperTopic.objects.get(topic=speech)
    assert match.paper.paper_id == "2611.01003"
    assert "category" in match.reason
    with time_machine.travel(dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC), tick=False):
        ranked = ranked_papers(days=[DAY])
        assert {r.paper.paper_id for r in ranked} == {"2611.01001", "2506.30010", "2611.01003"}
        assert all(r.score > 0 for r in ranked)
        Paper.objects.filter(paper_id="2611.01003").update(upvotes=40)
        assert ranked_papers(days=[DAY])[0].paper.paper_id == "2611.01003"  # gains upvotes: rises


def test_malformed_entries_are_skipped_with_their_id():
    with pytest.raises(ValueError, match="no title"):
        parse_entry({"id": "http://arxiv.org/abs/2611.09999v1", "title": "   "})
    parsed = parse_entry(
        {"id": "http://arxiv.org/abs/hep-th/9901001v4", "title": "Old style id", "tags": [{"term": "hep-th"}]}
    )
    assert (parsed.paper_id, parsed.version, parsed.categories, parsed.primary_category) == (
        "hep-th/9901001",
        4,
        ["hep-th"],
        "hep-th",
    )
    assert PaperFactory.build().pk is None  # nothing touched the database


@pytest.mark.parametrize(
    "body",
    [
        "<html><body>Service temporarily unavailable</body></html>",  # a proxy's error page, as 200
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry><id>x</id>',  # cut short
        '{"not": "a feed"}',
    ],
)
def test_a_body_that_is_not_a_whole_arxiv_feed_is_an_error_and_stores_nothing(arxiv, body):
    arxiv.expect_request(PATH).respond_with_data(body, content_type="text/html")
    report = ingest_announcement(day=DAY, client=client())
    assert report.fetch_failed
    assert "arXiv API sent" in report.errors[0]
    assert not Paper.objects.exists()
