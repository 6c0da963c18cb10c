""" "More / less like this": a link scanner's GET changes nothing, a click records, undo works,
bad links change nothing; paper pages offer the same buttons to a reader from a digest."""

from __future__ import annotations

import pytest
from django.urls import reverse

from digest.models import Feedback
from subscriptions.models import Subscriber
from subscriptions.tokens import Purpose, make_token
from tests.factories import PaperFactory, SubscriberFactory, TopicFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader() -> Subscriber:
    return SubscriberFactory(topics=[TopicFactory()])


def url(
    reader: Subscriber, paper_pk: int, choice: str = "more", *, purpose: Purpose = Purpose.FEEDBACK
) -> str:
    return reverse("digest:feedback", args=[make_token(reader, purpose), paper_pk, choice])


def test_a_get_shows_one_button_and_changes_nothing(client, reader):
    paper = PaperFactory(title="Sparse attention at scale")
    for _ in range(3):  # a scanner may open a link several times
        response = client.get(url(reader, paper.pk))
        assert response.status_code == 200
    body = response.content.decode()
    assert "Sparse attention at scale" in body
    assert "Yes, more like this" in body
    assert "Nothing changes until you press the button" in body
    assert not Feedback.objects.exists()
    reader.refresh_from_db()
    assert reader.profile is None
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]


def test_one_click_records_the_choice_and_offers_undo(client, reader):
    paper = PaperFactory()
    response = client.post(url(reader, paper.pk, "less"), {"action": "record"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "rank lower for you" in body
    assert 'value="undo"' in body
    (feedback,) = Feedback.objects.all()
    assert (feedback.subscriber, feedback.paper, feedback.value) == (reader, paper, -1)
    reader.refresh_from_db()
    assert reader.profile == {"less": [paper.pk]}

    client.post(url(reader, paper.pk, "more"), {"action": "record"})  # changing one's mind
    assert Feedback.objects.get().value == 1
    reader.refresh_from_db()
    assert reader.profile == {"more": [paper.pk]}

    response = client.post(url(reader, paper.pk, "more"), {"action": "undo"})
    assert "Undone" in response.content.decode()
    assert not Feedback.objects.exists()
    reader.refresh_from_db()
    assert reader.profile is None


def test_a_second_visit_says_it_is_recorded(client, reader):
    paper = PaperFactory()
    client.post(url(reader, paper.pk), {"action": "record"})
    body = client.get(url(reader, paper.pk)).content.decode()
    assert "Done." in body
    assert Feedback.objects.count() == 1


@pytest.mark.parametrize(
    ("make", "status"),
    [
        (lambda r, p: reverse("digest:feedback", args=["garbage", p, "more"]), 400),
        (lambda r, p: url(r, p, purpose=Purpose.MANAGE), 400),  # a token for something else
        (lambda r, p: url(r, p, "maybe"), 404),
        (lambda r, p: url(r, p + 1000), 404),
    ],
)
def test_a_bad_link_gets_a_clear_page_and_changes_nothing(client, reader, make, status):
    paper = PaperFactory()
    response = client.post(make(reader, paper.pk), {"action": "record"})
    assert response.status_code == status
    assert "Nothing was changed" in response.content.decode()
    assert not Feedback.objects.exists()


def test_a_deleted_reader_link_is_a_404_and_a_bad_action_a_400(client, reader):
    paper = PaperFactory()
    link = url(reader, paper.pk)
    response = client.post(link, {"action": "whatever"})
    assert response.status_code == 400
    assert not Feedback.objects.exists()
    reader.delete()
    assert client.post(link, {"action": "record"}).status_code == 404


def test_the_click_needs_the_pages_csrf_token(reader):
    from django.test import Client

    paper = PaperFactory()
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(url(reader, paper.pk), {"action": "record"}).status_code == 403
    assert not Feedback.objects.exists()


def test_a_paper_page_opened_from_a_digest_offers_the_buttons_and_is_not_cached(client, reader):
    paper = PaperFactory(paper_id="2601.00001")
    page = reverse("digest:paper", args=[paper.paper_id])
    anonymous = client.get(page)
    assert "More like this" not in anonymous.content.decode()
    assert "public" in anonymous["Cache-Control"]

    token = make_token(reader, Purpose.FEEDBACK)
    mine = client.get(f"{page}?r={token}")
    body = mine.content.decode()
    assert "More like this" in body
    assert "Less like this" in body
    assert reverse("digest:feedback", args=[token, paper.pk, "more"]) in body
    assert "no-store" in mine["Cache-Control"]
    assert "private" in mine["Cache-Control"]
    forged = client.get(f"{page}?r=forged")
    assert "More like this" not in forged.content.decode()
    assert "public" not in forged["Cache-Control"]
