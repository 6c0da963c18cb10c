"""bench_web and its load generator: every page answered, counted and cleaned up (never timed)."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest
from werkzeug import Response

from digest.bench.load import hammer
from tests.manage_process import run_manage


def test_the_load_generator_counts_answers_statuses_and_errors(httpserver):
    httpserver.expect_request("/ok").respond_with_data("fine")
    httpserver.expect_request("/broken").respond_with_response(Response("no", status=503))
    result = hammer([httpserver.url_for("/ok"), httpserver.url_for("/broken")], clients=3, seconds=0.5)
    assert result.requests > 10
    assert result.statuses[200] > 0
    assert result.statuses[503] > 0
    assert sum(result.statuses.values()) == result.requests
    assert result.errors == result.statuses[503]
    assert result.first_error == "HTTP 503"
    assert 0 < result.percentile(50) <= result.percentile(99)
    assert result.rate == pytest.approx(result.requests / result.seconds)


def test_the_load_generator_reports_a_server_that_is_not_there():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before the load starts
    result = hammer(f"http://127.0.0.1:{port}/", clients=2, seconds=0.3)
    assert result.requests == 0
    assert result.errors > 0
    assert "ConnectionRefusedError" in result.first_error


def test_bench_web_builds_a_catalog_loads_every_page_under_gunicorn_and_cleans_up(tmp_path):
    """As a user runs it: an empty database of its own, gunicorn in a process, a table."""
    database = tmp_path / "bench.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "PAPERBOY_VAR_DIR": str(tmp_path / "var")}
    assert run_manage("migrate", "--verbosity=0", env=env).returncode == 0
    result = run_manage("bench_web", "--papers=400", "--seconds=1", "--clients=4", "--verbosity=0", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("catalog: 400 papers on sqlite")
    rows = {line[:44].strip(): line[44:].split() for line in lines[2:-1]}
    assert list(rows) == [
        "/", "/papers/", "/papers/?q=diffusion model", "/api/papers/",
        "/papers/?q=… (20 searches in turn)",
    ]  # fmt: skip
    for cells in rows.values():
        requests, errors = int(cells[0]), int(cells[5])
        assert requests > 0
        assert errors == 0
        assert cells[7] in ("ok", "MISSED")
    assert lines[-1].startswith("bench_web: ")
    assert "of 5 addresses" in lines[-1]
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT COUNT(*) FROM digest_paper").fetchone() == (0,)  # cleaned up
        assert db.execute("SELECT COUNT(*) FROM subscriptions_topic").fetchone() == (0,)


def test_the_load_generator_works_where_an_event_loop_already_runs(httpserver):
    """(A browser test's driver may leave one running in the test process.)"""
    httpserver.expect_request("/ok").respond_with_data("fine")

    async def inside_a_loop() -> int:
        return hammer(httpserver.url_for("/ok"), clients=2, seconds=0.3).requests

    with ThreadPoolExecutor(max_workers=1) as thread:  # a thread with no loop of its own yet
        assert thread.submit(asyncio.run, inside_a_loop()).result() > 0
