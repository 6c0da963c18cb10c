from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.db import DatabaseError
from werkzeug import Request, Response

from digest.catalog.hf_client import HFClient, HFClientError
from digest.catalog.ingest import ingest_day
from digest.models import Paper, PaperSnapshot, PaperTopic
from digest.tasks import ingest_daily_papers
from tests.factories import TopicFactory

pytestmark = pytest.mark.django_db

PAYLOADS = Path(__file__).parent / "payloads"
DAY = dt.date(2025, 6, 3)
PATH = "/api/daily_papers"


def payload(name: str) -> list[Any]:
    items: list[Any] = json.loads((PAYLOADS / name).read_text(encoding="utf-8"))
    return items


def serve(httpserver, name: str, *, page: int = 0, limit: int = 100, day: dt.date = DAY) -> None:
    query = {"date": day.isoformat(), "p": str(page), "limit": str(limit)}
    httpserver.expect_request(PATH, query_string=query).respond_with_json(payload(name))


def test_normal_day_maps_every_field_and_lists_on_the_requested_day(hf):
    TopicFactory(slug="video", name="Video", terms=["video generation"])
    serve(hf, "day_normal.json")

    report = ingest_day(day=DAY)

    assert report.as_dict() == {
        "day": "2025-06-03", "fetched": 3, "created": 3, "updated": 0, "skipped": 0,
        "errors": [], "fetch_failed": False, "not_open": False,
    }  # fmt: skip
    paper = Paper.objects.get(paper_id="2506.01234")
    assert paper.title == "MotionFlow: Text-to-Video Generation with Camera Control"
    assert paper.abstract.startswith("We present MotionFlow")
    assert paper.authors == ["Ada Lovelace", "Alan Turing"]
    assert paper.published_at == dt.datetime(2025, 6, 2, 17, 59, 58, tzinfo=dt.UTC)
    assert paper.listed_on == DAY  # the request date, not publishedAt (June 2)
    assert paper.source == Paper.Source.HF
    assert (paper.upvotes, paper.comments, paper.github_stars) == (57, 4, 42)
    assert paper.github_repo == "https://github.com/example/2506.01234"
    assert paper.project_page == "https://example.org/2506.01234"
    assert paper.ai_summary == "MotionFlow improves things in a short sentence."
    assert paper.ai_keywords == ["video generation", "diffusion transformer"]
    assert paper.thumbnail.endswith("/papers/2506.01234.png")
    assert paper.abstract_url == "https://arxiv.org/abs/2506.01234"
    assert PaperSnapshot.objects.get(paper=paper).upvotes == 57
    bare = Paper.objects.get(paper_id="2506.03456")
    assert (bare.github_repo, bare.github_stars, bare.project_page) == ("", 0, "")
    match = PaperTopic.objects.get(topic__slug="video")
    assert match.paper == paper
    assert "video generation" in match.reason


def test_second_ingest_refreshes_counts_adds_snapshots_and_keeps_editor_fields(hf):
    serve(hf, "day_normal.json")
    ingest_day(day=DAY)
    Paper.objects.filter(paper_id="2506.01234").update(pinned=True, hidden=True, editor_note="Read this")
    hf.clear()
    serve(hf, "day_normal_later.json", day=DAY + dt.timedelta(days=1))

    report = ingest_day(day=DAY + dt.timedelta(days=1))

    assert (report.created, report.updated, report.skipped) == (0, 3, 0)
    paper = Paper.objects.get(paper_id="2506.01234")
    assert (paper.upvotes, paper.comments, paper.github_stars) == (120, 9, 80)
    assert (paper.pinned, paper.hidden, paper.editor_note) == (True, True, "Read this")
    assert paper.listed_on == DAY  # first listing day stays
    assert list(paper.snapshots.values_list("upvotes", flat=True)) == [120, 57]
    assert PaperSnapshot.objects.count() == 6
    assert Paper.objects.count() == 3


def test_pages_are_followed_with_p_and_limit(hf, settings):
    settings.HF_API_PAGE_SIZE = 2
    serve(hf, "paginated_p0.json", page=0, limit=2)
    serve(hf, "paginated_p1.json", page=1, limit=2)

    report = ingest_day(day=DAY)

    assert (report.fetched, report.created) == (3, 3)
    assert set(Paper.objects.values_list("paper_id", flat=True)) == {"2506.10001", "2506.10002", "2506.10003"}
    assert [r.args["p"] for r, _ in hf.log] == ["0", "1"]


