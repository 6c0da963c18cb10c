"""The fault drill: its ESP stand-in, its counting, its clock, and a whole drill run."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
from django.utils import timezone

from digest.daily import storage
from digest.drill.esp import Accepted, StandIn, serve
from digest.drill.faults import FAULTS
from digest.drill.runner import Drill
from digest.drill.servers import PostgresCluster, RedisServer, free_port, postgres_bindir
from digest.drill.setup import morning_zone
from digest.models import Delivery
from tests.factories import SubscriberFactory

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def stand_in(httpserver):
    httpserver.expect_request("/anymail/postmark/tracking/", method="POST").respond_with_data("ok")
    state = StandIn(
        webhook_url=httpserver.url_for("/anymail/postmark/tracking/"), webhook_auth="drill:secret"
    )
    port = free_port()
    server, stop = serve(state, port)
    yield state, f"http://127.0.0.1:{port}/email"
    stop.set()
    server.shutdown()


def _send(url: str, to: str, delivery_id: int, *, timeout: float = 5) -> requests.Response:
    return requests.post(url, json={"To": to, "Metadata": {"delivery_id": str(delivery_id)}}, timeout=timeout)


def test_the_stand_in_logs_what_it_accepts_and_posts_a_delivery_webhook_for_it(stand_in, httpserver):
    state, url = stand_in
    answer = _send(url, "Reader@Example.com", 7)
    assert answer.status_code == 200
    assert answer.json()["ErrorCode"] == 0
    assert [(a.recipient, a.delivery_id) for a in state.accepted] == [("reader@example.com", "7")]
    deadline = time.monotonic() + 5
    while not httpserver.log and time.monotonic() < deadline:
        time.sleep(0.05)
    (request, _), *_ = httpserver.log
    event = json.loads(request.data)
    assert event["RecordType"] == "Delivery"
    assert event["MessageID"] == answer.json()["MessageID"]
    assert event["Metadata"] == {"delivery_id": "7"}
    assert request.headers["Authorization"].startswith("Basic ")


def test_the_stand_in_refuses_without_accepting_when_failing_or_down(stand_in):
    state, url = stand_in
    state.faults.error_rate = 1.0
    assert _send(url, "a@example.com", 1).status_code == 500
    state.faults.error_rate = 0.0
    state.faults.down_until = lambda: True
    assert _send(url, "a@example.com", 1).status_code == 503
    assert state.accepted == []
    assert state.refused == 2


def test_a_slow_accept_is_logged_although_the_client_gave_up(stand_in):
    state, url = stand_in
    state.faults.slow_accepts, state.faults.slow_seconds = 1, 2.0
    with pytest.raises(requests.ReadTimeout):
        _send(url, "slow@example.com", 3, timeout=0.5)
    assert [a.recipient for a in state.accepted] == ["slow@example.com"]
    assert _send(url, "fast@example.com", 4, timeout=0.5).status_code == 200  # only one was slow


def _raw_post(url: str, head_length: int, body: bytes) -> bytes:
    """POST `body` claiming `head_length` bytes, then stop writing (a sender killed mid-request)."""
    where = urlsplit(url)
    with socket.create_connection((where.hostname, where.port), timeout=5) as raw:
        raw.sendall(
            b"POST /email HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {head_length}\r\n\r\n".encode()
            + body
        )
        raw.shutdown(socket.SHUT_WR)
        return raw.recv(4096)


@pytest.mark.parametrize(
    ("head_length", "body"),
    [
        (200, b'{"To": "cut@example.com", "Metadata": {"deli'),  # killed while writing the body
        (200, b""),  # killed after the headers
        (2, b"{}"),  # whole, but no recipient
        (9, b"not json!"),
    ],
)
def test_a_half_written_or_empty_request_is_refused_and_not_logged(stand_in, head_length, body):
    state, url = stand_in
    answer = _raw_post(url, head_length, body)
    assert answer.startswith((b"HTTP/1.0 422", b"HTTP/1.1 422")), answer[:40]
    assert state.accepted == []
    assert _send(url, "whole@example.com", 5).status_code == 200
    assert [a.recipient for a in state.accepted] == ["whole@example.com"]


@pytest.mark.django_db
def test_the_drill_counts_lost_and_duplicated_readers_against_the_stand_ins_log(tmp_path):
    for name in ("twice", "once", "never", "quiet"):
        SubscriberFactory(email=f"{name}@example.com")
    quiet = SubscriberFactory._meta.model.objects.get(email="quiet@example.com")
    Delivery.objects.create(
        subscriber=quiet, digest_date=dt.date(2026, 12, 2), status=Delivery.Status.SKIPPED
    )
    state = StandIn(webhook_url="http://127.0.0.1:9/", webhook_auth="x:y")
    state.accepted += [Accepted(f"{name}@example.com", "", "m") for name in ("twice", "twice", "once")]
    drill = Drill(
        readers=4,
        esp=state,
        postgres=PostgresCluster(data=tmp_path, port=1, bindir=tmp_path),
        redis=RedisServer(port=1, directory=tmp_path),
        logs=tmp_path,
    )
    outcome = drill.count("test", time.monotonic())
    assert (outcome.accepted, outcome.lost, outcome.duplicated, outcome.skipped) == (3, 1, 1, 1)
    assert not outcome.ok


@pytest.mark.parametrize("hour", range(24))
def test_readers_are_put_where_it_is_morning_whatever_the_hour(hour):
    now = dt.datetime(2026, 12, 2, hour, 30, tzinfo=dt.UTC)
    local = now.astimezone(ZoneInfo(morning_zone(now)))
    assert local.hour == 6


@pytest.mark.django_db
def test_moving_the_clock_ages_every_row_but_a_claim_whose_sender_may_be_alive(tmp_path, settings):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the drill's clock runs on PostgreSQL (set DATABASE_URL)")
    settings.CELERY_TASK_TIME_LIMIT = 10
    rows = [
        Delivery.objects.create(subscriber=SubscriberFactory(), digest_date=dt.date(2026, 12, 2))
        for _ in range(3)
    ]
    storage.claim([rows[0].pk], now=timezone.now(), token="live")
    storage.claim([rows[1].pk], now=timezone.now(), token="dead")
    Delivery.objects.filter(pk=rows[1].pk).update(claimed_at=timezone.now() - dt.timedelta(seconds=30))
    before = {d.pk: (d.updated_at, d.claimed_at) for d in Delivery.objects.all()}
    drill = Drill(
        readers=3,
        esp=StandIn(webhook_url="http://127.0.0.1:9/", webhook_auth="x:y"),
        postgres=PostgresCluster(data=tmp_path, port=1, bindir=tmp_path),
        redis=RedisServer(port=1, directory=tmp_path),
        logs=tmp_path,
    )
    drill.advance(5)
    after = {d.pk: (d.updated_at, d.claimed_at) for d in Delivery.objects.all()}
    five = dt.timedelta(minutes=5)
    assert after[rows[0].pk] == before[rows[0].pk]  # claimed just now: its sender may be at work
    dead_updated, dead_claimed = before[rows[1].pk]
    assert dead_claimed is not None
    assert after[rows[1].pk] == (dead_updated - five, dead_claimed - five)
    assert after[rows[2].pk][0] == before[rows[2].pk][0] - five
    assert drill.shifted_minutes == 5


def _drill_missing() -> str:
    try:
        postgres_bindir()
    except Exception as error:
        return str(error)
    if not shutil.which("redis-server"):
        return "redis-server is not on PATH"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "runuser is missing (PostgreSQL must not run as root)"
    return ""


@pytest.mark.slow
@pytest.mark.skipif(
    bool(_drill_missing()), reason=f"the fault drill needs its own servers: {_drill_missing()}"
)
def test_the_fault_drill_runs_every_fault_and_loses_and_duplicates_nothing(tmp_path):
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "CACHE_URL"))
    }
    result = subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "fault_drill", "--readers", "40", "--logs", str(tmp_path)],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert [row.split(" | ")[0].strip("| ") for row in rows] == [fault.name for fault in FAULTS]
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        readers, accepted, lost, duplicated = map(int, cells[2:6])
        assert (readers, accepted, lost, duplicated) == (40, 40, 0, 0), row
    assert re.search(r"^fault drill: 9 faults, 40 readers each: lost 0, duplicated 0$", result.stdout, re.M)
    # The drill's own servers are gone afterwards; their logs were kept where asked.
    assert (tmp_path / "server.log").exists()
    assert (tmp_path / "web.log").exists()
