from __future__ import annotations

import pytest
from django.core import mail

from subscriptions.tasks import send_account_email
from tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db


def test_confirm_task_sends_only_to_a_pending_reader(anymail_backend):
    pending = SubscriberFactory(status="pending")
    active = SubscriberFactory()

    assert send_account_email(pending.pk, "confirm") is True
    assert send_account_email(active.pk, "confirm") is False
    assert [m.to for m in mail.outbox] == [[pending.email]]


def test_manage_task_sends_only_to_an_active_reader(anymail_backend):
    active = SubscriberFactory()
    left = SubscriberFactory(status="unsubscribed")

    assert send_account_email(active.pk, "manage") is True
    assert send_account_email(left.pk, "manage") is False
    assert mail.outbox[0].subject == "Manage your Paperboy subscription"
    assert len(mail.outbox) == 1


def test_task_for_a_deleted_reader_sends_nothing(anymail_backend):
    reader = SubscriberFactory(status="pending")
    pk = reader.pk
    reader.delete()

    assert send_account_email(pk, "confirm") is False
    assert mail.outbox == []
