"""Render a digest email once per edition; personal links are filled in per recipient.

An email is a shell (header, footer, CSS inlined) around paper cards. A card is
rendered and inlined once per (paper, chips, rank) by a `CardRenderer`, which the
daily run shares across every edition it builds, so an edition costs a shell
render plus string joins, not a full template render.

The rendered HTML and text hold the placeholders in PLACEHOLDERS where a reader's
own links go (preferences, unsubscribe). `personalize` swaps them for one reader's
URLs with a plain str.replace, cheap enough for a million recipients; batch sends
swap them for the ESP's merge fields instead (`merge_fields`).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from html import escape as html_escape
from urllib.parse import urlencode

import css_inline
from django.conf import settings
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.dateformat import format as date_format
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from digest.daily.why import topic_why
from digest.models import Paper, PaperTopic
from subscriptions.links import absolute
from subscriptions.messages import inline_css
from subscriptions.models import Topic

PLACEHOLDERS = {
    "preferences_url": "%%PAPERBOY_PREFERENCES_URL%%",
    "unsubscribe_url": "%%PAPERBOY_UNSUBSCRIBE_URL%%",
    # Inside every card's "more / less like this" links (digest.web.feedback).
    "feedback_token": "%%PAPERBOY_FEEDBACK_TOKEN%%",
}
_WHY = "%%PAPERBOY_WHY%%"
_CHIPS = "%%PAPERBOY_CHIPS%%"
_TOKEN_MARK = "PAPERBOYFEEDBACKTOKEN"  # noqa: S105 - a marker swapped for the placeholder
TEMPLATE = "digest/email/digest"
CARD_TEMPLATE = "digest/email/_card"
STYLESHEET = "digest/email/digest.css"
_RANK = "%%PAPERBOY_RANK%%"
_TOKEN = PLACEHOLDERS["feedback_token"]
_SHELL_MARK = re.compile(r"%%PAPERBOY_SHELL_(\w+)%%")


def _mark(name: str) -> str:
    return f"%%PAPERBOY_SHELL_{name}%%"


MAX_AUTHORS = 3
SUMMARY_CHARS = 320
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
# A sentence that says what the paper contributes ("we propose", "this paper introduces"…),
# as opposed to background ("X has become a critical step…").
CONTRIBUTION = re.compile(
    r"\b(?:we|our (?:method|approach|model|framework|work|results?)|this (?:paper|work|study|report)"
    r"|here)\b[^.!?]{0,60}?\b(?:propos|introduc|present|develop|design|show|demonstrat|find|found"
    r"|releas|build|buil[td]|construct|curat|formulat|establish|achiev|outperform|report|describ"
    r"|offer|provid|leverag|train|extend|study|investigat|analy[sz]|explor|reveal|prove)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PaperCard:
    """What the email shows for one paper (all text is escaped by the templates)."""

    title: str
    url: str
    authors: str
    summary: str
    upvotes: int
    comments: int
    chips: tuple[str, ...]
    abstract_url: str
    pdf_url: str
    code_url: str
    project_url: str
    editor_note: str
    pinned: bool
    why: tuple[str, ...] = ()
    more_url: str = ""
    less_url: str = ""
    similar_url: str = ""
    paper_pk: int = 0
    # For a paper without an arXiv id or abstract link: searches for its title.
    arxiv_search_url: str = ""
    hf_search_url: str = ""


@dataclass
class RenderedDigest:
    subject: str
    preheader: str
    html: str
    text: str
    paper_ids: list[int] = field(default_factory=list)
    frequency: str = "daily"


def short_authors(authors: Sequence[object]) -> str:
    """First authors, then "et al." — "A, B, C et al."."""
    names = [str(a.get("name", "")) if isinstance(a, dict) else str(a) for a in authors or []]
    names = [n.strip() for n in names if n and n.strip()]
    if len(names) > MAX_AUTHORS:
        return ", ".join(names[:MAX_AUTHORS]) + " et al."
    return ", ".join(names)


def contribution_start(sentences: Sequence[str]) -> int:
    """Index of the first sentence saying what the paper contributes (0 when none does)."""
    return next((n for n, s in enumerate(sentences) if CONTRIBUTION.search(s)), 0)


def summarize(paper: Paper) -> str:
    """A TL;DR: the HF one-line summary, else an extractive one from the abstract: its first
    contribution sentence ("we propose…", not the background before it) and the next one if
    both fit, trimmed at a sentence or, failing that, at a word."""
    text = " ".join((paper.ai_summary or "").split())
    if not text:
        sentences = SENTENCE_END.split(" ".join((paper.abstract or "").split()))
        sentences = sentences[contribution_start(sentences) :]
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


def at_a_word(value: str, limit: int) -> str:
    """Like one_line, but cut at the end of a word (mid-word only for one very long word)."""
    value = " ".join(str(value).split())
    if len(value) <= limit:
        return value
    cut = value[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.-\u2013\u2014(") + "…"


SLOT_CACHE = 50_000  # card variants, and chip sets and "why" lines as HTML, a renderer keeps

# Inboxes show about 70 characters of a subject and 100-150 of a preheader.
SUBJECT_MAX = 70
PREHEADER_MAX = 150


def feedback_url(paper_pk: int, choice: str) -> str:
    """The card's "more / less like this" link, the reader's token left as a placeholder."""
    path = reverse("digest:feedback", args=[_TOKEN_MARK, paper_pk, choice])
    return absolute(path).replace(_TOKEN_MARK, PLACEHOLDERS["feedback_token"])


def paper_card(
    paper: Paper, chips: Sequence[str], digest_date: dt.date, why: Sequence[str] = ()
) -> PaperCard:
    abstract_url = paper.abstract_url
    return PaperCard(
        title=" ".join(paper.title.split()),
        url=abstract_url or paper.project_page or absolute(f"/papers/{paper.paper_id}/"),
        authors=short_authors(paper.authors),
        summary=summarize(paper),
        upvotes=paper.upvotes,
        comments=paper.comments,
        chips=tuple(chips),
        abstract_url=abstract_url,
        pdf_url=paper.pdf_url,
        code_url=paper.github_repo,
        project_url=paper.project_page,
        editor_note=paper.editor_note.strip(),
        pinned=paper.is_pinned_on(digest_date),
        why=tuple(why),
        more_url=feedback_url(paper.pk, "more"),
        less_url=feedback_url(paper.pk, "less"),
        similar_url=absolute(reverse("digest:paper", args=[paper.paper_id]))
        + f"?r={PLACEHOLDERS['feedback_token']}#similar",
        paper_pk=paper.pk,
        **title_searches(paper.title if not abstract_url else ""),
    )


def title_searches(title: str) -> dict[str, str]:
    """Links that find a paper by its title on arXiv and on Hugging Face papers (none for an
    empty title): one click to the paper for a card that has no link of its own."""
    title = " ".join(title.split())
    if not title:
        return {}
    query = urlencode({"query": title, "searchtype": "title"})
    return {
        "arxiv_search_url": f"https://arxiv.org/search/?{query}",
        "hf_search_url": f"https://huggingface.co/papers?{urlencode({'q': title})}",
    }


def chips_for(papers: Sequence[Paper], topics: Iterable[Topic]) -> dict[int, list[str]]:
    """Names of `topics` each paper matched (one query)."""
    return topic_matches(papers, topics)[0]


def topic_matches(
    papers: Sequence[Paper], topics: Iterable[Topic]
) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """(names of `topics` each paper matched, why it matched each) in one query."""
    topic_ids = [t.pk for t in topics if t.pk]
    rows: QuerySet[PaperTopic, tuple[int, str, str, bool]] = PaperTopic.objects.filter(
        paper__in=[p.pk for p in papers], topic_id__in=topic_ids, excluded=False
    ).values_list("paper_id", "topic__name", "reason", "manual")
    chips: dict[int, list[str]] = {}
    why: dict[int, list[str]] = {}
    for paper_id, name, reason, manual in rows.order_by("topic__position", "topic__name"):
        chips.setdefault(paper_id, []).append(name)
        why.setdefault(paper_id, []).append(topic_why(name, reason, manual=manual))
    return chips, why


@functools.cache
def _stylesheet() -> str:
    return render_to_string(STYLESHEET)


class CardRenderer:
    """Cards (HTML with CSS inlined, and text) rendered once per card and reused.

    One renderer lives as long as one daily run (or one preview): a paper's card is the
    same in every edition that shows it at the same rank."""

    def __init__(self) -> None:
        self._cards: dict[tuple[int, dt.date], PaperCard] = {}
        self._slots: dict[tuple[tuple[str, ...], tuple[str, ...]], str] = {}
        self._variants: dict[tuple[int, dt.date, tuple[str, ...], tuple[str, ...]], PaperCard] = {}
        # Each paper's card once, split where its rank goes ("#3"), with slots where its topic
        # chips and "why" line go: work per paper, not per rank, topic set or reader.
        self._html: dict[tuple[int, bool], tuple[str, ...]] = {}
        self._text: dict[tuple[int, bool], tuple[str, ...]] = {}
        self._shells: dict[tuple[dt.date, str, bool], tuple[str, str]] = {}
        self._tags: dict[str, tuple[str, str]] = {}

    def card(
        self, paper: Paper, chips: Sequence[str], digest_date: dt.date, why: Sequence[str] = ()
    ) -> PaperCard:
        """The paper's card with these chips and "why" lines: what depends on the paper alone
        (links, authors, summary) is made once per paper and day, the rest is a copy."""
        chips, why = tuple(chips), tuple(why)
        key = (paper.pk, digest_date, chips, why)
        found = self._variants.get(key)
        if found is None:
            base = self._cards.get((paper.pk, digest_date))
            if base is None:
                base = self._cards[(paper.pk, digest_date)] = paper_card(paper, (), digest_date, ())
            found = replace(base, chips=chips, why=why) if chips or why else base
            if len(self._variants) < SLOT_CACHE:
                self._variants[key] = found
        return found

    def html(self, card: PaperCard, rank: int) -> str:
        """The card at `rank`, its topic chips and "why" line (per topic set or reader) put
        into the paper's card rendered once."""
        out: list[str] = []
        self.html_into(out, card, rank)
        return "".join(out)

    def html_into(self, out: list[str], card: PaperCard, rank: int, feedback_token: str = _TOKEN) -> None:
        """Append the pieces of `html(card, rank)` to `out` (a body of cards is one join), a
        reader's feedback token in its links if given (else the placeholder stays)."""
        key = (card.paper_pk, card.pinned)
        segments = self._html.get(key)
        if segments is None:
            context = {"card": card, "rank": _RANK, "chips_slot": _CHIPS, "why_slot": _WHY}
            raw = render_to_string(f"{CARD_TEMPLATE}.html", context)
            segments = self._html[key] = _segments(css_inline.inline_fragment(raw, _stylesheet()))
        chips, why = self._slot_html(card.chips, ()), self._slot_html((), card.why)
        _fill(out, segments, {_RANK: str(rank), _CHIPS: chips, _WHY: why, _TOKEN: feedback_token})

    def _slot_html(self, chips: tuple[str, ...], why: tuple[str, ...]) -> str:
        """The HTML of a card's chips (or its "why" line), made once per distinct value."""
        key = (chips, why)
        found = self._slots.get(key)
        if found is None:
            if chips:
                found = "".join(self._tagged("chip", '<span class="chip">X</span>', c) for c in chips)
            else:
                found = self._tagged("why", '<p class="why">Why: X</p>', "; ".join(why)) if why else ""
            if len(self._slots) < SLOT_CACHE:
                self._slots[key] = found
        return found

    def group_heading(self, name: str) -> str:
        """A weekly digest's topic heading (CSS inlined once)."""
        return self._tagged("group", '<h2 class="group">X</h2>', name)

    def _tagged(self, name: str, sample: str, value: str) -> str:
        """`sample` with its CSS inlined once, `value` (escaped) where its X is."""
        if name not in self._tags:
            head, tail = css_inline.inline_fragment(sample, _stylesheet()).split("X", 1)
            self._tags[name] = (head, tail)
        head, tail = self._tags[name]
        return f"{head}{escape(value)}{tail}"

    def shell(self, *, digest_date: dt.date, frequency: str, web_view: bool) -> tuple[str, str]:
        """(HTML with CSS inlined, text) of the email around the cards, with a marker
        (_SHELL_MARK) wherever an edition's own values go; rendered once per day and kind."""
        key = (digest_date, frequency, web_view)
        if key not in self._shells:
            context = {
                "site_name": settings.SITE_NAME,
                "site_url": settings.SITE_URL,
                "signup_url": absolute(reverse("subscriptions:signup")),
                "papers_url": absolute("/papers/"),
                "digest_date": digest_date,
                "frequency": frequency,
                "postal_address": settings.POSTAL_ADDRESS,
                **{name: _mark(name) for name in ("subject", "preheader", "intro", "web_url")},
                "web_url": _mark("web_url") if web_view else "",
                "topic_names": [_mark("topics")],
                "cards_html": mark_safe(_mark("cards")),  # noqa: S308 - a fixed marker, swapped for escaped cards
                "cards_text": _mark("cards"),
                **PLACEHOLDERS,
            }
            self._shells[key] = (
                inline_css(render_to_string(f"{TEMPLATE}_body.html", context)),
                render_to_string(f"{TEMPLATE}_body.txt", context),
            )
        return self._shells[key]

    def text(self, card: PaperCard, rank: int) -> str:
        out: list[str] = []
        self.text_into(out, card, rank)
        return "".join(out)

    def text_into(self, out: list[str], card: PaperCard, rank: int, feedback_token: str = _TOKEN) -> None:
        """Append the pieces of `text(card, rank)` to `out` (the token as in `html_into`)."""
        key = (card.paper_pk, card.pinned)
        segments = self._text.get(key)
        if segments is None:
            context = {"card": card, "rank": _RANK, "chips_slot": _CHIPS, "why_slot": _WHY}
            segments = self._text[key] = _segments(render_to_string(f"{CARD_TEMPLATE}.txt", context))
        values = {
            _RANK: str(rank),
            _CHIPS: f"   Topics: {', '.join(card.chips)}\n" if card.chips else "",
            _WHY: f"   Why: {'; '.join(card.why)}\n" if card.why else "",
            _TOKEN: feedback_token,
        }
        _fill(out, segments, values)


