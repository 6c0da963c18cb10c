"""Personal lists are stored as paper ids and why each paper is there (digest.daily.lists);
their HTML and text are put together from rendered cards when they are sent or viewed, so a
run with many personal readers writes small lists, not one rendered email each.

Each sending process keeps a CardRenderer and the papers it has shown for the day it sends:
a card is rendered once per process, then reused by every personal list that shows it.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from digest.daily.lists import PersonalList
from digest.daily.rendering import (
    CardRenderer,
    PaperCard,
    cards_body,
    merge_values,
    merged_shell,
    render_digest,
)
from digest.models import Paper
from subscriptions.links import absolute

_CARD_FIELDS = (
    "id", "paper_id", "title", "abstract", "authors", "ai_summary", "upvotes", "comments",
    "github_repo", "project_page", "abs_link", "pdf_link", "editor_note", "pinned",
    "pinned_from", "pinned_until", "on_arxiv", "source", "listed_on",
)  # fmt: skip


class _Shelf:
    """This process's renderer and papers for one digest date (a new date starts afresh)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.day: dt.date | None = None
        self.renderer = CardRenderer()
        self.papers: dict[int, Paper] = {}

    def for_day(self, day: dt.date) -> _Shelf:
        if day != self.day:
            self.day, self.renderer, self.papers = day, CardRenderer(), {}
        return self

    def load(self, ids: Iterable[int]) -> None:
        missing = set(ids) - self.papers.keys()
        if missing:
            self.papers.update(Paper.objects.only(*_CARD_FIELDS).in_bulk(missing))


_shelf = _Shelf()


def assemble(items: Iterable[object]) -> None:
    """Fill in the HTML and text of the personal lists among `items` (in memory; nothing is
    written); editions are left as they are."""
    personal = [e for e in items if isinstance(e, PersonalList) and not e.html]
    if not personal:
        return
    with _shelf.lock:
        for _, shelf, todays in _by_day(personal):
            for item in todays:
                _fill(item, shelf)


def _by_day(personal: list[PersonalList]) -> Iterator[tuple[dt.date, _Shelf, list[PersonalList]]]:
    """Per digest day (the caller holds the shelf lock): that day's shelf with these
    lists' papers loaded, and the lists."""
    for day in sorted({e.digest_date for e in personal}):
        shelf = _shelf.for_day(day)
        todays = [e for e in personal if e.digest_date == day]
        shelf.load(pid for e in todays for pid in e.paper_ids)
        yield day, shelf, todays


def _fill(edition: PersonalList, shelf: _Shelf) -> None:
    stored = edition.reasons or {}
    per_paper: Mapping[str, Any] = stored.get("papers") or {}
    papers = [shelf.papers[pid] for pid in edition.paper_ids if pid in shelf.papers]
    rendered = render_digest(
        papers=papers,
        topics=[],
        topic_names=list(stored.get("topics") or []),
        digest_date=edition.digest_date,
        frequency=edition.frequency,
        chips={p.pk: (per_paper.get(str(p.pk)) or {}).get("chips", []) for p in papers},
        why={p.pk: (per_paper.get(str(p.pk)) or {}).get("why", []) for p in papers},
        web_url=edition_url(edition.slug),
        renderer=shelf.renderer,
    )
    edition.html, edition.text = rendered.html, rendered.text


_SLUG_MARK = "paperboy-edition-slug"


def edition_urls() -> Callable[[str], str]:
    """slug → the edition's web address, the URL resolved once (reverse() costs ~20 us a call;
    a batch of personal lists needs one address each). A list's slug holds its own part too
    ("<row slug>/<reader id>-<key>")."""
    head, tail = absolute(reverse("digest:edition", args=[_SLUG_MARK])).split(_SLUG_MARK)
    return lambda slug: f"{head}{slug}{tail}"


def edition_url(slug: str) -> str:
    return edition_urls()(slug)


def load_papers(personal: list[PersonalList]) -> None:
    """Load the papers these personal lists show (one query per day for those this process
    has not loaded yet), so `merged` can then be called batch by batch without a query."""
    with _shelf.lock:
        for _ in _by_day(personal):
            pass


@dataclass(frozen=True)
class PersonalCards:
    """A personal list's cards, joined for each reader with that reader's feedback token in
    their links (one join, no replace pass over the joined cards)."""

    renderer: CardRenderer
    cards: tuple[PaperCard, ...]
    frequency: str

    def merge_data(self, feedback_token: str) -> dict[str, str]:
        """The reader's "cards_html" and "cards" merge values."""
        with _shelf.lock:  # a card seen first here is rendered into the shared renderer
            html, text = cards_body(
                self.renderer, self.cards, frequency=self.frequency, feedback_token=feedback_token
            )
        return {"cards_html": html, "cards": text}


Merged = tuple[tuple[str, str], dict[str, str], PersonalCards]


def merged(lists: Iterable[PersonalList]) -> dict[int, Merged]:
    """For each personal list (by reader id): the batch shell (HTML, text) it shares with every
    personal list of its day and frequency, its own merge data (digest.daily.rendering
    merged_shell / merge_values), and its cards, which each reader gets with their own
    feedback token."""
    personal = list(lists)
    result: dict[int, Merged] = {}
    if not personal:
        return result
    web_url = edition_urls()
    with _shelf.lock:
        for day, shelf, todays in _by_day(personal):
            shells: dict[str, tuple[str, str]] = {}  # per frequency: one shell for the day's lists
            for item in todays:
                shell = shells.get(item.frequency)
                if shell is None:
                    shell = merged_shell(shelf.renderer, digest_date=day, frequency=item.frequency)
                    shells[item.frequency] = shell
                values, cards = _values(item, shelf, web_url(item.slug))
                result[item.reader_id] = (shell, values, cards)
    return result


def _values(edition: PersonalList, shelf: _Shelf, web_url: str) -> tuple[dict[str, str], PersonalCards]:
    stored = edition.reasons or {}
    per_paper: Mapping[str, Any] = stored.get("papers") or {}
    cards = []
    for pid in edition.paper_ids:
        paper = shelf.papers.get(pid)
        if paper is not None:
            parts = per_paper.get(str(pid)) or {}
            cards.append(
                shelf.renderer.card(paper, parts.get("chips", []), edition.digest_date, parts.get("why", []))
            )
    values = merge_values(
        cards=cards,
        subject=edition.subject,
        preheader=edition.preheader,
        topic_names=list(stored.get("topics") or []),
        web_url=web_url,
    )
    return values, PersonalCards(shelf.renderer, tuple(cards), edition.frequency)
