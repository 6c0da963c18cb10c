"""Property tests: arbitrary strings at the forms and the token URLs never give a 500,
and every rejection leaves the database as it was."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subscriptions.models import EmailEvent, Subscriber, Suppression
from subscriptions.tokens import Purpose, make_token
from tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db

PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
text = st.text(max_size=300)
field_value = st.one_of(text, st.lists(text, max_size=3))
PREFERENCE_FIELDS = ("topics", "frequency", "weekday", "delivery_hour", "timezone", "papers_per_email")
SIGNUP_FIELDS = ("email", *PREFERENCE_FIELDS)


def _snapshot() -> tuple[object, ...]:
    return (
        list(Subscriber.objects.order_by("pk").values()),
        sorted(Subscriber.topics.through.objects.values_list("subscriber_id", "topic_id")),
        list(Suppression.objects.values_list("email_hash", flat=True)),
        EmailEvent.objects.count(),
    )


@PROPERTY_SETTINGS
@given(
    st.fixed_dictionaries(
        {},
        optional=dict.fromkeys(SIGNUP_FIELDS, field_value),
    )
)
def test_arbitrary_signup_posts_never_500_and_rejections_write_nothing(topics, data):
    cache.clear()
    mail.outbox = []
    before = _snapshot()

    response = Client().post("/", data)

    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 400:
        assert _snapshot() == before
        assert mail.outbox == []


@PROPERTY_SETTINGS
@given(email=text, topic=text, hour=text, zone=text)
def test_signup_with_one_arbitrary_field_is_refused_without_a_write(signup_data, email, topic, hour, zone):
    cache.clear()
    before = _snapshot()
    client = Client()

    for change in (
        {"email": email + "\n"},
        {"topics": [topic + "x"]},
        {"delivery_hour": hour + "h"},
        {"timezone": zone + "!"},
    ):
        response = client.post("/", {**signup_data, **change})
        assert response.status_code == 400
        assert _snapshot() == before


@PROPERTY_SETTINGS
@given(token=st.text(min_size=1, max_size=400), method=st.sampled_from(["get", "post"]))
def test_arbitrary_tokens_never_500_and_change_nothing(token, method):
    if not Subscriber.objects.exists():
        SubscriberFactory(status="pending")
    before = _snapshot()
    client = Client()

    for prefix in ("confirm", "preferences", "unsubscribe"):
        url = f"/{prefix}/{quote(token, safe='')}/"
        response = getattr(client, method)(
            url, {"List-Unsubscribe": "One-Click"} if method == "post" else None
        )
        assert response.status_code in (400, 404, 405, 410), (url, response.status_code)

    assert _snapshot() == before


@PROPERTY_SETTINGS
@given(suffix=st.text(min_size=1, max_size=40))
def test_a_valid_token_with_anything_appended_is_refused(suffix):
    if not Subscriber.objects.exists():
        SubscriberFactory()
    reader = Subscriber.objects.get()
    before = _snapshot()
    token = make_token(reader, Purpose.UNSUBSCRIBE) + suffix

    response = Client().post(f"/unsubscribe/{quote(token, safe='')}/", {"List-Unsubscribe": "One-Click"})

    assert response.status_code in (400, 404)
    assert _snapshot() == before


@PROPERTY_SETTINGS
@given(
    st.fixed_dictionaries(
        {},
        optional=dict.fromkeys(SIGNUP_FIELDS, field_value),
    )
)
def test_arbitrary_preference_posts_never_500_and_rejections_write_nothing(topics, data):
    if not Subscriber.objects.exists():
        SubscriberFactory(topics=topics[:1])
    reader = Subscriber.objects.get()
    before = _snapshot()

    response = Client().post(f"/preferences/{make_token(reader, Purpose.MANAGE)}/", data)

    assert response.status_code in (302, 400)
    if response.status_code == 400:
        assert _snapshot() == before


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
postmark_like = st.fixed_dictionaries(
    {
        "RecordType": st.sampled_from(
            ["Bounce", "Delivery", "SpamComplaint", "SubscriptionChange", "Open", "?"]
        )
        | json_values
    },
    optional={
        "ID": json_values,
        "Type": st.sampled_from(["HardBounce", "SoftBounce", "Transient", "SpamComplaint"]) | json_values,
        "Email": st.sampled_from(["reader@example.com", "READER@EXAMPLE.COM"]) | json_values,
        "Recipient": json_values,
        "Metadata": st.fixed_dictionaries({}, optional={"delivery_id": json_values}) | json_values,
        "BouncedAt": st.sampled_from(["2026-03-01T07:01:02Z", "yesterday"]) | json_values,
        "MessageID": json_values,
    },
)


@PROPERTY_SETTINGS
@given(payload=st.one_of(postmark_like, json_values))
def test_arbitrary_webhook_payloads_never_500(settings, payload):
    import base64
    import json

    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": "esp:pw"}
    if not Subscriber.objects.filter(email="reader@example.com").exists():
        SubscriberFactory(email="reader@example.com")
    events_before = EmailEvent.objects.count()

    response = Client().post(
        "/anymail/postmark/tracking/",
        json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"esp:pw").decode(),
    )

    assert response.status_code in (200, 400)
    assert EmailEvent.objects.count() - events_before <= 1
    if response.status_code == 400:
        assert EmailEvent.objects.count() == events_before
