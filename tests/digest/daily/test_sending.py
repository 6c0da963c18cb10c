"""Sending one chunk: claims, one connection, per-message outcomes, personal links."""

from __future__ import annotations

import datetime as dt
import smtplib
import threading
from typing import TYPE_CHECKING, cast

import pytest
import requests
import time_machine
from anymail.exceptions import (
    AnymailAPIError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
    AnymailRequestsAPIError,
)
from django.core import mail
from django.db import connection
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from digest.daily.send_errors import SendVerdict, send_verdict
from digest.daily.sending import claim, is_transient, send_chunk
from digest.models import Delivery
from subscriptions.links import unsubscribe_url
from tests.digest.daily import fake_esp
from tests.factories import SubscriberFactory
from tests.sent_mail import anymail_message, esp_params, first_alternative

if TYPE_CHECKING:
    from urllib3.connection import HTTPConnection
    from urllib3.connectionpool import ConnectionPool

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
DAY = NOW.date()


@pytest.fixture(autouse=True)
def esp(settings):
    settings.EMAIL_BACKEND = "tests.digest.daily.fake_esp.EmailBackend"
    settings.SITE_URL = "https://paperboy.example"
    fake_esp.reset()
    mail.outbox = []
    with time_machine.travel(NOW, tick=False):
        yield fake_esp


def _status(email: str) -> Delivery:
    return Delivery.objects.get(subscriber__email=email)


def test_a_chunk_is_sent_over_one_connection(chunk, esp):
    result = send_chunk(chunk)
    assert result.sent == 6
    assert len(esp.opened) == 1
    assert len(mail.outbox) == 6


def test_each_message_carries_its_own_readers_links_only(chunk):
    send_chunk(chunk)
    for message in mail.outbox:
        (address,) = message.to
        own = unsubscribe_url(SubscriberFactory._meta.model.objects.get(email=address))
        html = first_alternative(message)
        assert message.extra_headers["List-Unsubscribe"] == f"<{own}>"
        assert own in html
        assert own in message.body
        others = [m.extra_headers["List-Unsubscribe"].strip("<>") for m in mail.outbox if m is not message]
        assert not any(url in html or url in message.body for url in others)


def test_the_esp_message_id_and_send_time_are_recorded(chunk):
    send_chunk(chunk)
    for message in map(anymail_message, mail.outbox):
        row = _status(message.to[0])
        assert row.status == Delivery.Status.SENT
        assert row.esp_message_id == str(message.anymail_status.message_id)
        assert row.sent_at == NOW
        assert esp_params(message)["metadata"] == {"delivery_id": str(row.pk)}


def test_rows_claimed_elsewhere_or_already_sent_are_left_alone(chunk):
    first = claim(chunk[:2])
    assert [d.pk for d in first] == chunk[:2]
    assert [d.attempts for d in first] == [1, 1]
    statuses = Delivery.objects.filter(pk__in=chunk[:2]).values_list("status", flat=True)
    assert list(statuses) == [Delivery.Status.SENDING] * 2
    result = send_chunk(chunk)  # another worker got the same ids meanwhile
    assert result.sent == 4
    assert {m.to[0] for m in mail.outbox} == {f"s{n}@example.com" for n in range(2, 6)}
    assert claim(chunk) == []


def test_one_bad_message_never_stops_the_rest_of_the_chunk(chunk, esp):
    esp.script["s0@example.com"] = [AnymailAPIError("bad request", status_code=400)]
    esp.script["s3@example.com"] = [smtplib.SMTPResponseException(451, b"try later")]
    esp.script["s4@example.com"] = [ValueError("unusable address")]
    result = send_chunk(chunk)
    assert result.sent == 3
    assert _status("s0@example.com").status == Delivery.Status.FAILED
    assert "status 400" in _status("s0@example.com").error
    assert _status("s3@example.com").status == Delivery.Status.QUEUED  # temporary: retried later
    assert result.retry_ids == [_status("s3@example.com").pk]
    assert _status("s4@example.com").status == Delivery.Status.FAILED
    assert sorted(m.to[0] for m in mail.outbox) == ["s1@example.com", "s2@example.com", "s5@example.com"]


def test_a_connection_that_cannot_open_puts_every_row_back_for_a_retry(chunk, esp):
    esp.refuse_connection.append(ConnectionRefusedError("ESP unreachable"))
    result = send_chunk(chunk)
    assert result.sent == 0
    assert sorted(result.retry_ids) == sorted(chunk)
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.QUEUED}
    esp.refuse_connection.clear()
    assert send_chunk(result.retry_ids).sent == 6
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {2}


