"""The editor's desk in headless chromium against a live server: log in, pin a paper, open
the digest preview, send a test, read the dashboard. Saves docs/dashboard.png and
docs/preview.png."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from digest.models import Delivery, Paper, PaperTopic
from subscriptions.models import EmailEvent, Subscriber, Topic

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCS = Path(__file__).resolve().parents[3] / "docs"
PASSWORD = "desk-pass-123"


def _history(days: int = 30) -> None:
    """A month of plausible delivery health: a list growing from ~180 to ~260 readers."""
    rng = random.Random(7)
    now = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    topics = list(Topic.objects.all()[:3])
    readers, joined = [], []
    for n in range(260):
        age = days + 30 if n < 180 else rng.randint(0, days - 1)
        joined.append(now - dt.timedelta(days=age, hours=rng.randint(0, 10)))
        readers.append(Subscriber(email=f"reader{n}@example.com", topic_key=str(topics[n % 3].pk)))
    Subscriber.objects.bulk_create(readers)
    for reader, at in zip(Subscriber.objects.order_by("pk"), joined, strict=True):
        Subscriber.objects.filter(pk=reader.pk).update(
            created_at=at, confirmed_at=at, consent_at=at, status=Subscriber.Status.ACTIVE
        )
    deliveries: list[Delivery] = []
    events: list[EmailEvent] = []
    for back in range(days - 1, -1, -1):
        day = now.date() - dt.timedelta(days=back)
        due = [r for r, at in zip(readers, joined, strict=True) if at.date() < day]
        for reader in due:
            roll = rng.random()
            status = "failed" if roll < 0.02 else "bounced" if roll < 0.03 else "sent"
            deliveries.append(Delivery(subscriber_id=reader.pk, digest_date=day, status=status))
            at = dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)
            for kind, chance in (("opened", 0.46), ("clicked", 0.13), ("complained", 0.002)):
                if status == "sent" and rng.random() < chance:
                    events.append(
                        EmailEvent(
                            esp_name="demo", event_id=f"{kind}-{len(events)}", event_type=kind, occurred_at=at
                        )
                    )
            if status == "bounced":
                events.append(
                    EmailEvent(
                        esp_name="demo", event_id=f"b-{len(events)}", event_type="bounced", occurred_at=at
                    )
                )
    Delivery.objects.bulk_create(deliveries)
    EmailEvent.objects.bulk_create(events)


@pytest.fixture
def desk(live_server):
    call_command("load_seeds", verbosity=0)
    user = get_user_model().objects.create_superuser("editor", "editor@example.com", PASSWORD)
    return live_server, user


def _login(page, live_server) -> None:
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "editor")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#editors-desk")


def test_editor_pins_a_paper_and_previews_the_digest(desk, page):
    live_server, _ = desk
    _login(page, live_server)

    page.click("#editors-desk >> text=Today's candidates")
    page.wait_for_selector("#result_list tbody tr")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() > 3
    last_title = rows.last.locator("th a").inner_text()
    rows.last.locator("input.action-select").check()
    page.select_option("select[name=action]", "pin")
    page.click("button[name=index]")
    page.wait_for_selector("text=Pinned 1 paper(s).")
    first = page.locator("#result_list tbody tr").first
    assert first.locator("th a").inner_text() == last_title
    pinned = Paper.objects.get(pinned=True)
    match = PaperTopic.objects.filter(paper=pinned, excluded=False).select_related("topic").first()
    assert match is not None
    topic = match.topic

    page.goto(f"{live_server.url}/admin/desk/preview/")
    page.check(f"#preview-form input[name=topics][value='{topic.pk}']")
    page.click("#preview-form input[type=submit]")
    page.wait_for_selector("#preview-html")
    assert "List-Unsubscribe" in page.locator("#preview-headers").inner_text()
    frame = page.frame_locator("#preview-html")
    assert pinned.title[:40] in frame.locator("body").inner_text()
    assert pinned.title[:40] in page.locator("#preview-text").inner_text()
    # "Exactly as sent": the frame is at least as wide as the email's 640 px sheet and margins.
    box = page.locator("#preview-html").bounding_box()
    assert box is not None
    assert box["width"] >= 640 + 2 * 16
    page.set_viewport_size({"width": 1400, "height": 1450})
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "preview.png"))

    page.click("#send-test input[type=submit]")
    page.wait_for_selector("text=Test digest sent to editor@example.com.")
    assert not Delivery.objects.exists()
    (sent,) = mail.outbox
    assert sent.subject.startswith("[TEST] ")
    assert sent.to == ["editor@example.com"]


def test_dashboard_shows_a_month_of_delivery_health(desk, page):
    live_server, _ = desk
    _history()
    _login(page, live_server)
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.click("#editors-desk >> text=Delivery health")
    page.wait_for_selector("#health-table")
    assert page.locator(".pb-chart svg").count() == 6
    assert page.locator("#health-table tbody tr").count() == 30
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "dashboard.png"), full_page=True)
