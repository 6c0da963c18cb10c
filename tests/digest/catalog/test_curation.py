"""Editor services: pins, hides, notes and hand-fixed topics change what goes out."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.core import mail

from digest.catalog import curation
from digest.catalog.matching import rematch_papers
from digest.daily.editions import plan_for_subscriber
from digest.models import Delivery, Edition, Paper, PaperTopic, SendingSettings
from tests.factories import DeliveryFactory, PaperFactory, PaperTopicFactory, SubscriberFactory, TopicFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 23)


@pytest.fixture
def editor():
    return get_user_model().objects.create_user("editor", "editor@example.com", "pw", is_staff=True)


@pytest.fixture
def topic():
    return TopicFactory(name="Diffusion", slug="diffusion", terms=["diffusion"])


def _paper(topic, upvotes: int, **kwargs) -> Paper:
    paper = PaperFactory(listed_on=TODAY, upvotes=upvotes, **kwargs)
    PaperTopicFactory(paper=paper, topic=topic)
    return paper


def _next_digest(topic) -> list[Paper]:
    """The papers the pipeline would put in a new reader's next digest for `topic`."""
    reader = SubscriberFactory(topics=[topic])
    return plan_for_subscriber(subscriber=reader, digest_date=TODAY)


def test_pinned_paper_comes_first_in_the_next_digest(topic, editor):
    popular = _paper(topic, upvotes=500)
    quiet = _paper(topic, upvotes=1)
    assert _next_digest(topic)[0] == popular

    curation.pin_papers(papers=[quiet], user=editor)

    assert _next_digest(topic)[0] == quiet
    entry = LogEntry.objects.get(object_id=str(quiet.pk))
    assert entry.user == editor
    assert "Pinned" in entry.get_change_message()


def test_pin_outside_its_date_range_does_not_lift_the_paper(topic):
    popular = _paper(topic, upvotes=500)
    quiet = _paper(topic, upvotes=1)
    curation.pin_papers(papers=[quiet], start=TODAY + dt.timedelta(days=1), end=TODAY + dt.timedelta(days=3))
    assert _next_digest(topic)[0] == popular
    quiet.refresh_from_db()
    assert quiet.pinned_from == TODAY + dt.timedelta(days=1)


def test_pin_with_an_end_before_its_start_is_refused_and_changes_nothing(topic):
    paper = _paper(topic, upvotes=1)
    with pytest.raises(curation.CurationError):
        curation.pin_papers(papers=[paper], start=TODAY, end=TODAY - dt.timedelta(days=1))
    paper.refresh_from_db()
    assert not paper.pinned
    assert not LogEntry.objects.exists()


def test_unpin_clears_the_range(topic):
    paper = _paper(topic, upvotes=1)
    curation.pin_papers(papers=[paper], start=TODAY, end=TODAY)
    curation.unpin_papers(papers=[paper])
    paper.refresh_from_db()
    assert (paper.pinned, paper.pinned_from, paper.pinned_until) == (False, None, None)


def test_hidden_paper_never_appears_until_unhidden(topic, editor):
    papers = [_paper(topic, upvotes=n) for n in (300, 200, 100)]
    curation.hide_papers(papers=[papers[0]], user=editor)
    assert papers[0] not in _next_digest(topic)

    curation.unhide_papers(papers=[papers[0]], user=editor)
    assert _next_digest(topic)[0] == papers[0]
    assert LogEntry.objects.filter(object_id=str(papers[0].pk)).count() == 2


def test_editor_note_is_stored_trimmed_and_too_long_a_note_is_refused(topic):
    paper = _paper(topic, upvotes=1)
    curation.set_editor_note(paper=paper, note="  Worth   a read:\n clear ablations. ")
    paper.refresh_from_db()
    assert paper.editor_note == "Worth a read: clear ablations."
    with pytest.raises(curation.CurationError):
        curation.set_editor_note(paper=paper, note="x" * (curation.EDITOR_NOTE_MAX + 1))
    paper.refresh_from_db()
    assert paper.editor_note == "Worth a read: clear ablations."


def test_manual_topic_fix_survives_rematching(editor):
    diffusion = TopicFactory(name="Diffusion", slug="diffusion", terms=["diffusion"])
    robotics = TopicFactory(name="Robotics", slug="robotics", terms=["robot"])
    paper = PaperFactory(listed_on=TODAY, title="Diffusion models for images", abstract="Diffusion.")
    rematch_papers(papers=Paper.objects.filter(pk=paper.pk))
    assert set(paper.topics.values_list("slug", flat=True)) == {"diffusion"}

    curation.set_manual_topics(paper=paper, topics=[robotics], user=editor)
    rematch_papers()

    kept = PaperTopic.objects.filter(paper=paper, excluded=False).values_list("topic__slug", flat=True)
    assert set(kept) == {"robotics"}
    assert _next_digest(robotics) == [paper]
    assert _next_digest(diffusion) == []


def test_clearing_a_manual_fix_goes_back_to_automatic_matching():
    TopicFactory(name="Diffusion", slug="diffusion", terms=["diffusion"])
    robotics = TopicFactory(name="Robotics", slug="robotics", terms=["robot"])
    paper = PaperFactory(listed_on=TODAY, title="Diffusion models for images", abstract="Diffusion.")
    curation.set_manual_topics(paper=paper, topics=[robotics])

    curation.clear_manual_topics(paper=paper)

    kept = PaperTopic.objects.filter(paper=paper, excluded=False).values_list("topic__slug", flat=True)
    assert set(kept) == {"diffusion"}
    assert not PaperTopic.objects.filter(paper=paper, manual=True).exists()


def _failed_delivery(reader) -> Delivery:
    edition = Edition.objects.create(
        digest_date=TODAY, content_key=f"k{reader.pk}", subject="Today's papers", html="<p>Hi</p>", text="Hi"
    )
    return DeliveryFactory(
        subscriber=reader, digest_date=TODAY, edition=edition, status=Delivery.Status.FAILED, error="SMTP 451"
    )


def test_retry_sends_failed_deliveries_once(anymail_backend, django_capture_on_commit_callbacks):
    failed = _failed_delivery(SubscriberFactory())
    sent = DeliveryFactory(status=Delivery.Status.SENT, subscriber=SubscriberFactory())

    with django_capture_on_commit_callbacks(execute=True):
        requeued = curation.retry_deliveries(delivery_ids=[failed.pk, sent.pk])
    with django_capture_on_commit_callbacks(execute=True):
        again = curation.retry_deliveries(delivery_ids=[failed.pk])

    assert requeued == [failed.pk]
    assert again == []
    failed.refresh_from_db()
    assert (failed.status, failed.error) == (Delivery.Status.SENT, "")
    assert [m.to for m in mail.outbox] == [[failed.subscriber.email]]


def test_retry_is_refused_while_sending_is_paused(anymail_backend, django_capture_on_commit_callbacks):
    failed = _failed_delivery(SubscriberFactory())
    SendingSettings.objects.update_or_create(pk=1, defaults={"sending_paused": True})
    with pytest.raises(curation.CurationError), django_capture_on_commit_callbacks(execute=True):
        curation.retry_deliveries(delivery_ids=[failed.pk])
    failed.refresh_from_db()
    assert failed.status == Delivery.Status.FAILED
    assert mail.outbox == []
