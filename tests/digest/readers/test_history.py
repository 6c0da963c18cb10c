"""The preference center lists a reader's past digests with links to their web copies."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlparse

import pytest
from django.urls import reverse

from digest.models import Delivery, Edition
from subscriptions.links import preferences_url
from tests.factories import DeliveryFactory, SubscriberFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 31)


def _edition(n: int) -> Edition:
    return Edition.objects.create(
        digest_date=DAY - dt.timedelta(days=n),
        topic_key="1",
        content_key=f"{n:064d}",
        subject=f"Digest number {n}",
        html=f"<html><body><p>Edition {n}</p></body></html>",
        text=f"Edition {n}",
    )


def _page(client, reader) -> str:
    response = client.get(urlparse(preferences_url(reader)).path)
    assert response.status_code == 200
    return str(response.content.decode())


def test_the_last_thirty_sent_digests_are_listed_newest_first_with_their_web_copy(client):
    reader, other = SubscriberFactory(), SubscriberFactory()
    sent, failed, skipped = Delivery.Status.SENT, Delivery.Status.FAILED, Delivery.Status.SKIPPED
    for n in range(35):
        DeliveryFactory(
            subscriber=reader, digest_date=DAY - dt.timedelta(days=n), edition=_edition(n), status=sent
        )
    DeliveryFactory(subscriber=reader, digest_date=DAY + dt.timedelta(days=1), status=skipped)
    lost = Edition.objects.create(
        digest_date=DAY, topic_key="2", content_key="f" * 64, subject="Never arrived"
    )
    DeliveryFactory(subscriber=reader, digest_date=DAY + dt.timedelta(days=2), edition=lost, status=failed)
    theirs = Edition.objects.create(digest_date=DAY, topic_key="3", content_key="t" * 64, subject="Not yours")
    DeliveryFactory(subscriber=other, digest_date=DAY, edition=theirs, status=sent)

    page = _page(client, reader)

    listed = re.findall(r"Digest number (\d+)</a>", page)
    assert listed == [str(n) for n in range(30)]
    assert "Never arrived" not in page
    assert "Not yours" not in page
    first = Edition.objects.get(subject="Digest number 0")
    link = "http://localhost:8000" + reverse("digest:edition", args=[first.slug])
    assert f'href="{link}"' in page
    assert "Edition 0" in client.get(reverse("digest:edition", args=[first.slug])).content.decode()


def test_a_reader_with_no_digest_yet_is_told_so(client):
    assert "None yet: your first digest will be listed here" in _page(client, SubscriberFactory())