# The feedback token's placeholder is a slot too, so a personal batch puts each reader's token
# in while it joins their cards instead of a replace pass over the joined cards.
_SLOTS = re.compile(f"({re.escape(_RANK)}|{re.escape(_CHIPS)}|{re.escape(_WHY)}|{re.escape(_TOKEN)})")


def _segments(rendered: str) -> tuple[str, ...]:
    """A rendered card cut at its slots: text at even positions, a slot's marker at odd ones."""
    return tuple(_SLOTS.split(rendered))


def _fill(out: list[str], segments: tuple[str, ...], values: Mapping[str, str]) -> None:
    out.append(segments[0])
    for at in range(1, len(segments), 2):
        out.append(values[segments[at]])
        out.append(segments[at + 1])


def render_digest(
    *,
    papers: Sequence[Paper],
    topics: Sequence[Topic],
    digest_date: dt.date,
    frequency: str,
    chips: Mapping[int, Sequence[str]] | None = None,
    web_url: str = "",
    renderer: CardRenderer | None = None,
    why: Mapping[int, Sequence[str]] | None = None,
    topic_names: Sequence[str] | None = None,
    topic_why: Mapping[int, Sequence[str]] | None = None,
) -> RenderedDigest:
    """Subject, preheader, HTML (CSS inlined) and text for these papers, with placeholders
    for the personal links. No per-reader work; cards and shells come from `renderer`
    (shared by a run), the edition's own values are filled in with one escaping pass.
    `why` (a personal digest's) says per paper why it is there; a topic digest says it with
    `topic_why` (the matches' evidence, digest.daily.why). `topic_names` stand in for
    `topics` when only the names are known."""
    renderer = renderer or CardRenderer()
    if chips is None:
        chips, found_why = topic_matches(papers, topics)
        topic_why = topic_why if topic_why is not None else found_why
    why = why or {}
    topic_why = topic_why or {}
    cards = [
        renderer.card(p, chips.get(p.pk, ()), digest_date, why.get(p.pk) or topic_why.get(p.pk, ()))
        for p in papers
    ]
    topic_names = list(topic_names) if topic_names is not None else [t.name for t in topics]
    subject, preheader = headline(
        cards, topic_names=topic_names, digest_date=digest_date, frequency=frequency, personal=bool(why)
    )
    html_shell, text_shell = renderer.shell(
        digest_date=digest_date, frequency=frequency, web_view=bool(web_url)
    )
    values = {
        "subject": subject,
        "preheader": preheader,
        "intro": intro_for(len(cards), topic_names=topic_names, personal=bool(why)),
        "topics": ", ".join(topic_names),
        "web_url": web_url,
    }
    html_values = {name: str(escape(value)) for name, value in values.items()}
    html_values["cards"], values["cards"] = cards_body(renderer, cards, frequency=frequency)
    return RenderedDigest(
        subject=subject,
        preheader=preheader,
        html=_SHELL_MARK.sub(lambda m: html_values[m[1]], html_shell),
        text=_SHELL_MARK.sub(lambda m: values[m[1]], text_shell),
        paper_ids=[p.pk for p in papers],
        frequency=frequency,
    )


