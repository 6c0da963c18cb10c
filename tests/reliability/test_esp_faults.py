"""An HTTP ESP (anymail's Mailgun backend against a local fake) failing for a while,
through a real worker in batch mode: retried with backoff, then all arrive once."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest
from werkzeug import Request, Response

from digest.daily.dispatch import dispatch_due
from digest.models import Delivery
from digest.tasks import enqueue_chunk
from tests.celery_worker import needs_redis_and_postgres

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    needs_redis_and_postgres(),
    pytest.mark.django_db(transaction=True),
]


class FakeMailgun:
    """Answers 500, then 429, then accepts; counts every recipient it accepted."""

    def __init__(self, failures: list[int]) -> None:
        self.failures = list(failures)
        self.calls = 0
        self.accepted: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self.lock:
            self.calls += 1
            if self.failures:
                return Response("ESP trouble", status=self.failures.pop(0))
            for address in request.form.getlist("to"):
                self.accepted[address.lower()] += 1
            body = {"id": f"<{self.calls}@mg.example.com>", "message": "Queued. Thank you."}
            return Response(json.dumps(body), content_type="application/json")


def test_esp_5xx_then_429_then_all_arrive_once_in_one_batch(workers, due_readers, httpserver):
    esp = FakeMailgun([500, 429])
    httpserver.expect_request("/v3/paperboy.localhost/messages", method="POST").respond_with_handler(esp)
    workers.start(
        env={
            "EMAIL_BACKEND": "anymail.backends.mailgun.EmailBackend",
            "ANYMAIL_MAILGUN_API_KEY": "key-test",
            "ANYMAIL_MAILGUN_API_URL": httpserver.url_for("/v3"),
            "DIGEST_SEND_MODE": "batch",
            "DIGEST_MERGE_FIELD": "%recipient.NAME%",
            "DIGEST_RETRY_BACKOFF": "1",
        }
    )
    dispatch_due(enqueue=enqueue_chunk)
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline and Delivery.objects.filter(status=Delivery.Status.SENT).count() < 20:
        time.sleep(0.3)
    assert esp.accepted == dict.fromkeys(due_readers, 1)
    assert esp.calls == 3  # one batch call per try: 500, 429, then accepted
    rows = Delivery.objects.all()
    assert {(d.status, d.attempts) for d in rows} == {(Delivery.Status.SENT, 3)}
