"""A broken daily-papers API: truncated JSON, wrong schema, a flood, a slow drip.
Each ends the run with a clear error and writes nothing; the next run works."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest
from werkzeug import Request, Response

from digest.catalog.hf_client import MAX_PAGE_BYTES
from digest.catalog.ingest import ingest_day
from digest.models import Paper, PaperSnapshot

pytestmark = pytest.mark.django_db

DAY = dt.date(2025, 6, 3)
PATH = "/api/daily_papers"
GOOD = json.loads(
    (Path(__file__).parent.parent / "digest" / "catalog" / "payloads" / "day_normal.json").read_text()
)
QUERY = {"date": DAY.isoformat(), "p": "0", "limit": "100"}


@pytest.fixture
def hf(settings, httpserver):
    settings.HF_API_BASE = httpserver.url_for("/").rstrip("/")
    settings.HF_API_BACKOFF = 0
    settings.HF_API_RETRIES = 1
    settings.HF_API_TIMEOUT = 1.5
    settings.HF_API_PAGE_SIZE = 100
    return httpserver


def _nothing_written() -> None:
    assert Paper.objects.count() == 0
    assert PaperSnapshot.objects.count() == 0


def _next_run_works(hf) -> None:
    hf.clear()
    hf.expect_request(PATH, query_string=QUERY).respond_with_json(GOOD)
    report = ingest_day(day=DAY)
    assert not report.fetch_failed
    assert Paper.objects.count() == len(GOOD)


def test_truncated_json_is_a_clear_error_then_the_next_run_works(hf):
    text = json.dumps(GOOD)
    hf.expect_request(PATH, query_string=QUERY).respond_with_data(
        text[: len(text) // 2], content_type="application/json"
    )
    report = ingest_day(day=DAY)
    assert report.fetch_failed
    assert "not JSON" in report.errors[0]
    _nothing_written()
    _next_run_works(hf)


@pytest.mark.parametrize(
    "body",
    [
        {"papers": GOOD},
        [1, "two", None],
        [{"paper": {"id": "not an id", "title": "x"}}],
        [{"paper": {"id": "2501.00001", "title": ["a", "list"], "upvotes": "many"}}],
    ],
    ids=["object-not-list", "scalars", "bad-id", "wrong-types"],
)
def test_wrong_schema_writes_nothing_and_says_why(hf, body):
    hf.expect_request(PATH, query_string=QUERY).respond_with_json(body)
    report = ingest_day(day=DAY)
    assert report.fetch_failed or report.errors
    assert all(isinstance(line, str) and line for line in report.errors)
    _nothing_written()
    _next_run_works(hf)


def test_a_10_mb_answer_is_refused_without_retry(hf):
    flood = json.dumps([{"paper": {"id": "2501.00001", "summary": "x" * (10 * 1024 * 1024)}}])
    hf.expect_ordered_request(PATH, query_string=QUERY).respond_with_data(
        flood, content_type="application/json"
    )
    started = time.monotonic()
    report = ingest_day(day=DAY)
    assert report.fetch_failed
    assert f"more than {MAX_PAGE_BYTES} bytes" in report.errors[0]
    assert time.monotonic() - started < 10
    assert len(hf.log) == 1  # not retried
    _nothing_written()
    _next_run_works(hf)


def _drip(request: Request) -> Response:
    def body():
        for char in json.dumps(GOOD):
            time.sleep(0.2)  # each byte well inside the read timeout, the whole far beyond it
            yield char.encode()

    return Response(body(), content_type="application/json")


def test_a_slow_drip_times_out_instead_of_hanging(hf):
    hf.expect_request(PATH, query_string=QUERY).respond_with_handler(_drip)
    started = time.monotonic()
    report = ingest_day(day=DAY)
    assert report.fetch_failed
    assert "longer than 1.5s" in report.errors[0]
    assert time.monotonic() - started < 10  # two attempts of ~1.5 s, not minutes
    _nothing_written()
    _next_run_works(hf)