def headline(
    cards: Sequence[PaperCard],
    *,
    topic_names: Sequence[str],
    digest_date: dt.date,
    frequency: str,
    personal: bool,
) -> tuple[str, str]:
    """(subject, preheader) of a digest of these cards."""
    subject = subject_line(
        cards[0].title if cards else "", len(cards), digest_date=digest_date, frequency=frequency
    )
    preheader = preheader_for(
        len(cards), topic_names=topic_names, personal=personal, next_titles=[c.title for c in cards[1:3]]
    )
    return subject, preheader


def subject_line(lead_title: str, count: int, *, digest_date: dt.date, frequency: str) -> str:
    """At most SUBJECT_MAX characters saying what is inside: the day (or week), the lead paper
    shortened at a word, and how many more; the count is never cut off."""
    when = "Your week in papers" if frequency == "weekly" else _day_label(digest_date, get_language())
    if not count:
        return f"{when}: nothing new"
    prefix = f"{when}: "
    more = f" (+{count - 1} more)" if count > 1 else ""
    return prefix + at_a_word(lead_title, SUBJECT_MAX - len(prefix) - len(more)) + more


@functools.lru_cache(maxsize=64)
def _day_label(digest_date: dt.date, language: str | None) -> str:
    """ "Mar 2" in `language` (made once per day and language: a run asks for it per reader)."""
    return date_format(digest_date, "M j")


