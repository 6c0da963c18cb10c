"""Render a digest email once per edition; personal links are filled in per recipient.

The rendered HTML and text hold the placeholders in PLACEHOLDERS where a reader's
own links go (preferences, unsubscribe). `personalize` swaps them for one reader's
URLs with a plain str.replace, cheap enough for a million recipients; batch sends
swap them for the ESP's merge fields instead (`merge_fields`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse

from digest.models import Paper, PaperTopic
from subscriptions.links import absolute
from subscriptions.messages import render_parts
from subscriptions.models import Topic

PLACEHOLDERS = {
    "preferences_url": "%%PAPERBOY_PREFERENCES_URL%%",
    "unsubscribe_url": "%%PAPERBOY_UNSUBSCRIBE_URL%%",
}
TEMPLATE = "digest/email/digest"
MAX_AUTHORS = 3
SUMMARY_CHARS = 320
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")


@dataclass
class PaperCard:
    """What the email shows for one paper (all text is escaped by the templates)."""

    title: str
    url: str
    authors: str
    summary: str
    upvotes: int
    comments: int
    chips: list[str]
    abstract_url: str
    pdf_url: str
    code_url: str
    project_url: str
    editor_note: str
    pinned: bool


@dataclass
class RenderedDigest:
    subject: str
    preheader: str
    html: str
    text: str
    paper_ids: list[int] = field(default_factory=list)


def short_authors(authors: Sequence[object]) -> str:
    """First authors, then "et al." — "A, B, C et al."."""
    names = [str(a.get("name", "")) if isinstance(a, dict) else str(a) for a in authors or []]
    names = [n.strip() for n in names if n and n.strip()]
    if len(names) > MAX_AUTHORS:
        return ", ".join(names[:MAX_AUTHORS]) + " et al."
    return ", ".join(names)


def summarize(paper: Paper) -> str:
    """The HF one-line summary, else the abstract's first one or two sentences."""
    text = " ".join((paper.ai_summary or "").split())
    if not text:
        sentences = _SENTENCE_END.split(" ".join((paper.abstract or "").split()))
        text = sentences[0] if sentences else ""
        if len(sentences) > 1 and len(text) + len(sentences[1]) < SUMMARY_CHARS:
            text = f"{text} {sentences[1]}"
    if len(text) > SUMMARY_CHARS:
        text = text[: SUMMARY_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return text


def one_line(value: str, limit: int) -> str:
    """Collapse whitespace (no CR/LF reaches a header) and cut to `limit` characters."""
    value = " ".join(str(value).split())
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def paper_card(paper: Paper, chips: Sequence[str], digest_date: dt.date) -> PaperCard:
    abstract_url = paper.abstract_url
    return PaperCard(
        title=" ".join(paper.title.split()),
        url=abstract_url or paper.project_page or absolute(f"/papers/{paper.paper_id}/"),
        authors=short_authors(paper.authors),
        summary=summarize(paper),
        upvotes=paper.upvotes,
        comments=paper.comments,
        chips=list(chips),
        abstract_url=abstract_url,
        pdf_url=paper.pdf_url,
        code_url=paper.github_repo,
        project_url=paper.project_page,
        editor_note=paper.editor_note.strip(),
        pinned=paper.is_pinned_on(digest_date),
    )


def chips_for(papers: Sequence[Paper], topics: Iterable[Topic]) -> dict[int, list[str]]:
    """Names of `topics` each paper matched (one query)."""
    topic_ids = [t.pk for t in topics if t.pk]
    rows: QuerySet = PaperTopic.objects.filter(
        paper__in=[p.pk for p in papers], topic_id__in=topic_ids, excluded=False
    ).values_list("paper_id", "topic__name")
    chips: dict[int, list[str]] = {}
    for paper_id, name in rows.order_by("topic__position", "topic__name"):
        chips.setdefault(paper_id, []).append(name)
    return chips


def render_digest(
    *,
    papers: Sequence[Paper],
    topics: Sequence[Topic],
    digest_date: dt.date,
    frequency: str,
    chips: Mapping[int, list[str]] | None = None,
    web_url: str = "",
) -> RenderedDigest:
    """Subject, preheader, HTML (CSS inlined) and text for these papers, with placeholders
    for the personal links. Renders templates once; no per-reader work."""
    chips = chips if chips is not None else chips_for(papers, topics)
    cards = [paper_card(p, chips.get(p.pk, []), digest_date) for p in papers]
    topic_names = [t.name for t in topics]
    preheader = one_line(
        f"{len(cards)} trending paper{'s' if len(cards) != 1 else ''} on " + ", ".join(topic_names), 150
    )
    context = {
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "signup_url": absolute(reverse("subscriptions:signup")),
        "papers_url": absolute("/papers/"),
        "cards": cards,
        "topic_names": topic_names,
        "digest_date": digest_date,
        "frequency": frequency,
        "preheader": preheader,
        "web_url": web_url,
        "postal_address": settings.POSTAL_ADDRESS,
        **PLACEHOLDERS,
    }
    subject, text, html = render_parts(TEMPLATE, context)
    return RenderedDigest(
        subject=subject, preheader=preheader, html=html, text=text, paper_ids=[p.pk for p in papers]
    )


def personalize(content: str, *, preferences_url: str, unsubscribe_url: str) -> str:
    """One reader's copy: the placeholders replaced by their own links."""
    return content.replace(PLACEHOLDERS["preferences_url"], preferences_url).replace(
        PLACEHOLDERS["unsubscribe_url"], unsubscribe_url
    )


def merge_fields(content: str) -> str:
    """A batch copy: the placeholders replaced by the ESP's merge fields (DIGEST_MERGE_FIELD)."""
    pattern = settings.DIGEST_MERGE_FIELD
    for name, placeholder in PLACEHOLDERS.items():
        content = content.replace(placeholder, pattern.replace("NAME", name))
    return content