def test_sending_a_chunk_per_message_takes_a_fixed_number_of_queries(chunk, django_assert_max_num_queries):
    # the look for this claim's own earlier run, claim (2 statements in a transaction with
    # row locks, 3 without), editions, one status update per message; BEGIN/COMMIT count as
    # queries on PostgreSQL
    with django_assert_max_num_queries(6 + len(chunk)):
        send_chunk(chunk)


def _requests_error(kind: type[Exception], inner: object = None) -> Exception:
    """What anymail raises when requests fails (base_requests.post_to_esp): an error that is
    both its own and requests' kind, raised from requests' original one."""
    original = kind(inner) if inner is not None else kind("failed")
    both = type("AnymailRequestsAPIError", (AnymailRequestsAPIError, kind), {})
    try:
        raise both("Error posting to https://api.example.com/v3/messages:") from original
    except AnymailRequestsAPIError as error:
        return error


def _http_answer(status: int) -> Exception:
    """What anymail raises for an HTTP answer outside 2xx (raise_for_status)."""
    response = requests.Response()
    response.status_code = status
    return AnymailRequestsAPIError(response=response)


# urllib3 keeps the pool and connection on its errors; the verdict never looks at them.
_NO_POOL = cast("ConnectionPool", None)
_NO_CONNECTION = cast("HTTPConnection", None)
RETRY, PERMANENT, UNKNOWN = SendVerdict.RETRY, SendVerdict.PERMANENT, SendVerdict.UNKNOWN


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        (AnymailAPIError("server", status_code=503), RETRY),
        (AnymailAPIError("slow down", status_code=429), RETRY),
        (AnymailAPIError("no response"), RETRY),
        (AnymailAPIError("bad request", status_code=422), PERMANENT),
        (AnymailAPIError("accepted, unreadable answer", status_code=200), UNKNOWN),
        (AnymailRecipientsRefused("refused"), PERMANENT),
        (AnymailInvalidAddress("bad address"), PERMANENT),
        (_http_answer(500), RETRY),
        (_http_answer(502), RETRY),
        (_http_answer(429), RETRY),
        (_http_answer(400), PERMANENT),
        (_requests_error(requests.ReadTimeout), UNKNOWN),
        (_requests_error(requests.ConnectTimeout), RETRY),
        (
            _requests_error(
                requests.ConnectionError,
                MaxRetryError(_NO_POOL, "/", NewConnectionError(_NO_CONNECTION, "refused")),
            ),
            RETRY,
        ),
        (_requests_error(requests.ConnectionError, ProtocolError("Connection aborted.")), UNKNOWN),
        (smtplib.SMTPResponseException(421, b"busy"), RETRY),
        (smtplib.SMTPResponseException(550, b"no such user"), PERMANENT),
        (smtplib.SMTPConnectError(421, b"not now"), RETRY),
        (smtplib.SMTPServerDisconnected("gone"), UNKNOWN),
        (ConnectionRefusedError(), RETRY),
        (TimeoutError(), UNKNOWN),
        (ValueError("bug"), PERMANENT),
    ],
)
def test_what_a_failed_send_means(error, verdict):
    assert send_verdict(error) is verdict
    assert is_transient(error) is (verdict is RETRY)


@pytest.mark.skipif(
    not connection.features.has_select_for_update_skip_locked,
    reason="concurrent claims need row locks (PostgreSQL; set DATABASE_URL)",
)
@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_the_same_chunk_at_once_split_it(chunk):
    barrier = threading.Barrier(2)
    taken: list[list[int]] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            taken.append([d.pk for d in claim(chunk)])
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(taken) == 2
    assert sorted(taken[0] + taken[1]) == sorted(chunk)
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}


def test_a_queued_row_without_an_edition_fails_alone_and_the_rest_is_sent(chunk):
    orphan = Delivery.objects.create(
        subscriber=SubscriberFactory(email="orphan@example.com"),
        digest_date=DAY,
        status=Delivery.Status.QUEUED,
    )
    result = send_chunk([*chunk, orphan.pk])
    assert result.sent == 6
    orphan.refresh_from_db()
    assert (orphan.status, orphan.error) == (Delivery.Status.FAILED, "queued without an edition")
    assert "orphan@example.com" not in {m.to[0] for m in mail.outbox}