def intro_for(count: int, *, topic_names: Sequence[str], personal: bool) -> str:
    """What the digest is, in a line: "10 trending papers on LLM, Vision"."""
    papers = f"{count} trending paper{'s' if count != 1 else ''}"
    if personal:
        about = f" on {', '.join(topic_names)} and your own interests" if topic_names else " picked for you"
    else:
        about = " on " + ", ".join(topic_names) if topic_names else ""
    return papers + about


def preheader_for(
    count: int, *, topic_names: Sequence[str], personal: bool, next_titles: Sequence[str] = ()
) -> str:
    """The inbox's second line: what comes after the lead paper, then what the digest is."""
    summary = intro_for(count, topic_names=topic_names, personal=personal)
    if not next_titles:
        return one_line(summary, PREHEADER_MAX)
    room = PREHEADER_MAX - len(summary) - len("Also: . ")
    teaser = " · ".join(" ".join(t.split()) for t in next_titles)
    return one_line(f"Also: {at_a_word(teaser, max(room, 40))}. {summary}", PREHEADER_MAX)


def personalize(content: str, *, preferences_url: str, unsubscribe_url: str, feedback_token: str) -> str:
    """One reader's copy: the placeholders replaced by their own links."""
    return (
        content.replace(PLACEHOLDERS["preferences_url"], preferences_url)
        .replace(PLACEHOLDERS["unsubscribe_url"], unsubscribe_url)
        .replace(PLACEHOLDERS["feedback_token"], feedback_token)
    )


