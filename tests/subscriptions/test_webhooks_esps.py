"""Hard and soft bounces from seven ESPs, posted as each sends them through anymail's real
webhook views: a hard bounce suppresses at once, a soft one only counts."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from subscriptions.bounces import Bounce, classify, smtp_verdict
from subscriptions.models import EmailEvent, Subscriber
from tests.factories import SubscriberFactory
from tests.subscriptions import esp_payloads as esp

pytestmark = pytest.mark.django_db

SECRET = "esp:s3cret-for-esp-tests"
EMAIL = "reader@example.com"


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    settings.ANYMAIL = {
        **settings.ANYMAIL,
        "WEBHOOK_SECRET": SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": esp.MAILGUN_SIGNING_KEY,
    }
    settings.SOFT_BOUNCE_LIMIT = 3


@pytest.fixture
def reader():
    return SubscriberFactory(email=EMAIL)


def _post(client, esp_name: str, payload: Any, **headers: str):
    auth = "Basic " + base64.b64encode(SECRET.encode()).decode()
    return client.post(
        f"/anymail/{esp_name}/tracking/",
        json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=auth,
        **headers,
    )


def _post_ses(client, ses_event: dict[str, Any], message_id: str):
    return _post(
        client,
        "amazon_ses",
        esp.ses_notification(ses_event, message_id),
        HTTP_X_AMZ_SNS_MESSAGE_TYPE="Notification",
        HTTP_X_AMZ_SNS_MESSAGE_ID=message_id,
    )


def _outcome(reader: Subscriber) -> tuple[str, int, list[str]]:
    reader.refresh_from_db()
    return reader.status, reader.soft_bounce_count, list(EmailEvent.objects.values_list("bounce", flat=True))


HARD = ("bounced", 0, ["hard"])
SOFT = ("active", 1, ["soft"])


@pytest.mark.parametrize(
    ("kind", "reason", "status", "expected"),
    [
        ("bounce", "550 5.1.1 The email account that you tried to reach does not exist.", "5.1.1", HARD),
        ("blocked", "550 5.7.1 Service unavailable; client host blocked using Spamhaus", "5.7.1", SOFT),
    ],
    ids=["bounce", "blocked"],
)
def test_sendgrid_bounces(client, reader, kind, reason, status, expected):
    response = _post(
        client, "sendgrid", esp.sendgrid_bounce(EMAIL, kind=kind, reason=reason, status=status, event_id="e1")
    )

    assert response.status_code == 200
    assert _outcome(reader) == expected
    assert EmailEvent.objects.get().delivery_id == 42


def test_sendgrid_deferral_counts_and_a_dropped_bounced_address_suppresses(client, reader):
    _post(client, "sendgrid", esp.sendgrid_deferred(EMAIL))
    assert _outcome(reader) == SOFT

    _post(client, "sendgrid", esp.sendgrid_dropped(EMAIL))
    reader.refresh_from_db()
    assert reader.status == "bounced"


@pytest.mark.parametrize(
    ("severity", "code", "message", "expected"),
    [
        ("permanent", 550, "5.1.1 The email account that you tried to reach does not exist.", HARD),
        ("temporary", 452, "4.2.2 The email account that you tried to reach is over quota.", SOFT),
    ],
    ids=["permanent", "temporary"],
)
def test_mailgun_failures(client, reader, severity, code, message, expected):
    payload = esp.mailgun_failed(EMAIL, severity=severity, code=code, message=message, token="t" * 50)

    response = _post(client, "mailgun", payload)

    assert response.status_code == 200
    assert _outcome(reader) == expected


def test_mailgun_webhook_with_a_forged_signature_changes_nothing(client, reader):
    payload = esp.mailgun_failed(EMAIL, severity="permanent", code=550, message="5.1.1 gone", token="t" * 50)
    payload["signature"]["signature"] = "0" * 64

    assert _post(client, "mailgun", payload).status_code == 400
    assert _outcome(reader) == ("active", 0, [])


@pytest.mark.parametrize(
    ("bounce_type", "sub_type", "diagnostic", "expected"),
    [
        ("Permanent", "General", "smtp; 550 5.1.1 user unknown", HARD),
        ("Permanent", "NoEmail", None, HARD),
        ("Transient", "MailboxFull", "smtp; 552 5.2.2 Mailbox full", SOFT),
        ("Transient", "General", None, SOFT),
        ("Undetermined", "Undetermined", None, SOFT),
    ],
    ids=["permanent", "no-email", "mailbox-full", "transient", "undetermined"],
)
def test_amazon_ses_bounces(client, reader, bounce_type, sub_type, diagnostic, expected):
    event = esp.ses_bounce(EMAIL, bounce_type=bounce_type, sub_type=sub_type, diagnostic=diagnostic)

    response = _post_ses(client, event, "sns-1")

    assert response.status_code == 200
    assert _outcome(reader) == expected
    assert EmailEvent.objects.get().delivery_id == 42


def test_amazon_ses_complaint_and_a_body_that_is_not_sns(client, reader):
    assert _post_ses(client, esp.ses_complaint(EMAIL), "sns-2").status_code == 200
    reader.refresh_from_db()
    assert reader.status == "complained"

    broken = _post(
        client,
        "amazon_ses",
        {"Type": "Notification", "MessageId": "sns-3", "Message": "{not json"},
        HTTP_X_AMZ_SNS_MESSAGE_TYPE="Notification",
        HTTP_X_AMZ_SNS_MESSAGE_ID="sns-3",
    )
    assert broken.status_code == 400
    assert EmailEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("event", "reason", "expected"),
    [
        ("hard_bounce", "Unable to find MX of domain example.com", HARD),
        ("soft_bounce", "mailbox full", SOFT),
        ("soft_bounce", "550 5.1.1 The email account that you tried to reach does not exist", SOFT),
        ("invalid_email", "", HARD),
        ("deferred", "451 Temporary local problem", SOFT),
    ],
    ids=["hard", "soft", "soft-says-brevo", "invalid", "deferred"],
)
def test_brevo_events(client, reader, event, reason, expected):
    response = _post(client, "brevo", esp.brevo(EMAIL, event=event, reason=reason, event_id=1))

    assert response.status_code == 200
    assert _outcome(reader) == expected


@pytest.mark.parametrize(
    ("bounce_class", "raw_reason", "expected"),
    [
        ("10", "550 5.1.1 <reader@example.com>: Recipient address rejected: User unknown", HARD),
        ("22", "552 5.2.2 Mailbox full", SOFT),
        ("21", "554 5.4.4 [internal] Domain Lookup Failed", SOFT),
    ],
    ids=["invalid-recipient", "mailbox-full", "dns-failure"],
)
def test_sparkpost_bounces(client, reader, bounce_class, raw_reason, expected):
    payload = esp.sparkpost_bounce(EMAIL, bounce_class=bounce_class, raw_reason=raw_reason, event_id="9201")

    assert _post(client, "sparkpost", payload).status_code == 200
    assert _outcome(reader) == expected


@pytest.mark.parametrize(
    ("hard", "error", "smtp_reply", "expected"),
    [
        (True, "user unknown", "550 5.1.1 No such user", HARD),
        (False, "mailbox inactive", "452 4.2.2 Mailbox full", SOFT),
    ],
    ids=["hard", "soft"],
)
def test_mailjet_bounces(client, reader, hard, error, smtp_reply, expected):
    payload = esp.mailjet_bounce(EMAIL, hard=hard, error=error, smtp_reply=smtp_reply)

    assert _post(client, "mailjet", payload).status_code == 200
    assert _outcome(reader) == expected


def test_soft_bounces_from_any_esp_count_towards_one_limit(client, reader):
    """Three soft bounces in a row, each from another ESP, suppress; no single one does."""
    _post(client, "brevo", esp.brevo(EMAIL, event="soft_bounce", reason="mailbox full", event_id=1))
    _post_ses(
        client, esp.ses_bounce(EMAIL, bounce_type="Transient", sub_type="General", diagnostic=None), "s1"
    )
    reader.refresh_from_db()
    assert (reader.status, reader.soft_bounce_count) == ("active", 2)

    _post(client, "sendgrid", esp.sendgrid_deferred(EMAIL))

    reader.refresh_from_db()
    assert (reader.status, reader.soft_bounce_count) == ("bounced", 3)


# --- the rules, one by one -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("smtp;550 5.1.1 The email account that you tried to reach does not exist.", Bounce.HARD),
        ("5.1.10 RESOLVER.ADR.RecipientNotFound", Bounce.HARD),
        ("550 5.2.1 Mailbox disabled", Bounce.HARD),
        ("552 5.2.2 Mailbox full", Bounce.SOFT),
        ("554 5.7.1 Message rejected as spam", Bounce.SOFT),
        ("421 4.7.0 Try again later", Bounce.SOFT),
        ("550 Requested action not taken: mailbox unavailable", Bounce.HARD),
        ("552 Requested mail action aborted: exceeded storage allocation", Bounce.SOFT),
        ("250 2.0.0 OK", None),
        ("connection to 10.5.1.2 timed out", None),  # an address is not a status code
        ("mailbox full", None),
        ("", None),
        (None, None),
    ],
)
def test_smtp_verdict(text, expected):
    assert smtp_verdict(text) == expected


def _classify(**fields: Any) -> Bounce | None:
    values: dict[str, Any] = {
        "event_type": "bounced",
        "reject_reason": None,
        "mta_response": None,
        "description": None,
        "esp_name": "Postal",
        "raw": {},
    }
    values.update(fields)
    return classify(**values)


def test_classify_order():
    assert _classify(event_type="delivered") is None
    assert _classify(event_type="deferred", mta_response="550 5.1.1 gone") == Bounce.SOFT
    assert _classify(event_type="rejected", reject_reason="invalid") == Bounce.HARD
    assert _classify(event_type="rejected", reject_reason="blocked") is None
    assert _classify(reject_reason="timed_out", mta_response="550 5.1.1 gone") == Bounce.SOFT
    # The ESP's own verdict wins over the SMTP reply; the reply decides for ESPs without one.
    brevo_soft = {"event": "soft_bounce"}
    assert _classify(esp_name="Brevo", raw=brevo_soft, mta_response="550 5.1.1 gone") == Bounce.SOFT
    assert _classify(mta_response="452 4.2.2 over quota") == Bounce.SOFT
    assert _classify(description="smtp; 550 5.1.1 gone") == Bounce.HARD
    # Nothing conclusive: a block is the receiver's choice, anything else is a hard bounce.
    assert _classify(reject_reason="blocked") == Bounce.SOFT
    assert _classify(reject_reason="bounced") == Bounce.HARD
    assert _classify(esp_name="Amazon SES", raw={"bounce": "not a dict"}) == Bounce.HARD
