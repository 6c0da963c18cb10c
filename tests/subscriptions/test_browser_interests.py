"""In headless chromium against a live server: a reader sets keywords, followed authors and
excluded words in the preference center (errors shown, nothing saved), and records "more like
this" from a digest link with one click, then undoes it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from digest.models import Feedback
from subscriptions.models import Subscriber
from subscriptions.tokens import Purpose, make_token
from tests.factories import PaperFactory, SubscriberFactory, TopicFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reader_sets_own_interests_and_sees_clear_errors(page, live_server):
    topic = TopicFactory(name="Language models", slug="llm")
    reader = SubscriberFactory(topics=[topic])
    url = live_server.url + reverse("subscriptions:preferences", args=[make_token(reader, Purpose.MANAGE)])
    page.goto(url)

    page.get_by_label("Your own keywords").fill("\n".join(f"keyword {n}" for n in range(21)))
    page.get_by_role("button", name="Save preferences").click()
    page.get_by_text("At most 20 keywords").wait_for()
    reader.refresh_from_db()
    assert reader.keywords == []

    page.get_by_label("Your own keywords").fill("KV cache\nsparse attention")
    page.get_by_label("Authors you follow").fill("Hedy Lamarr")
    page.get_by_label("Leave out papers that mention").fill("quantum")
    page.get_by_label("Language models").uncheck()  # keywords are enough
    page.get_by_role("button", name="Save preferences").click()
    page.get_by_text("Saved.").wait_for()
    reader.refresh_from_db()
    assert reader.keywords == ["KV cache", "sparse attention"]
    assert reader.authors == ["Hedy Lamarr"]
    assert reader.exclude_words == ["quantum"]
    assert reader.topic_key == ""
    assert page.get_by_label("Authors you follow").input_value() == "Hedy Lamarr"


def test_more_like_this_needs_one_click_and_can_be_undone(page, live_server):
    reader = SubscriberFactory(topics=[TopicFactory()])
    paper = PaperFactory(title="Sparse attention at scale")
    link = live_server.url + reverse(
        "digest:feedback", args=[make_token(reader, Purpose.FEEDBACK), paper.pk, "more"]
    )
    page.goto(link)  # what a link scanner does too
    page.get_by_role("heading", name="More papers like this one?").wait_for()
    assert not Feedback.objects.exists()

    page.get_by_role("button", name="Yes, more like this").click()
    page.get_by_text("Done.").wait_for()
    assert Feedback.objects.get().value == 1
    assert Subscriber.objects.get().profile == {"more": [paper.pk]}

    page.get_by_role("button", name="Undo").click()
    page.get_by_text("Undone.").wait_for()
    assert not Feedback.objects.exists()
