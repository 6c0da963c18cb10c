"""The weekly digest: grouped by topic, a list of its own; the intro line; dark mode."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail

from digest.daily.rendering import OTHER_GROUP, render_digest
from digest.daily.sending import build_digest_message
from tests.factories import PaperFactory, SubscriberFactory
from tests.sent_mail import first_alternative

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 2)


@pytest.fixture
def week():
    """Five papers ranked LLM, Vision, LLM, (no topic), Vision."""
    papers = [PaperFactory(title=f"Paper {n}") for n in range(5)]
    chips = {
        papers[0].pk: ["LLM"],
        papers[1].pk: ["Vision", "LLM"],
        papers[2].pk: ["LLM"],
        papers[3].pk: [],
        papers[4].pk: ["Vision"],
    }
    return papers, chips


def _render(week, frequency):
    papers, chips = week
    return render_digest(
        papers=papers,
        topics=[],
        topic_names=["LLM", "Vision"],
        chips=chips,
        digest_date=DAY,
        frequency=frequency,
    )


def test_a_weekly_digest_is_grouped_by_topic_and_keeps_each_papers_rank(week):
    rendered = _render(week, "weekly")
    text_groups = re.findall(r"^== (.+) ==$", rendered.text, re.M)
    assert text_groups == ["LLM", "Vision", OTHER_GROUP]
    ranked = re.findall(r"^(\d+)\. (Paper \d)", rendered.text, re.M)
    assert ranked == [
        ("1", "Paper 0"),
        ("3", "Paper 2"),
        ("2", "Paper 1"),
        ("5", "Paper 4"),
        ("4", "Paper 3"),
    ]
    headings = re.findall(r'<h2 class="group"[^>]*>([^<]+)</h2>', rendered.html)
    assert headings == ["LLM", "Vision", OTHER_GROUP]
    assert rendered.subject.startswith("Your week in papers: Paper 0")


def test_a_daily_digest_stays_one_ranked_list(week):
    rendered = _render(week, "daily")
    assert "== " not in rendered.text
    assert 'class="group"' not in rendered.html
    assert re.findall(r"^(\d+)\. ", rendered.text, re.M) == ["1", "2", "3", "4", "5"]


def test_the_weekly_digest_is_a_list_of_its_own(week, settings, anymail_backend):
    reader = SubscriberFactory()
    for frequency in ("daily", "weekly"):
        build_digest_message(rendered_or_edition=_render(week, frequency), subscriber=reader).send()
    daily, weekly = mail.outbox
    assert daily.extra_headers["List-Id"] == settings.LIST_ID
    assert weekly.extra_headers["List-Id"] == settings.LIST_ID_WEEKLY != settings.LIST_ID


def test_the_intro_says_what_the_digest_is_and_the_preheader_what_comes_next(week):
    rendered = _render(week, "daily")
    intro = "5 trending papers on LLM, Vision"
    assert rendered.preheader == f"Also: Paper 1 · Paper 2. {intro}"
    assert 'class="intro"' in rendered.html
    assert re.search(rf'class="intro"[^>]*>{re.escape(intro)}\.', rendered.html)
    assert rendered.text.splitlines()[1] == intro


def test_the_footer_rule_follows_dark_mode(week, browser, tmp_path):
    html = first_alternative(
        build_digest_message(rendered_or_edition=_render(week, "daily"), subscriber=SubscriberFactory())
    )
    colours = {}
    for scheme in ("light", "dark"):
        context = browser.new_context(color_scheme=scheme, viewport={"width": 700, "height": 900})
        page = context.new_page()
        page.set_content(html)
        colours[scheme] = page.eval_on_selector(".footer", "e => getComputedStyle(e).borderTopColor")
        page.screenshot(path=str(tmp_path / f"{scheme}.png"), full_page=True)
        context.close()
        assert (tmp_path / f"{scheme}.png").stat().st_size > 10_000
    assert colours == {"light": "rgb(229, 231, 235)", "dark": "rgb(48, 54, 61)"}
