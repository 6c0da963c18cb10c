"""Delivery health: per-day numbers, a fixed number of queries, SVG charts, schedules."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from celery.schedules import crontab
from django.contrib.auth import get_user_model
from django.urls import reverse

from digest.desk.charts import Series, line_chart, nice_max
from digest.desk.dashboard import delivery_health
from digest.desk.schedules import describe
from digest.models import Delivery
from subscriptions.models import EmailEvent, Subscriber
from tests.factories import DeliveryFactory, SubscriberFactory

NOW = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)
TODAY = NOW.date()
YESTERDAY = TODAY - dt.timedelta(days=1)


def _event(kind: str, at: dt.datetime, n: int) -> EmailEvent:
    return EmailEvent.objects.create(esp_name="test", event_id=f"{kind}-{n}", event_type=kind, occurred_at=at)


@pytest.fixture
def history(db):
    with time_machine.travel(NOW - dt.timedelta(days=60), tick=False):
        old = SubscriberFactory.create_batch(3, confirmed_at=NOW - dt.timedelta(days=60))
    with time_machine.travel(NOW - dt.timedelta(days=1), tick=False):
        SubscriberFactory(status=Subscriber.Status.PENDING, confirmed_at=None)
        SubscriberFactory(confirmed_at=NOW - dt.timedelta(days=1))
    Subscriber.objects.filter(pk=old[0].pk).update(
        status=Subscriber.Status.UNSUBSCRIBED, unsubscribed_at=NOW - dt.timedelta(hours=1)
    )
    # Deliveries need readers of their own; these sign up (pending, unconfirmed) today.
    statuses = [Delivery.Status.SENT] * 3 + [Delivery.Status.FAILED, Delivery.Status.BOUNCED]
    dates = [YESTERDAY] * 5 + [TODAY, TODAY - dt.timedelta(days=40)]
    with time_machine.travel(NOW, tick=False):
        for status, day in zip([*statuses, Delivery.Status.QUEUED, Delivery.Status.SENT], dates, strict=True):
            reader = SubscriberFactory(status=Subscriber.Status.PENDING, confirmed_at=None)
            DeliveryFactory(subscriber=reader, digest_date=day, status=status)
    at = NOW - dt.timedelta(days=1)
    for n in range(2):
        _event("opened", at, n)
    _event("clicked", at, 0)
    _event("bounced", at, 0)
    _event("complained", NOW, 0)
    _event("delivered", at, 0)


def test_health_counts_each_day(history, django_assert_num_queries):
    with django_assert_num_queries(6):
        health = delivery_health(days=30, today=TODAY)

    assert len(health.days) == 30
    assert health.days[-1].day == TODAY
    yesterday, today = health.days[-2], health.days[-1]
    assert (yesterday.queued, yesterday.sent, yesterday.failed) == (5, 4, 1)
    assert (yesterday.opened, yesterday.clicked, yesterday.bounced) == (2, 1, 1)
    assert (today.queued, today.sent, today.complained) == (1, 0, 1)
    assert (yesterday.signups, today.signups) == (2, 7)
    assert health.days[-3].active == 3
    assert yesterday.active == 4
    assert today.active == 3
    assert health.total("sent") == 4  # the delivery 40 days ago is outside the window


def test_health_on_an_empty_database_is_all_zeros(db):
    health = delivery_health(days=7, today=TODAY)
    assert [d.sent for d in health.days] == [0] * 7
    assert health.days[0].day == TODAY - dt.timedelta(days=6)


def test_dashboard_page_draws_svg_charts_and_the_table(client, history):
    user = get_user_model().objects.create_superuser("editor", "editor@example.com", "pw")
    client.force_login(user)
    with time_machine.travel(NOW, tick=False):
        body = client.get(reverse("admin:digest_dashboard")).content.decode()
    assert body.count('<svg viewBox="0 0 400 200"') == 6
    assert "<polyline" in body
    assert "Sent: 4" in body  # the tooltip of yesterday's point
    assert 'id="health-table"' in body
    assert "cdn" not in body.lower()


def test_chart_scales_values_into_the_plot():
    days = [TODAY - dt.timedelta(days=i) for i in range(3)][::-1]
    chart = line_chart(
        title="t",
        days=days,
        series=[Series("a", "#000", [0, 5, 10]), Series("b", "#111", [1, 2, 3], bars=True)],
    )
    line, bars = chart.series
    ys = [y for _, y, _ in line.dots]
    assert ys[0] == chart.plot_bottom
    assert ys[2] < ys[1] < ys[0]
    assert len(bars.rects) == 3
    assert chart.y_ticks[-1][1] == 10


@pytest.mark.parametrize(("value", "expected"), [(0, 1), (3, 3), (9, 10), (11, 15), (257, 300), (124, 150)])
def test_nice_max_rounds_up_to_a_readable_axis(value, expected):
    assert nice_max(value) == expected


def test_schedules_are_described_in_words():
    assert describe(crontab(minute=20, hour="5,17")) == "daily at 05:20, 17:20 UTC"
    assert describe(crontab(minute=0)) == "every hour at :00"
    assert describe(crontab(minute=30, hour=6, day_of_week="1")) == "at 06:30 UTC on Monday"
    assert describe(dt.timedelta(minutes=15)) == "every 15 minute(s)"