def merged_shell(renderer: CardRenderer, *, digest_date: dt.date, frequency: str) -> tuple[str, str]:
    """(HTML, text) of the email around the cards with every value of an edition left as an ESP
    merge field, for one batch call carrying many personal lists: in the HTML part a value
    is named "<name>_html" (escaped), in the text part "<name>"; see `merge_values`."""
    html, text = renderer.shell(digest_date=digest_date, frequency=frequency, web_view=True)
    field = settings.DIGEST_MERGE_FIELD
    html = _SHELL_MARK.sub(lambda m: field.replace("NAME", f"{m[1]}_html"), html)
    text = _SHELL_MARK.sub(lambda m: field.replace("NAME", m[1]), text)
    return merge_fields(html), merge_fields(text)


def merge_values(
    *,
    cards: Sequence[PaperCard],
    subject: str,
    preheader: str,
    topic_names: Sequence[str],
    web_url: str,
) -> dict[str, str]:
    """One personal list's merge data for `merged_shell` but its cards ("cards_html" and
    "cards", which hold a reader's own feedback token: `cards_body` per reader)."""
    values = {
        "subject": subject,
        "preheader": preheader,
        "intro": intro_for(len(cards), topic_names=topic_names, personal=True),
        "topics": ", ".join(topic_names),
        "web_url": web_url,
    }
    # html.escape is what django.utils.html.escape applies, without its lazy-string wrapper
    # (five values a personal reader, 200,000 readers a run at scale).
    return {**values, **{f"{name}_html": html_escape(str(value)) for name, value in values.items()}}


