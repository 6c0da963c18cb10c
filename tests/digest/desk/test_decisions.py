"""Editors teach matching: confirm / reject a paper's match from the paper and from a topic's
preview; verdicts are kept through re-matching and the model learns from them."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.urls import reverse

from digest.catalog.learning import current_model, ensure_trained
from digest.catalog.matching import rematch_papers
from digest.models import MatchingModel, PaperTopic
from tests.digest.catalog.labelled import PAPERS, SPEECH, write_set
from tests.factories import PaperFactory, TopicFactory

pytestmark = pytest.mark.django_db

SPEECH_RULES = {"terms": ["speech recognition", "vocoder*"], "weak_terms": ["speech", "voice", "audio"]}


@pytest.fixture
def editor(client):
    user = get_user_model().objects.create_superuser("editor", "editor@example.com", "pw")
    client.force_login(user)
    return user


@pytest.fixture
def speech(settings, tmp_path):
    settings.MATCHING_LABELLED_SET = write_set(tmp_path / "labelled.jsonl")
    topic = TopicFactory(name="Speech", slug=SPEECH, **SPEECH_RULES)
    ensure_trained()
    return topic


def test_the_paper_page_lists_matches_and_close_calls_with_verdict_buttons(client, editor, speech):
    paper = PaperFactory(title="Speech recognition for children", abstract="Spoken audio, transcribed.")
    rematch_papers()
    response = client.get(reverse("admin:digest_paper_change", args=[paper.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Topic matching" in html
    assert f'name="verdict" value="confirm:{speech.pk}"' in html
    assert f'name="verdict" value="reject:{speech.pk}"' in html
    assert reverse("admin:digest_paper_decide", args=[paper.pk]) in html


def test_rejecting_a_match_is_kept_through_rematching_logged_and_learned(
    client, editor, speech, django_capture_on_commit_callbacks
):
    paper = PaperFactory(title="Speech recognition for children", abstract="Spoken audio, transcribed.")
    rematch_papers()
    assert PaperTopic.objects.get(paper=paper, topic=speech).manual is False
    models_before = MatchingModel.objects.count()
    url = reverse("admin:digest_paper_decide", args=[paper.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"verdict": f"reject:{speech.pk}"})

    assert response.status_code == 302
    row = PaperTopic.objects.get(paper=paper, topic=speech)
    assert (row.manual, row.excluded, row.reason) == (True, True, "rejected by editor")
    assert MatchingModel.objects.count() == models_before + 1  # retrained with the decision
    assert paper.paper_id in (current_model() or pytest.fail("no model")).oof[SPEECH]
    rematch_papers()
    assert PaperTopic.objects.get(paper=paper, topic=speech).excluded  # never overwritten
    assert LogEntry.objects.filter(object_id=str(paper.pk), change_message__contains="rejected").exists()


def test_confirming_a_close_call_adds_the_topic_and_undo_gives_it_back_to_matching(
    client, editor, speech, django_capture_on_commit_callbacks
):
    paper = PaperFactory(title="Graph neural networks for molecules", abstract="Atoms and bonds.")
    rematch_papers()
    assert not PaperTopic.objects.filter(paper=paper).exists()
    url = reverse("admin:digest_paper_decide", args=[paper.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"verdict": f"confirm:{speech.pk}"})
    row = PaperTopic.objects.get(paper=paper, topic=speech)
    assert (row.manual, row.excluded) == (True, False)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"verdict": f"undo:{speech.pk}"})
    assert not PaperTopic.objects.filter(paper=paper, topic=speech).exists()


@pytest.mark.parametrize("verdict", ["", "maybe:1", "confirm:", "confirm:99999", "confirm:1:2", "x" * 500])
def test_a_bad_verdict_changes_nothing(client, editor, speech, verdict):
    paper = PaperFactory(title="Speech recognition", abstract="")
    rematch_papers()
    before = list(PaperTopic.objects.values())
    response = client.post(reverse("admin:digest_paper_decide", args=[paper.pk]), {"verdict": verdict})
    assert response.status_code == 302
    assert list(PaperTopic.objects.values()) == before
    follow = client.get(response["Location"])
    assert "not understood" in follow.content.decode()


def test_a_verdict_needs_post_and_a_change_permission(client, speech):
    paper = PaperFactory(title="Speech recognition", abstract="")
    url = reverse("admin:digest_paper_decide", args=[paper.pk])
    viewer = get_user_model().objects.create_user("viewer", "v@example.com", "pw", is_staff=True)
    client.force_login(viewer)
    assert client.post(url, {"verdict": f"confirm:{speech.pk}"}).status_code == 403
    assert not PaperTopic.objects.filter(manual=True).exists()
    admin = get_user_model().objects.create_superuser("boss", "b@example.com", "pw")
    client.force_login(admin)
    assert client.get(url).status_code == 302  # a GET (a link scanner) changes nothing
    assert not PaperTopic.objects.filter(manual=True).exists()
    assert client.post(url, {"verdict": "confirm:1", "next": "https://evil.example/"})["Location"] == (
        reverse("admin:digest_paper_change", args=[paper.pk])
    )


def _preview_post(topic, **extra):
    return {
        "name": topic.name,
        "slug": topic.slug,
        "description": "",
        "terms": "\n".join(topic.terms),
        "weak_terms": "\n".join(topic.weak_terms),
        "exclude_terms": "",
        "categories": "",
        "hf_keywords": "",
        "is_active": "on",
        "position": "0",
        **extra,
    }


def test_the_topic_preview_shows_the_evaluation_figures_before_and_after(client, editor, settings, tmp_path):
    settings.MATCHING_LABELLED_SET = write_set(tmp_path / "labelled.jsonl", heldout=True)
    topic = TopicFactory(name="Speech", slug=SPEECH, **SPEECH_RULES)
    ensure_trained()
    url = reverse("admin:subscriptions_topic_change", args=[topic.pk])
    response = client.post(url, _preview_post(topic, terms="graph neural network", _preview="1"))
    figures = response.context["figures"]
    assert figures.papers == len(PAPERS) // 6
    assert figures.positives == sum(1 for n, row in enumerate(PAPERS) if n % 6 == 5 and row[2])
    assert figures.now.tp + figures.now.fn == figures.positives
    assert "On the evaluation set's held-out papers" in response.content.decode()
    topic.refresh_from_db()
    assert topic.terms == SPEECH_RULES["terms"]  # a preview saves nothing


def test_a_topic_the_set_does_not_label_says_so_in_the_preview(client, editor, speech):
    other = TopicFactory(name="Robots", slug="robots", terms=["robot*"])
    url = reverse("admin:subscriptions_topic_change", args=[other.pk])
    response = client.post(url, _preview_post(other, _preview="1"))
    assert response.context["figures"] is None
    assert "labels no paper for this topic" in response.content.decode()


def test_a_verdict_from_the_topic_preview_is_kept_and_the_preview_stays_open(
    client, editor, speech, django_capture_on_commit_callbacks
):
    gained = PaperFactory(title="Vocoder design for singing", abstract="Sung audio.")
    url = reverse("admin:subscriptions_topic_change", args=[speech.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url,
            _preview_post(
                speech, terms="speech recognition\nvocoder*\nsinging", _decide=f"reject:{gained.pk}"
            ),
        )
    assert response.status_code == 200
    assert response.context["preview"] is not None
    row = PaperTopic.objects.get(paper=gained, topic=speech)
    assert (row.manual, row.excluded) == (True, True)
    speech.refresh_from_db()
    assert "singing" not in speech.terms  # the edited rules are still only previewed
    assert "The matcher learns from it" in response.content.decode()