def test_a_full_last_page_ends_at_the_next_empty_page(hf, settings):
    settings.HF_API_PAGE_SIZE = 2
    serve(hf, "paginated_p0.json", page=0, limit=2)
    serve(hf, "empty.json", page=1, limit=2)
    assert ingest_day(day=DAY).created == 2
    assert len(hf.log) == 2


def test_empty_day_stores_nothing(hf):
    serve(hf, "empty.json")
    report = ingest_day(day=DAY)
    assert (report.fetched, report.created, report.errors, report.fetch_failed) == (0, 0, [], False)
    assert not Paper.objects.exists()


def test_zero_upvotes_are_stored_as_zero(hf):
    serve(hf, "zero_upvotes.json")
    ingest_day(day=DAY)
    paper = Paper.objects.get()
    assert (paper.upvotes, paper.comments, paper.github_stars) == (0, 0, 0)


def test_nulls_fall_back_to_empty_values(hf):
    serve(hf, "nulls.json")
    report = ingest_day(day=DAY)
    assert report.created == 1
    paper = Paper.objects.get()
    assert paper.title == "A paper with many nulls"
    assert (paper.abstract, paper.authors, paper.published_at, paper.upvotes) == ("", [], None, 0)
    assert (paper.ai_keywords, paper.github_repo, paper.thumbnail) == ([], "", "")


def test_unicode_survives_the_round_trip(hf):
    serve(hf, "unicode.json")
    ingest_day(day=DAY)
    paper = Paper.objects.get()
    assert paper.title == "Über-Modelle für Sprachsynthese: 语音合成 と 音声 ✨"
    assert paper.authors == ["Zoë Ðorđević", "王小明", "José Núñez"]
    assert "🎙️" in paper.abstract


def test_html_in_titles_is_stored_verbatim_for_templates_to_escape(hf):
    serve(hf, "html_titles.json")
    ingest_day(day=DAY)
    titles = set(Paper.objects.values_list("title", flat=True))
    assert titles == {
        "<script>alert('x')</script> & \"Quotes\": Tags <b>in</b> Titles",
        "R&D for A<B and C>D",
    }


def test_malformed_items_are_reported_and_skipped_while_the_rest_is_stored(hf):
    serve(hf, "malformed.json")

    report = ingest_day(day=DAY)

    assert (report.fetched, report.created, report.skipped) == (9, 2, 7)
    assert set(Paper.objects.values_list("paper_id", flat=True)) == {"2506.60001", "2506.60005"}
    problems = "\n".join(report.errors)
    for expected in ("no `paper` object", "not an arXiv id", "title is missing", "upvotes", "numComments"):
        assert expected in problems
    assert "authors must be a list" in problems
    assert all("page 0 item" in e for e in report.errors)


def test_500_then_200_is_retried_and_stored(hf):
    hf.expect_oneshot_request(PATH).respond_with_data("upstream down", status=502)
    hf.expect_oneshot_request(PATH).respond_with_data("busy", status=500)
    serve(hf, "day_normal.json")
    report = ingest_day(day=DAY)
    assert (report.created, report.fetch_failed) == (3, False)
    assert len(hf.log) == 3


def test_persistent_5xx_fails_the_fetch_and_stores_nothing(hf):
    hf.expect_request(PATH).respond_with_data("down", status=503)
    report = ingest_day(day=DAY)
    assert report.fetch_failed is True
    assert "after 3 attempts" in report.errors[0]
    assert "HTTP 503" in report.errors[0]
    assert not Paper.objects.exists()


def test_a_hanging_server_times_out_and_is_retried(hf, settings):
    settings.HF_API_TIMEOUT = 0.3
    settings.HF_API_RETRIES = 1
    release = threading.Event()

    def hang(request: Request) -> Response:
        release.wait(timeout=5)
        return Response("[]", content_type="application/json")

    hf.expect_request(PATH).respond_with_handler(hang)
    started = time.monotonic()
    report = ingest_day(day=DAY)
    elapsed = time.monotonic() - started
    release.set()
    assert report.fetch_failed is True
    assert "Timeout" in report.errors[0]
    assert "after 2 attempts" in report.errors[0]
    assert elapsed < 3
    assert not Paper.objects.exists()
    # Let the server finish both abandoned requests before the next test uses it.
    deadline = time.monotonic() + 5
    while len(hf.log) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)


