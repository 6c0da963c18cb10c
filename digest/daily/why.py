"""Why a paper is in a topic's digest, in a few words, from its stored match.

A match's reason lists the matcher's evidence, strongest first: `title "video generation"`,
`abstract "text-to-video" x2`, `keyword "…"`, `category cs.CV`, weak terms marked "(weak)",
and "learned 0.93" when the model decided. The reader sees the best of it:
"Video generation: “video generation” in the title".
"""

from __future__ import annotations

import re

_TERM = re.compile(r'\b(title|abstract|keyword) "([^"]+)"(?: x\d+)?( \(weak\))?')
_CATEGORY = re.compile(r"\bcategory ([a-z-]+\.[A-Za-z-]+)")
_PLACE = {"title": "in the title", "abstract": "in the abstract", "keyword": "among its keywords"}


def _clean(term: str) -> str:
    return term.replace("*", "").replace(" + ", " and ").strip()


def topic_why(topic: str, reason: str, *, manual: bool = False) -> str:
    """One line: the topic, then the strongest evidence a reader can check."""
    if manual:
        return f"{topic}: filed there by an editor"
    terms = [(where, term) for where, term, weak in _TERM.findall(reason) if not weak]
    terms = terms or [(where, term) for where, term, _ in _TERM.findall(reason)]
    if terms:
        where, term = min(terms, key=lambda t: ("title", "keyword", "abstract").index(t[0]))
        return f"{topic}: “{_clean(term)}” {_PLACE[where]}"
    if category := _CATEGORY.search(reason):
        return f"{topic}: listed in arXiv's {category.group(1)}"
    return f"{topic}: like the papers filed there"
