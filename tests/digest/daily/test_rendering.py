"""The digest email: both parts, links, escaping, size budget, what the ESP receives."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail

from digest.daily.rendering import (
    CONTRIBUTION,
    PLACEHOLDERS,
    SENTENCE_END,
    SUMMARY_CHARS,
    CardRenderer,
    cards_body,
    merge_fields,
    personalize,
    render_digest,
    short_authors,
    summarize,
)
from digest.daily.sending import build_digest_message
from digest.models import Paper
from tests.factories import PaperFactory, PaperTopicFactory, SubscriberFactory, TopicFactory
from tests.sent_mail import esp_params, first_alternative

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 2)


@pytest.fixture
def topic():
    return TopicFactory(name="Video generation", slug="video")


def _render(papers, topics, **kwargs):
    return render_digest(papers=papers, topics=topics, digest_date=DAY, frequency="daily", **kwargs)


def test_both_parts_carry_every_paper_with_authors_summary_and_links(topic):
    paper = PaperFactory(
        paper_id="2503.01234",
        title="MotionBooth: Motion-Aware Video",
        authors=["A One", "B Two", "C Three", "D Four"],
        abstract="First sentence here. Second sentence there. Third is long.",
        github_repo="https://github.com/example/motionbooth",
        upvotes=12,
        comments=3,
        editor_note="Worth a look for the camera control.",
    )
    PaperTopicFactory(paper=paper, topic=topic)
    rendered = _render([paper], [topic], web_url="https://paperboy.example/e/abc/")
    assert rendered.subject == "Mar 2: MotionBooth: Motion-Aware Video"
    for part in (rendered.html, rendered.text):
        assert "MotionBooth: Motion-Aware Video" in part
        assert "A One, B Two, C Three et al." in part
        assert "First sentence here. Second sentence there." in part
        assert "Third is long" not in part
        assert "https://arxiv.org/abs/2503.01234" in part
        assert "https://arxiv.org/pdf/2503.01234" in part
        assert "https://github.com/example/motionbooth" in part
        assert "Worth a look for the camera control." in part
        assert "Video generation" in part  # why it matched
        assert "https://paperboy.example/e/abc/" in part
        assert PLACEHOLDERS["unsubscribe_url"] in part
        assert PLACEHOLDERS["preferences_url"] in part
    assert "12 upvotes" in rendered.html
    assert "3 comments" in rendered.html


def test_subject_counts_the_rest_and_preheader_names_the_topics(topic):
    papers = [PaperFactory(title=f"Paper {n}") for n in range(4)]
    rendered = _render(papers, [topic])
    assert rendered.subject == "Mar 2: Paper 0 (+3 more)"
    assert rendered.preheader == "Also: Paper 1 · Paper 2. 4 trending papers on Video generation"
    assert rendered.preheader in rendered.html


LONG = (
    "MotionBooth: Motion-Aware Customized Text-to-Video Generation with Camera Control "
    "and Subject Preservation Across Long Sequences"
)


def test_a_long_lead_title_is_cut_at_a_word_and_the_count_always_shows(topic):
    papers = [PaperFactory(title=LONG)] + [PaperFactory(title=f"Paper {n}") for n in range(9)]
    subject = _render(papers, [topic]).subject
    assert len(subject) <= 70
    assert subject == "Mar 2: MotionBooth: Motion-Aware Customized Text-to-Video… (+9 more)"
    assert _render(papers[:1], [topic]).subject == (
        "Mar 2: MotionBooth: Motion-Aware Customized Text-to-Video Generation…"
    )


@pytest.mark.parametrize("count", [1, 2, 10, 20])
def test_subjects_and_preheaders_fit_the_inbox_whatever_the_titles(topic, count):
    papers = [PaperFactory(title=f"{LONG} {n}") for n in range(count)]
    rendered = _render(papers, [topic])
    assert len(rendered.subject) <= 70
    assert rendered.subject.endswith(f"(+{count - 1} more)" if count > 1 else "…")
    assert len(rendered.preheader) <= 150
    assert rendered.preheader.endswith(
        "trending papers on Video generation" if count > 1 else "on Video generation"
    )


def test_hostile_titles_are_text_not_markup(topic):
    paper = PaperFactory(
        title='<script>alert("x")</script> $_2$ & <b>bold</b>\r\nBcc: evil@example.com',
        editor_note="<img src=x onerror=alert(1)>",
    )
    rendered = _render([paper], [topic])
    assert "<script>" not in rendered.html
    assert "<img src=x" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert "$_2$" in rendered.html
    assert "\n" not in rendered.subject
    assert "\r" not in rendered.subject
    assert '<script>alert("x")</script>' in rendered.text  # plain text shows it as typed


def test_twenty_papers_stay_under_gmails_clipping_size(topic):
    papers = [
        PaperFactory(title="A fairly long title about efficient transformers " * 3, abstract="Word " * 400)
        for _ in range(20)
    ]
    rendered = _render(papers, [topic])
    assert len(rendered.html.encode()) < 100_000


def test_css_is_inlined_and_dark_mode_rules_kept(topic):
    rendered = _render([PaperFactory()], [topic])
    assert 'style="' in rendered.html
    assert "prefers-color-scheme: dark" in rendered.html


def test_short_authors_and_summary_helpers():
    assert short_authors(["A", "B"]) == "A, B"
    assert short_authors([{"name": "A"}, {"name": "B"}, {"name": "C"}, {"name": "D"}]) == "A, B, C et al."
    paper = PaperFactory.build(ai_summary="  One line\nsummary. ", abstract="Ignored.")
    assert summarize(paper) == "One line summary."


def test_personalize_and_merge_fields_replace_every_placeholder(settings):
    content = (
        f"a {PLACEHOLDERS['preferences_url']} b {PLACEHOLDERS['unsubscribe_url']} "
        f"c /feedback/{PLACEHOLDERS['feedback_token']}/7/more/"
    )
    assert personalize(content, preferences_url="P", unsubscribe_url="U", feedback_token="F") == (
        "a P b U c /feedback/F/7/more/"
    )
    settings.DIGEST_MERGE_FIELD = "%recipient.NAME%"
    assert merge_fields(content) == (
        "a %recipient.preferences_url% b %recipient.unsubscribe_url% "
        "c /feedback/%recipient.feedback_token%/7/more/"
    )


def test_message_has_unsubscribe_headers_tags_metadata_and_absolute_links(topic, anymail_backend, settings):
    settings.SITE_URL = "https://paperboy.example"
    settings.DIGEST_FROM_EMAIL = "Digest <digest@paperboy.example>"
    reader = SubscriberFactory(topics=[topic])
    rendered = _render([PaperFactory()], [topic])
    build_digest_message(rendered_or_edition=rendered, subscriber=reader, delivery_id=42).send()
    (sent,) = mail.outbox
    params = esp_params(sent)
    unsubscribe = sent.extra_headers["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://paperboy.example/unsubscribe/")
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "List-Id" in sent.extra_headers
    assert params["tags"] == ["digest"]
    assert params["metadata"] == {"delivery_id": "42"}
    assert sent.from_email == "Digest <digest@paperboy.example>"
    html = first_alternative(sent)
    assert unsubscribe.strip("<>") in html
    assert unsubscribe.strip("<>") in sent.body
    assert "%%PAPERBOY" not in html
    assert "%%PAPERBOY" not in sent.body
    assert 'href="/' not in html  # every link absolute


def test_the_tldr_skips_background_for_the_contribution_sentence():
    paper = Paper(
        title="T",
        abstract=(
            "The rapid progress in AIGC has significantly advanced image generation. "
            "Yet control remains hard. To address this, we propose FooNet, a controllable generator. "
            "It beats prior work on three benchmarks. Code is released."
        ),
    )
    assert summarize(paper) == (
        "To address this, we propose FooNet, a controllable generator. "
        "It beats prior work on three benchmarks."
    )
    paper.ai_summary = "FooNet makes image generation controllable."
    assert summarize(paper) == "FooNet makes image generation controllable."  # Hugging Face's own wins


def test_no_seed_summary_starts_with_background_when_the_abstract_states_a_contribution():
    from digest.catalog.seeds import read_pages

    papers = [p for page in read_pages(Path(settings.BASE_DIR) / "seeds" / "pages").values() for p in page]
    assert len(papers) > 200
    with_contribution = 0
    for seed in papers:
        sentences = SENTENCE_END.split(" ".join(seed.abstract.split()))
        stated = [s for s in sentences if CONTRIBUTION.search(s)]
        summary = summarize(Paper(title=seed.title, abstract=seed.abstract))
        assert len(summary) <= SUMMARY_CHARS
        if stated:
            with_contribution += 1
            assert summary.startswith(stated[0][:60].rstrip("…")), seed.title
    assert with_contribution >= 200  # nearly every seed abstract says what it contributes


def test_a_paper_without_an_arxiv_id_links_to_title_searches_and_shows_no_empty_counts(topic):
    paper = PaperFactory(
        paper_id="seed-7f3a", title="Seed Paper: Alignment & Decoding", upvotes=0, comments=0
    )
    rendered = _render([paper], [topic])
    arxiv = "https://arxiv.org/search/?query=Seed+Paper%3A+Alignment+%26+Decoding&amp;searchtype=title"
    hugging_face = "https://huggingface.co/papers?q=Seed+Paper%3A+Alignment+%26+Decoding"
    assert arxiv in rendered.html
    assert hugging_face in rendered.html
    assert arxiv.replace("&amp;", "&") in rendered.text
    for part in (rendered.html, rendered.text):
        assert "New" not in part
        assert "▲ 0" not in part
        assert "&#9650; 0" not in part
        assert "0 comments" not in part


def test_a_paper_on_arxiv_gets_its_own_links_and_no_searches(topic):
    paper = PaperFactory(paper_id="2503.01234", upvotes=5, comments=0)
    rendered = _render([paper], [topic])
    assert "https://arxiv.org/abs/2503.01234" in rendered.html
    assert "arxiv.org/search" not in rendered.html
    assert "huggingface.co/papers?q=" not in rendered.html
    assert "5 upvotes" in rendered.html
    assert "0 comments" not in rendered.html
    assert "5 upvotes\n" in rendered.text


@pytest.mark.parametrize("frequency", ["daily", "weekly"])
def test_a_readers_cards_are_the_cards_filled_in_place_with_their_token(frequency):
    """cards_body fills the reader's token into each card's slots: the same text as the
    shared cards (placeholder kept) with the placeholder replaced, grouped weekly or not."""
    papers = [PaperFactory(title=f"Paper {n}", upvotes=50 - n) for n in range(6)]
    renderer = CardRenderer()
    cards = [
        renderer.card(
            p,
            chips=["Video generation"] if n % 2 else ["Speech"],
            digest_date=DAY,
            why=["you follow Hedy Lamarr"] if n % 3 == 0 else [],
        )
        for n, p in enumerate(papers)
    ]
    token = "abc123:reader-token"
    placeholder = PLACEHOLDERS["feedback_token"]

    shared = cards_body(renderer, cards, frequency=frequency)
    assert placeholder in shared[0]
    assert placeholder in shared[1]
    expected = tuple(part.replace(placeholder, token) for part in shared)
    assert cards_body(renderer, cards, frequency=frequency, feedback_token=token) == expected
    assert token in expected[0]
    assert token in expected[1]
    assert placeholder not in expected[0] + expected[1]
    if frequency == "weekly":
        assert "== Video generation ==" in expected[1]
    other = cards_body(renderer, cards, frequency=frequency, feedback_token="other:token")
    assert other == tuple(part.replace(token, "other:token") for part in expected)
