"""A bounded burst of sign-ups from one address against gunicorn (2 workers, rate limits
shared through Redis): the per-IP limit holds, other addresses still get through."""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import pytest

from subscriptions.models import Subscriber
from tests.celery_worker import needs_redis_and_postgres, test_database_url
from tests.factories import TopicFactory
from tests.reliability.smtp_sink import free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    needs_redis_and_postgres("to share rate limits between gunicorn workers"),
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parent.parent.parent
BURST = 30
LIMIT = 10  # SIGNUP_RATE_PER_IP = 10/h
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def gunicorn(transactional_db, tmp_path: Path):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "SIGNUP_RATE_PER_IP": f"{LIMIT}/h",
        "EMAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
        "PAPERBOY_VAR_DIR": str(tmp_path / "var"),
        # Sign-ups run in the request (Celery eager): this test is about the limits, which
        # the workers share through Redis (REDIS_URL), not about the queue.
        "CELERY_BROKER_URL": "",
    }
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi:application",
            *("-b", f"127.0.0.1:{port}", "-w", "2", "--threads", "4", "--timeout", "30"),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if _request(port, "GET", "/health/")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("gunicorn did not start: " + (tmp_path / "gunicorn.log").read_text())
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _request(
    port: int,
    method: str,
    path: str,
    *,
    body: str = "",
    headers: dict[str, str] | None = None,
    source="127.0.0.1",
) -> tuple[int, str, list[tuple[str, str]]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15, source_address=(source, 0))
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace"), response.getheaders()
    finally:
        conn.close()


def _csrf(port: int) -> tuple[str, str]:
    """A CSRF cookie and the form token that goes with it (one GET)."""
    status, page, headers = _request(port, "GET", "/")
    assert status == 200
    cookie = next(v.split(";")[0] for k, v in headers if k.lower() == "set-cookie" and "csrftoken" in v)
    token = TOKEN.search(page)
    assert token is not None
    return cookie, token.group(1)


def _signup(
    port: int, cookie: str, token: str, email: str, topic: int, source: str, forwarded: str = ""
) -> int:
    body = urlencode(
        {
            "csrfmiddlewaretoken": token,
            "email": email,
            "topics": topic,
            "frequency": "daily",
            "weekday": "0",
            "delivery_hour": "7",
            "timezone": "UTC",
            "papers_per_email": "10",
        }
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    if forwarded:
        headers["X-Forwarded-For"] = forwarded
    return _request(port, "POST", "/", body=body, headers=headers, source=source)[0]


def test_a_burst_from_one_address_is_limited_and_others_still_get_through(gunicorn):
    topic = TopicFactory(name="LLM", slug="llm").pk
    cookie, token = _csrf(gunicorn)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(
            pool.map(
                lambda n: _signup(gunicorn, cookie, token, f"burst{n}@example.com", topic, "127.0.0.1"),
                range(BURST),
            )
        )
    assert time.monotonic() - started < 60
    assert sorted(set(statuses)) == [302, 429]
    assert statuses.count(302) == LIMIT
    assert Subscriber.objects.count() == LIMIT
    # Another address is not held up by the first one's limit (X-Forwarded-For is not trusted).
    spoofed = _signup(gunicorn, cookie, token, "spoof@example.com", topic, "127.0.0.1", forwarded="10.9.8.7")
    assert spoofed == 429
    assert _signup(gunicorn, cookie, token, "other@example.com", topic, "127.0.0.2") == 302
    assert Subscriber.objects.filter(email="other@example.com").exists()