def test_4xx_is_a_clear_error_and_not_retried(hf):
    hf.expect_request(PATH).respond_with_json({"error": "Invalid date"}, status=400)
    with pytest.raises(HFClientError, match="answered 400") as caught:
        HFClient().get_page(DAY, 0)
    assert caught.value.status == 400
    report = ingest_day(day=DAY)
    assert report.fetch_failed is True
    assert "400" in report.errors[0]
    assert len(hf.log) == 2  # one request each, no retries


def test_non_list_json_is_a_fetch_error(hf):
    hf.expect_request(PATH).respond_with_json({"papers": []})
    report = ingest_day(day=DAY)
    assert report.fetch_failed is True
    assert "expected a list" in report.errors[0]


def test_a_write_failure_rolls_back_its_whole_page_only(hf, settings, monkeypatch):
    settings.HF_API_PAGE_SIZE = 2
    serve(hf, "paginated_p0.json", page=0, limit=2)
    serve(hf, "paginated_p1.json", page=1, limit=2)
    real_bulk_create = PaperSnapshot.objects.bulk_create
    calls = []

    def failing_on_second_page(objs, *args, **kwargs):
        calls.append(len(objs))
        if len(calls) == 2:
            raise DatabaseError("disk full")
        return real_bulk_create(objs, *args, **kwargs)

    monkeypatch.setattr(PaperSnapshot.objects, "bulk_create", failing_on_second_page)

    report = ingest_day(day=DAY)

    assert set(Paper.objects.values_list("paper_id", flat=True)) == {"2506.10001", "2506.10002"}
    assert (report.created, report.skipped) == (2, 1)
    assert "page 1: not stored, rolled back" in report.errors[0]
    assert PaperSnapshot.objects.count() == 2


def test_celery_task_ingests_the_given_day(hf):
    serve(hf, "day_normal.json")
    result: Mapping[str, object] = ingest_daily_papers.delay("2025-06-03").get()
    assert result["created"] == 3
    assert result["day"] == "2025-06-03"


def test_without_a_date_today_utc_is_fetched(hf):
    serve(hf, "zero_upvotes.json", day=dt.date(2025, 6, 4))
    with time_machine.travel(dt.datetime(2025, 6, 4, 23, 30, tzinfo=dt.UTC), tick=False):
        report = ingest_day()
    assert report.day == dt.date(2025, 6, 4)
    assert Paper.objects.get().listed_on == dt.date(2025, 6, 4)


def test_organization_hidden_authors_repo_slugs_float_counts_and_withdrawal_are_mapped(hf):
    serve(hf, "hf_fields.json")

    report = ingest_day(day=DAY)

    assert (report.created, report.skipped) == (2, 1)
    assert report.errors == [
        "page 0 item 2 (2506.30003): upvotes must be a whole number from 0 to 2147483647, got 2.5; skipped"
    ]
    paper = Paper.objects.get(paper_id="2506.30001")
    assert paper.organization == "ACME Research"
    assert paper.authors == ["Ada Lovelace", "Alan Turing"]  # the hidden author is left out
    assert paper.github_repo == "https://github.com/acme-lab/fast-thing"
    assert (paper.upvotes, paper.comments, paper.github_stars) == (5, 3, 12)
    withdrawn = Paper.objects.get(paper_id="2506.30002")
    assert withdrawn.withdrawn
    assert withdrawn.withdrawn_at == dt.datetime(2025, 6, 3, 9, tzinfo=dt.UTC)
    assert withdrawn.organization == "uni-x"  # the paper's own organization when the item has none


def test_withdrawn_papers_are_kept_but_shown_nowhere(hf, client):
    serve(hf, "hf_fields.json")
    ingest_day(day=DAY)
    assert Paper.objects.filter(paper_id="2506.30002", withdrawn=True).exists()
    from digest.catalog.ranking import ranked_papers

    with time_machine.travel(dt.datetime(2025, 6, 3, 12, tzinfo=dt.UTC), tick=False):
        assert "2506.30002" not in {r.paper.paper_id for r in ranked_papers(days=[DAY])}
        api = client.get("/api/papers/", {"date": DAY.isoformat()}).json()
        assert "2506.30002" not in {p["id"] for p in api["results"]}
        assert client.get("/papers/2506.30002/").status_code == 404
        assert "A withdrawn paper" not in client.get("/feeds/trending.rss").content.decode()


