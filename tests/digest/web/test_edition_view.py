from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from digest.daily.rendering import PLACEHOLDERS, personalize, render_digest
from digest.models import Edition
from subscriptions.links import absolute
from tests.factories import PaperFactory, PaperTopicFactory, TopicFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 20)


def rendered_edition(**paper_fields) -> Edition:
    """An edition rendered exactly as the dispatcher renders one."""
    topic = TopicFactory(name="Reasoning", slug="reasoning")
    paper = PaperFactory(listed_on=DAY, **paper_fields)
    PaperTopicFactory(paper=paper, topic=topic)
    edition = Edition(digest_date=DAY, topic_key=str(topic.pk), content_key="k" * 64, paper_ids=[paper.pk])
    rendered = render_digest(
        papers=[paper],
        topics=[topic],
        digest_date=DAY,
        frequency="daily",
        web_url=absolute(reverse("digest:edition", args=[edition.slug])),
    )
    edition.subject, edition.preheader, edition.html, edition.text = (
        rendered.subject,
        rendered.preheader,
        rendered.html,
        rendered.text,
    )
    edition.save()
    edition.papers.add(paper)
    return edition


def test_web_copy_shows_the_digest_without_any_personal_link(client):
    edition = rendered_edition(title="Chains of thought, revisited")

    response = client.get(reverse("digest:edition", args=[edition.slug]))

    body = response.content.decode()
    assert response.status_code == 200
    assert "Chains of thought, revisited" in body
    for placeholder in PLACEHOLDERS.values():
        assert placeholder not in body
    assert ">Unsubscribe</a>" not in body
    assert "/unsubscribe/" not in body
    assert "/preferences/" not in body
    assert 'href="http://localhost:8000/">Get your own digest</a>' in body.replace(
        ' style="color: #59636e;"', ""
    )
    assert "web copy of a Paperboy digest" in body


def test_web_copy_does_not_link_to_itself(client):
    edition = rendered_edition()
    own_url = absolute(reverse("digest:edition", args=[edition.slug]))
    assert own_url in edition.html  # the email has "View in browser"

    body = client.get(reverse("digest:edition", args=[edition.slug])).content.decode()

    assert own_url not in body
    assert "View in browser" not in body


def test_readers_copy_keeps_its_personal_links_while_the_web_copy_has_none(client):
    """The web copy is derived on the fly; the stored edition still personalizes for email."""
    edition = rendered_edition()

    client.get(reverse("digest:edition", args=[edition.slug]))
    edition.refresh_from_db()
    mine = personalize(
        edition.html,
        preferences_url="https://x.example/p/1",
        unsubscribe_url="https://x.example/u/1",
        feedback_token="TOKEN",
    )

    assert 'href="https://x.example/u/1"' in mine
    assert 'href="https://x.example/p/1"' in mine
    assert "/feedback/TOKEN/" in mine


def test_hostile_titles_stay_escaped_in_the_web_copy(client):
    edition = rendered_edition(title="<script>alert('x')</script> & \"quotes\"")

    body = client.get(reverse("digest:edition", args=[edition.slug])).content.decode()

    assert "<script>alert" not in body
    assert "&lt;script&gt;" in body


def test_any_other_non_url_href_is_pointed_at_the_sign_up_page(client):
    edition = Edition.objects.create(
        digest_date=DAY,
        topic_key="1",
        content_key="z" * 64,
        subject="Hand-made",
        html='<html><body><a href="{{ unknown_personal_link }}">Manage</a>'
        '<a href="https://arxiv.org/abs/2501.00001">Paper</a></body></html>',
        text="x",
    )

    body = client.get(reverse("digest:edition", args=[edition.slug])).content.decode()

    assert "unknown_personal_link" not in body
    assert '<a href="http://localhost:8000/">Manage</a>' in body
    assert 'href="https://arxiv.org/abs/2501.00001"' in body


def test_edition_web_copy_is_cacheable_and_kept_out_of_search_engines(client):
    edition = rendered_edition()

    response = client.get(reverse("digest:edition", args=[edition.slug]))

    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert "public" in response["Cache-Control"]


def test_edition_url_is_random_and_unknown_slug_is_404(client):
    first = rendered_edition()
    second = Edition.objects.create(
        digest_date=DAY, topic_key="1", content_key="y" * 64, subject="s", html="h", text="t"
    )

    assert first.slug != second.slug
    assert len(first.slug) >= 20
    assert client.get(reverse("digest:edition", args=["not-a-real-edition"])).status_code == 404


def test_edition_web_copy_refuses_post(client):
    edition = rendered_edition()

    assert client.post(reverse("digest:edition", args=[edition.slug])).status_code == 405
