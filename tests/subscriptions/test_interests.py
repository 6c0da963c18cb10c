"""A reader's own keywords, followed authors and excluded words: parsing, limits, the
preference center and sign-up forms, the planning profile, export and delete."""

from __future__ import annotations

import pytest
from django.urls import reverse

from digest.models import Delivery, Edition, Feedback
from digest.readers.feedback import record_feedback
from subscriptions.interests import (
    MAX_PHRASE_CHARS,
    MAX_PHRASES,
    InterestError,
    Interests,
    author_key,
    split_phrases,
    with_profile,
)
from subscriptions.models import Subscriber
from subscriptions.services import export_data, set_interests
from subscriptions.tokens import Purpose, make_token
from tests.factories import PaperFactory, SubscriberFactory, TopicFactory


def test_phrases_are_split_by_line_and_comma_trimmed_and_deduplicated():
    assert split_phrases("KV cache\n  sparse   attention ,kv CACHE;;\n\n") == ["KV cache", "sparse attention"]
    assert split_phrases("") == []


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("keywords", "\n".join(f"k{n}" for n in range(MAX_PHRASES + 1)), "At most 20 keywords"),
        ("keywords", "x" * (MAX_PHRASE_CHARS + 1), "longer than 100 characters"),
        ("keywords", "***", "cannot be matched as a keyword"),
        ("keywords", "a*b", "cannot be matched as a keyword"),
        ("authors", "Ada <script>", "cannot be matched as an author"),
        ("exclude_words", "%%%", "cannot be matched as a word to leave out"),
    ],
)
def test_out_of_bounds_lists_are_refused_with_a_clear_message(kind, text, message):
    with pytest.raises(InterestError, match=message):
        Interests.parse(**{kind: text})


def test_keywords_may_end_with_a_star_and_names_keep_accents():
    interests = Interests.parse(keywords="protein*\nKV-cache", authors="Émilie du Châtelet\nG. Hinton")
    assert interests.keywords == ("protein*", "KV-cache")
    assert interests.authors == ("Émilie du Châtelet", "G. Hinton")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Geoffrey Hinton", "G. Hinton"),
        ("geoffrey e. hinton", "Geoffrey Hinton"),
        ("Émilie Châtelet", "E Chatelet"),
    ],
)
def test_author_names_match_across_case_accents_and_initials(a, b):
    assert author_key(a) == author_key(b)
    assert author_key("Geoffrey Hinton") != author_key("Geoffrey Everest")


def test_the_profile_keeps_each_part_and_is_none_when_empty():
    profile = with_profile(None, keywords=["a"], more=[3])
    assert profile == {"keywords": ["a"], "more": [3]}
    assert with_profile(profile, keywords=[]) == {"more": [3]}
    assert with_profile(profile, keywords=[], more=[]) is None
    with pytest.raises(ValueError, match="unknown profile part"):
        with_profile(None, topics=[1])


# --- the preference center and the sign-up form --------------------------------------


def prefs_url(reader: Subscriber) -> str:
    return reverse("subscriptions:preferences", args=[make_token(reader, Purpose.MANAGE)])


def prefs_post(**extra):
    return {"frequency": "daily", "delivery_hour": "7", "timezone": "UTC", "papers_per_email": "10", **extra}


@pytest.mark.django_db
def test_the_preference_center_saves_interests_and_topics_become_optional(client):
    topic = TopicFactory()
    reader = SubscriberFactory(topics=[topic])
    response = client.post(
        prefs_url(reader),
        prefs_post(keywords="KV cache, sparse attention", authors="Hedy Lamarr", exclude_words="quantum"),
    )
    assert response.status_code == 302
    reader.refresh_from_db()
    assert (reader.keywords, reader.authors, reader.exclude_words) == (
        ["KV cache", "sparse attention"],
        ["Hedy Lamarr"],
        ["quantum"],
    )
    assert reader.topic_key == ""
    assert reader.profile == {
        "keywords": ["KV cache", "sparse attention"],
        "authors": ["Hedy Lamarr"],
        "exclude_words": ["quantum"],
    }
    page = client.get(prefs_url(reader)).content.decode()
    assert "KV cache\nsparse attention" in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "Choose at least one topic, or follow a keyword or an author."),
        ({"exclude_words": "quantum"}, "Choose at least one topic, or follow a keyword or an author."),
        ({"keywords": "\n".join(f"k{n}" for n in range(21))}, "At most 20 keywords"),
        ({"authors": "x" * 101}, "longer than 100 characters"),
    ],
)
def test_bad_interests_get_a_clear_error_and_change_nothing(client, fields, message):
    reader = SubscriberFactory(topics=[TopicFactory()])
    before = Subscriber.objects.values().get()
    response = client.post(prefs_url(reader), prefs_post(**fields))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Subscriber.objects.values().get() == before


@pytest.mark.django_db
def test_sign_up_with_keywords_and_no_topic(client):
    response = client.post(
        reverse("subscriptions:signup"),
        {"email": "kw@example.com", **prefs_post(keywords="diffusion distillation")},
    )
    assert response.status_code == 302
    reader = Subscriber.objects.get(email="kw@example.com")
    assert reader.keywords == ["diffusion distillation"]
    assert reader.topic_key == ""
    assert reader.status == Subscriber.Status.PENDING


# --- privacy ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_interests_feedback_and_deliveries_are_in_the_export_and_gone_after_delete(client):
    reader = SubscriberFactory(topics=[TopicFactory()])
    set_interests(subscriber=reader, interests=Interests(keywords=("KV cache",), authors=("Hedy Lamarr",)))
    paper = PaperFactory(title="A paper I liked")
    record_feedback(subscriber=reader, paper=paper, value=Feedback.Value.MORE)
    edition = Edition.objects.create(
        digest_date=paper.listed_on, topic_key="", content_key="k" * 64, subject="My digest", html="", text=""
    )
    Delivery.objects.create(subscriber=reader, digest_date=paper.listed_on, edition=edition, status="sent")

    data = export_data(subscriber=reader)
    assert data["interests"] == {"keywords": ["KV cache"], "authors": ["Hedy Lamarr"], "exclude_words": []}
    assert data["feedback"][0]["title"] == "A paper I liked"
    assert data["feedback"][0]["choice"] == "more like this"
    assert data["deliveries"][0]["subject"] == "My digest"

    token = make_token(reader, Purpose.MANAGE)
    client.post(reverse("subscriptions:delete", args=[token]), {"confirm": "on"})
    assert not Subscriber.objects.exists()
    assert not Feedback.objects.exists()
    assert not Delivery.objects.exists()