def test_a_refresh_fills_late_ai_fields_adds_late_papers_snapshots_growth_and_keeps_editor_edits(hf):
    serve(hf, "refresh_before.json")
    ingest_day(day=DAY)
    paper = Paper.objects.get(paper_id="2506.30010")
    assert paper.ai_summary == ""
    Paper.objects.filter(pk=paper.pk).update(title="Edited by the editor", locked_fields=["title"])
    hf.clear()
    serve(hf, "refresh_after.json")

    report = ingest_day(day=DAY)

    assert (report.created, report.updated) == (1, 1)
    paper.refresh_from_db()
    assert paper.ai_summary == "Filled in later by HF."
    assert paper.ai_keywords == ["late keyword"]
    assert (paper.upvotes, paper.comments) == (30, 2)
    assert paper.title == "Edited by the editor"  # an editor's change is never overwritten
    assert list(paper.snapshots.order_by("taken_at").values_list("upvotes", flat=True)) == [3, 30]
    assert Paper.objects.get(paper_id="2506.30011").listed_on == DAY  # a late addition


def test_a_field_the_api_sends_empty_keeps_its_stored_value(hf):
    serve(hf, "refresh_after.json")
    ingest_day(day=DAY)
    hf.clear()
    serve(hf, "refresh_before.json")  # the same paper, its AI fields missing again
    ingest_day(day=DAY)
    paper = Paper.objects.get(paper_id="2506.30010")
    assert paper.ai_summary == "Filled in later by HF."
    assert paper.ai_keywords == ["late keyword"]


def test_a_day_hf_has_not_opened_yet_is_an_empty_day_not_a_failure(hf, caplog):
    tomorrow = dt.date(2025, 6, 4)
    hf.expect_request(PATH).respond_with_json({"error": "Date is in the future"}, status=400)
    with time_machine.travel(dt.datetime(2025, 6, 3, 23, tzinfo=dt.UTC), tick=False):
        report = ingest_day(day=tomorrow)
    assert report.not_open
    assert not report.fetch_failed
    assert report.errors == []
    assert "has not opened 2025-06-04 yet" in caplog.text


def test_a_400_for_a_past_day_is_still_a_failure(hf):
    hf.expect_request(PATH).respond_with_json({"error": "bad"}, status=400)
    with time_machine.travel(dt.datetime(2025, 6, 5, 12, tzinfo=dt.UTC), tick=False):
        report = ingest_day(day=DAY)
    assert report.fetch_failed
    assert not report.not_open


def test_a_page_size_above_100_is_capped_and_the_check_says_so(hf, settings):
    from django.core.checks import run_checks

    settings.HF_API_PAGE_SIZE_WANTED = 500
    settings.HF_API_PAGE_SIZE = 500
    assert HFClient().page_size == 100
    serve(hf, "day_normal.json")  # expects limit=100 in the query
    assert ingest_day(day=DAY).created == 3
    warnings = [m for m in run_checks() if m.id == "paperboy.W001"]
    assert len(warnings) == 1
    assert "HF_API_PAGE_SIZE=500" in warnings[0].msg


def test_without_a_date_the_command_refreshes_today_and_the_window(hf, settings):
    import io

    from django.core.management import call_command

    settings.HF_REFRESH_DAYS = 2
    today = dt.date(2025, 6, 5)
    serve(hf, "day_normal.json", day=today - dt.timedelta(days=2))
    serve(hf, "empty.json", day=today - dt.timedelta(days=1))
    hf.expect_request(
        PATH, query_string={"date": today.isoformat(), "p": "0", "limit": "100"}
    ).respond_with_json({"error": "not yet"}, status=400)
    out = io.StringIO()
    with time_machine.travel(dt.datetime(2025, 6, 5, 0, 30, tzinfo=dt.UTC), tick=False):
        call_command("ingest_papers", stdout=out, verbosity=0)
    lines = out.getvalue().strip().splitlines()
    assert lines == [
        "2025-06-03: fetched 3, created 3, updated 0, skipped 0.",
        "2025-06-04: fetched 0, created 0, updated 0, skipped 0.",
        "2025-06-05: not opened on Hugging Face yet, nothing to fetch.",
        "3 days (2 refreshed): created 3, updated 0, skipped 0.",
    ]
