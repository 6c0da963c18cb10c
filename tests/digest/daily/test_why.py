"""Why a paper is in a topic's digest, from its stored match, in the email."""

from __future__ import annotations

import datetime as dt

import pytest

from digest.daily.rendering import render_digest
from digest.daily.why import topic_why
from tests.factories import PaperFactory, PaperTopicFactory, TopicFactory


@pytest.mark.parametrize(
    ("reason", "manual", "said"),
    [
        (
            'learned 1.00, abstract "text-to-video", title "video generation", title "video*" (weak)',
            False,
            "Video: “video generation” in the title",
        ),
        (
            'abstract "video diffusion" x2, abstract "video*" (weak)',
            False,
            "Video: “video diffusion” in the abstract",
        ),
        (
            'title "customized" (weak), abstract "subject" x8 (weak)',
            False,
            "Video: “customized” in the title",
        ),
        (
            'abstract "customization + diffusion"',
            False,
            "Video: “customization and diffusion” in the abstract",
        ),
        ('keyword "text-to-video", category cs.CV', False, "Video: “text-to-video” among its keywords"),
        ("category cs.CV", False, "Video: listed in arXiv's cs.CV"),
        ("learned 0.93", False, "Video: like the papers filed there"),
        ('title "video generation"', True, "Video: filed there by an editor"),
    ],
)
def test_the_strongest_evidence_a_reader_can_check_is_said(reason, manual, said):
    assert topic_why("Video", reason, manual=manual) == said


@pytest.mark.django_db
def test_each_card_of_a_topic_digest_says_why_it_is_there():
    video, speech = TopicFactory(name="Video", slug="video"), TopicFactory(name="Speech", slug="speech")
    paper = PaperFactory(title="A text-to-video model that also talks")
    PaperTopicFactory(paper=paper, topic=video, reason='title "text-to-video", abstract "video*" (weak)')
    PaperTopicFactory(paper=paper, topic=speech, reason='abstract "speech synthesis" x2')
    rendered = render_digest(
        papers=[paper], topics=[video, speech], digest_date=dt.date(2026, 3, 2), frequency="daily"
    )
    line = "Why: Speech: “speech synthesis” in the abstract; Video: “text-to-video” in the title"
    assert line in rendered.text
    assert line in rendered.html.replace("&#8220;", "“").replace("&#8221;", "”")
