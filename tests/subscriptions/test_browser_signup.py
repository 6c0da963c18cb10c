"""End to end in headless chromium against a live server: sign up, confirm from the email,
change preferences, unsubscribe. Set SCREENSHOT_DIR to keep the sign-up page screenshot."""

from __future__ import annotations

import email
import email.policy
import os
import re
from pathlib import Path

import pytest

from subscriptions.models import Subscriber
from tests.factories import PaperFactory, PaperTopicFactory, TopicFactory
from tests.sent_mail import mime_body

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def site(live_server, settings):
    settings.SITE_URL = live_server.url
    settings.EMAIL_BACKEND = "subscriptions.outbox.EmlFileBackend"  # the demo default: .eml files
    diffusion = TopicFactory(name="Diffusion models", slug="diffusion")
    llm = TopicFactory(name="Language models", slug="llm")
    titles = [
        "Scaling laws for sparse mixture-of-experts language models",
        "One-step image generation with consistency diffusion",
        "Long-context retrieval without positional embeddings",
    ]
    for n, title in enumerate(titles):
        paper = PaperFactory(title=title, upvotes=120 - 30 * n)
        PaperTopicFactory(paper=paper, topic=diffusion if "diffusion" in title else llm)
    return live_server.url, diffusion, llm


def _outbox_messages(outbox: Path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(outbox.glob("*.eml"))
    ]


def test_reader_signs_up_confirms_changes_preferences_and_unsubscribes(page, site, settings):
    base, _diffusion, llm = site
    page.goto(base + "/")
    assert "Scaling laws for sparse mixture-of-experts" in page.locator("aside").inner_text()

    page.get_by_label("Email", exact=True).fill("  Newcomer@Example.COM ")
    page.get_by_label("Diffusion models").check()
    page.get_by_label("Weekly", exact=True).check()
    page.get_by_label("Day of the week").select_option(label="Thursday")
    page.get_by_label("Delivery time").select_option(label="08:00")
    page.get_by_label("Time zone").select_option("Europe/Paris")
    page.get_by_label("20", exact=True).check()
    page.get_by_role("button", name="Subscribe").click()

    page.get_by_role("heading", name="Check your inbox").wait_for()
    reader = Subscriber.objects.get()
    assert (reader.email, reader.status) == ("Newcomer@example.com", "pending")
    assert (reader.frequency, reader.weekday, reader.delivery_hour, reader.papers_per_email) == (
        "weekly",
        3,
        8,
        20,
    )

    [message] = _outbox_messages(settings.EMAIL_OUTBOX_DIR)
    assert message["To"] == "Newcomer@example.com"
    text = mime_body(message, "plain")
    html = mime_body(message, "html")
    confirm = re.search(r"(http\S+/confirm/\S+/)", text)
    assert confirm is not None
    confirm_url = confirm.group(1)
    assert confirm_url in html

    page.goto(confirm_url)
    page.get_by_role("heading", name="Confirm your subscription").wait_for()
    reader.refresh_from_db()
    assert reader.status == "pending"  # opening the link (as a mail scanner does) confirms nothing
    page.get_by_role("button", name="Yes, send me the digest").click()
    page.get_by_role("heading", name="You're subscribed").wait_for()
    reader.refresh_from_db()
    assert reader.status == "active"
    assert "Chrome" in reader.consent_user_agent
    assert reader.consent_ip == "127.0.0.1"

    page.get_by_role("link", name="Change your preferences").click()
    page.get_by_role("heading", name="Your preferences").wait_for()
    page.get_by_label("Language models").check()
    page.get_by_label("Daily", exact=True).check()
    assert page.get_by_label("Day of the week").is_hidden()  # the small script hides it
    page.get_by_label("Delivery time").select_option(label="18:00")
    page.get_by_role("button", name="Save preferences").click()
    page.get_by_text("Saved.").wait_for()
    reader.refresh_from_db()
    assert (reader.frequency, reader.delivery_hour) == ("daily", 18)
    assert str(llm.pk) in reader.topic_key.split(",")

    page.get_by_role("link", name="Unsubscribe").click()
    page.get_by_role("heading", name="Unsubscribe").wait_for()
    reader.refresh_from_db()
    assert reader.status == "active"  # opening the page changes nothing
    page.get_by_role("button", name="Unsubscribe").click()
    page.get_by_role("heading", name="You're unsubscribed").wait_for()
    reader.refresh_from_db()
    assert (reader.status, reader.unsubscribe_reason) == ("unsubscribed", "link")
    assert reader.unsubscribed_at is not None


def test_time_zone_is_filled_in_from_the_browser_and_page_fits_a_phone(browser, site, tmp_path):
    base, _diffusion, _llm = site
    context = browser.new_context(timezone_id="Asia/Tokyo", viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(base + "/")
        assert page.get_by_label("Time zone").input_value() == "Asia/Tokyo"
        no_sideways_scroll = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert no_sideways_scroll
    finally:
        context.close()


def test_sign_up_page_screenshot_and_keyboard_only_use(page, site, tmp_path):
    base, _diffusion, _llm = site
    page.set_viewport_size({"width": 1200, "height": 900})
    page.goto(base + "/")
    page.keyboard.press("Tab")  # skip link first
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.get_by_label("Email", exact=True).focus()
    page.keyboard.type("keys@example.com")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # first topic checkbox
    assert page.get_by_label("Diffusion models").is_checked()

    shot = tmp_path / "signup.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("SCREENSHOT_DIR"):
        page.goto(base + "/")
        page.screenshot(path=str(Path(os.environ["SCREENSHOT_DIR"]) / "signup.png"), full_page=True)


def test_the_form_is_even_and_helps_after_an_error(browser, site):
    base, _, _ = site
    context = browser.new_context(timezone_id="Asia/Tokyo", viewport={"width": 360, "height": 800})
    page = context.new_page()
    try:
        page.goto(base + "/")
        # Checkboxes keep one size however their labels wrap on a phone.
        sizes = page.eval_on_selector_all(
            'input[type="checkbox"]', "els => els.map(e => [e.offsetWidth, e.offsetHeight])"
        )
        assert len(sizes) >= 2
        assert len({tuple(s) for s in sizes}) == 1
        # Time zones come grouped by region, the browser's own first and chosen.
        zone = page.get_by_label("Time zone")
        groups = zone.evaluate("s => Array.from(s.querySelectorAll('optgroup')).map(g => g.label)")
        assert groups[0] == "Your time zone"
        assert {"Europe", "America", "Asia"} <= set(groups)
        assert zone.input_value() == "Asia/Tokyo"
        # A failed submit moves focus to the error summary.
        page.get_by_label("Email").fill("not-an-address")
        page.get_by_role("button", name=re.compile("Subscribe", re.I)).click()
        page.wait_for_selector(".form-error")
        focused = page.evaluate("document.activeElement.className")
        assert focused == "form-error"
    finally:
        context.close()
