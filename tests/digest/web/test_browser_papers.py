"""The public papers pages in headless chromium against a live server: browse today's
papers, filter by a topic, follow a paper. Saves docs/papers.png and docs/paper-detail.png."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.utils import timezone

from digest.models import Delivery, Edition
from tests.factories import DeliveryFactory, PaperFactory, PaperTopicFactory, TopicFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCS = Path(__file__).resolve().parents[3] / "docs"

PAPERS = [
    (
        "Scaling Test-Time Compute for Long-Horizon Reasoning Agents",
        ["Mei Chen", "Arjun Patel", "Sofia Rossi", "Tomás Díaz"],
        "Agents that plan, verify and backtrack with a learned value model beat larger models "
        "on math and coding benchmarks at the same compute.",
        412,
        31,
        ["reasoning", "llm"],
        "https://github.com/example/long-horizon",
    ),
    (
        "FlashVideo: One-Step Video Diffusion with Consistency Distillation",
        ["Hana Suzuki", "Luca Bianchi"],
        "Distils a 50-step video diffusion model into a single step with little loss in quality, "
        "making 5-second clips in under a second.",
        298,
        12,
        ["video", "diffusion"],
        "https://github.com/example/flashvideo",
    ),
    (
        "KV-Compress: Serving 1M-Token Contexts on a Single GPU",
        ["Omar Haddad", "Julia Novak", "Wei Zhang"],
        "Evicts and quantises the key-value cache per head, keeping 97% accuracy at an eighth of the memory.",
        256,
        9,
        ["llm"],
        "",
    ),
    (
        "Whisper-Flow: Streaming Speech Recognition with Latency Under 100 ms",
        ["Priya Nair", "Jonas Berg"],
        "A causal encoder and chunked decoding give real-time transcripts that match offline accuracy.",
        143,
        4,
        ["speech"],
        "https://github.com/example/whisper-flow",
    ),
    (
        "Self-Rewarding Alignment Without Human Preference Labels",
        ["Daniel Okafor", "Emma Lindqvist", "Kenji Watanabe", "Ana Souza", "Li Wei"],
        "The model judges its own answers with a rubric it refines each round, "
        "closing most of the gap to RLHF.",
        121,
        17,
        ["reasoning", "llm"],
        "",
    ),
    (
        "Subject-Driven Image Generation from a Single Reference Photo",
        ["Chloé Martin", "Yusuf Demir"],
        "Adapts a text-to-image model to a new subject from one photo in 30 seconds, "
        "keeping identity and pose control.",
        98,
        3,
        ["diffusion"],
        "https://github.com/example/one-shot-subject",
    ),
]

TOPICS = {
    "reasoning": "Reasoning",
    "llm": "LLM inference efficiency",
    "video": "Video generation",
    "diffusion": "Diffusion models",
    "speech": "Speech and audio",
}


@pytest.fixture
def catalog(live_server, settings):
    settings.SITE_URL = live_server.url
    topics = {
        slug: TopicFactory(name=name, slug=slug, position=n) for n, (slug, name) in enumerate(TOPICS.items())
    }
    today = timezone.now().date()
    papers = []
    for n, (title, authors, summary, upvotes, comments, slugs, repo) in enumerate(PAPERS):
        paper = PaperFactory(
            paper_id=f"2511.{18000 + n:05d}",
            title=title,
            authors=authors,
            ai_summary=summary,
            abstract=f"{summary} We describe the method, the experiments and what remains open. "
            "Code, data and an interactive demo are released with the paper.",
            upvotes=upvotes,
            comments=comments,
            github_repo=repo,
            listed_on=today,
            published_at=None,
            pinned=n == 2,
            editor_note="Practical: the code runs on one consumer GPU." if n == 2 else "",
        )
        for slug in slugs:
            PaperTopicFactory(
                paper=paper, topic=topics[slug], reason=f"term: {TOPICS[slug].split()[0].lower()}"
            )
        papers.append(paper)
    edition = Edition.objects.create(
        digest_date=today,
        topic_key="1,2",
        content_key="b" * 64,
        subject=f"Your papers for {today:%A}: {PAPERS[0][0]}",
        html="<html><body>digest</body></html>",
        text="digest",
    )
    edition.papers.add(papers[0], papers[2])
    for _ in range(3):
        DeliveryFactory(edition=edition, status=Delivery.Status.SENT)
    return live_server.url, papers


def test_reader_browses_papers_filters_by_topic_and_opens_a_paper(page, catalog):
    base, papers = catalog
    host = urlparse(base).netloc
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    page.goto(base + "/papers/")
    page.get_by_role("heading", level=1, name="Trending papers").wait_for()
    titles = page.locator(".paper-title").all_inner_texts()
    assert titles[0] == PAPERS[2][0]  # the editor's pick comes first
    assert titles[1:3] == [PAPERS[0][0], PAPERS[1][0]]
    assert page.locator('link[rel="alternate"][type="application/rss+xml"]').count() == 1
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "papers.png"), full_page=True)

    page.get_by_label("Topic", exact=True).select_option(label="Speech and audio")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/papers/?topic=speech")
    assert page.locator(".paper-title").all_inner_texts() == [PAPERS[3][0]]
    assert page.locator('link[href="/feeds/speech.atom"]').count() == 1

    page.get_by_role("link", name=PAPERS[3][0]).click()
    page.wait_for_url(f"**/papers/{papers[3].paper_id}/")
    assert page.get_by_role("heading", level=1).inner_text() == PAPERS[3][0]
    assert "Not sent in a digest yet." in page.inner_text("main")

    page.goto(f"{base}/papers/{papers[0].paper_id}/")
    assert "to 3 readers" in page.inner_text("main")
    assert page.get_by_role("link", name="Reasoning", exact=True).count() == 1
    page.screenshot(path=str(DOCS / "paper-detail.png"), full_page=True)

    assert requests
    assert all(urlparse(url).netloc == host for url in requests), "no external CDN or font"


def test_papers_page_fits_a_phone_screen(browser, catalog):
    base, _papers = catalog
    context = browser.new_context(viewport={"width": 375, "height": 740}, device_scale_factor=2)
    page = context.new_page()
    try:
        page.goto(base + "/papers/")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        assert page.get_by_role("link", name="Subscribe").first.is_visible()
    finally:
        context.close()


def test_reader_searches_from_the_header_and_narrows_to_a_topic(page, catalog):
    base, _ = catalog
    page.goto(base + "/")
    box = page.get_by_role("searchbox", name="Search papers")
    box.fill("streaming speech")
    box.press("Enter")
    page.wait_for_url("**/papers/?q=streaming+speech")
    assert page.get_by_role("heading", level=1).inner_text() == "Papers matching “streaming speech”"
    assert page.locator(".paper-title").all_inner_texts() == [PAPERS[3][0]]
    assert page.get_by_role("searchbox", name="Search papers").input_value() == "streaming speech"

    page.get_by_role("searchbox", name="Search papers").fill("method")
    page.get_by_role("button", name="Search").click()
    page.get_by_label("Topic", exact=True).select_option(label="Speech and audio")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/papers/?q=method&topic=speech")
    assert page.locator(".paper-title").all_inner_texts() == [PAPERS[3][0]]