OTHER_GROUP = "Also for you"


def weekly_groups(cards: Sequence[PaperCard]) -> list[tuple[str, list[tuple[int, PaperCard]]]]:
    """The week's cards grouped under their first topic (groups in order of their best
    card), each card keeping its overall rank; cards with no topic go last."""
    groups: dict[str, list[tuple[int, PaperCard]]] = {}
    for rank, card in enumerate(cards, 1):
        groups.setdefault(card.chips[0] if card.chips else OTHER_GROUP, []).append((rank, card))
    other = groups.pop(OTHER_GROUP, None)
    ordered = list(groups.items())
    return [*ordered, (OTHER_GROUP, other)] if other else ordered


def cards_body(
    renderer: CardRenderer, cards: Sequence[PaperCard], *, frequency: str, feedback_token: str = _TOKEN
) -> tuple[str, str]:
    """(HTML, text) of the cards: a flat ranked list; a week's grouped by topic, a heading
    each (when there is more than one group). A reader's feedback token goes in if given,
    filled into each card's slots like its rank (no pass over the joined cards); a shared
    edition, rendered once, keeps the placeholder."""
    groups = weekly_groups(cards) if frequency == "weekly" else []
    html: list[str] = []
    text: list[str] = []
    ranked = [(None, list(enumerate(cards, 1)))] if len(groups) < 2 else groups
    for name, members in ranked:
        if name is not None:
            html.append(renderer.group_heading(name))
            text.append(f"\n== {name} ==\n")
        for rank, card in members:
            renderer.html_into(html, card, rank, feedback_token)
            renderer.text_into(text, card, rank, feedback_token)
    return "".join(html), "".join(text)


def merge_fields(content: str) -> str:
    """A batch copy: the placeholders replaced by the ESP's merge fields (DIGEST_MERGE_FIELD)."""
    pattern = settings.DIGEST_MERGE_FIELD
    for name, placeholder in PLACEHOLDERS.items():
        content = content.replace(placeholder, pattern.replace("NAME", name))
    return content
