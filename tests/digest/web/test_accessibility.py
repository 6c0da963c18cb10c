"""axe-core (npm, pinned in package-lock.json) in chromium: the public pages, the
preference center and the digest email have no serious or critical violations."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.utils import timezone

from digest.daily.rendering import render_digest
from digest.daily.sending import build_digest_message
from subscriptions.links import preferences_url
from tests.factories import PaperFactory, PaperTopicFactory, SubscriberFactory, TopicFactory
from tests.sent_mail import first_alternative

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[3] / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = {"serious", "critical"}


@pytest.fixture
def site(live_server, settings):
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run `make test` (npm ci) or `npm ci`")
    settings.SITE_URL = live_server.url
    topic = TopicFactory(name="Video generation", slug="video")
    papers = []
    for n in range(3):
        paper = PaperFactory(
            title=f"A paper on video generation number {n}",
            listed_on=timezone.now().date(),
            upvotes=10 - n,
            comments=n,
        )
        PaperTopicFactory(paper=paper, topic=topic, reason='title "video generation"')
        papers.append(paper)
    reader = SubscriberFactory(topics=[topic])
    return live_server.url, papers, reader, topic


def _violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"
    )
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at {v['nodes']}" for v in found if v["impact"] in SERIOUS
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_public_pages_and_the_preference_center_pass_axe(browser, site, scheme):
    base, papers, reader, _ = site
    paths = [
        "/",
        "/papers/",
        f"/papers/{papers[0].paper_id}/",
        "/papers/?q=video",
        urlparse(preferences_url(reader)).path,
    ]
    context = browser.new_context(color_scheme=scheme)
    page = context.new_page()
    try:
        for path in paths:
            page.goto(base + path)
            assert _violations(page) == [], path
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_digest_email_passes_axe(browser, site, scheme):
    _, papers, reader, topic = site
    rendered = render_digest(papers=papers, topics=[topic], digest_date=dt.date.today(), frequency="daily")
    html = first_alternative(build_digest_message(rendered_or_edition=rendered, subscriber=reader))
    context = browser.new_context(color_scheme=scheme)
    page = context.new_page()
    try:
        page.set_content(html)
        assert _violations(page) == []
    finally:
        context.close()
