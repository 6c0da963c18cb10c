"""A reader's own interests: keywords, followed authors and excluded words.

Each is a short list of phrases a reader types, one per line (commas separate too). Keywords
are matched like topic terms (word boundaries, hyphen/space tolerant, a trailing `*` for any
ending), authors by name as papers list them (case, accents and initials tolerated: "G. Hinton"
follows "Geoffrey Hinton"), excluded words anywhere in a paper's title or abstract. The
matching itself runs in the daily run (digest.daily.personal), once per distinct phrase.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MAX_PHRASES = 20
MAX_PHRASE_CHARS = 100
KINDS = ("keywords", "authors", "exclude_words")
LABELS = {"keywords": "keyword", "authors": "author", "exclude_words": "excluded word"}
_AS = {"keywords": "a keyword", "authors": "an author's name", "exclude_words": "a word to leave out"}

_SEPARATORS = re.compile(r"[\n,;]+")
_HAS_WORD = re.compile(r"\w")
# Letters (any script), digits, spaces and the punctuation names and phrases use; `*` only last.
_KEYWORD = re.compile(r"^[\w][\w\s\-'.&/+#]*\*?$")
_AUTHOR = re.compile(r"^[\w][\w\s\-'.]*$")


class InterestError(ValueError):
    """A list a reader cannot have meant; the message says which phrase and why."""


def split_phrases(text: str) -> list[str]:
    """Phrases from a textarea: one per line or comma, whitespace collapsed, duplicates (ignoring
    case) dropped, order kept."""
    seen: dict[str, str] = {}
    for raw in _SEPARATORS.split(text or ""):
        phrase = " ".join(raw.split())
        if phrase:
            seen.setdefault(phrase.casefold(), phrase)
    return list(seen.values())


def validate_phrases(kind: str, phrases: list[str]) -> list[str]:
    """The phrases, checked against the limits; InterestError names the first problem."""
    label = LABELS[kind]
    if len(phrases) > MAX_PHRASES:
        raise InterestError(f"At most {MAX_PHRASES} {label}s, please (you gave {len(phrases)}).")
    pattern = _AUTHOR if kind == "authors" else _KEYWORD
    for phrase in phrases:
        if len(phrase) > MAX_PHRASE_CHARS:
            raise InterestError(f"“{phrase[:40]}…” is longer than {MAX_PHRASE_CHARS} characters.")
        if not _HAS_WORD.search(phrase) or not pattern.match(phrase):
            allowed = "letters, digits, spaces, . - '" if kind == "authors" else "letters, digits and spaces"
            raise InterestError(f"“{phrase}” cannot be matched as {_AS[kind]}: use {allowed}.")
    return phrases


@dataclass(frozen=True)
class Interests:
    """A reader's keywords, followed authors and excluded words (each cleaned)."""

    keywords: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    exclude_words: tuple[str, ...] = ()

    @classmethod
    def parse(cls, *, keywords: str = "", authors: str = "", exclude_words: str = "") -> Interests:
        """From the three textareas; InterestError for anything out of bounds."""
        values = {"keywords": keywords, "authors": authors, "exclude_words": exclude_words}
        return cls(**{kind: tuple(validate_phrases(kind, split_phrases(values[kind]))) for kind in KINDS})

    def validate(self) -> None:
        for kind in KINDS:
            validate_phrases(kind, list(getattr(self, kind)))

    @property
    def attracts(self) -> bool:
        """Whether these interests bring papers in by themselves (keywords or authors)."""
        return bool(self.keywords or self.authors)

    def as_lists(self) -> dict[str, list[str]]:
        return {kind: list(getattr(self, kind)) for kind in KINDS}


def author_key(name: str) -> str:
    """A followed author's key: the first initial and the last name, lower-cased, accents
    dropped ("Geoffrey E. Hinton", "G. Hinton" and "geoffrey hinton" → "g hinton")."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
    words = [w for w in re.split(r"[\s.]+", plain.replace("'", "")) if w]
    if not words:
        return ""
    if len(words) == 1:
        return words[0]
    return f"{words[0][0]} {words[-1]}"


PROFILE_KEYS = (*KINDS, "more", "less")


Profile = dict[str, list[Any]]


def with_profile(profile: Profile | None, **parts: Sequence[Any]) -> Profile | None:
    """The reader's planning profile with `parts` replaced (interests: KINDS; feedback: paper
    ids in "more" and "less"); None when nothing is left, so the reader shares editions."""
    merged = {key: list((profile or {}).get(key) or []) for key in PROFILE_KEYS}
    for key, values in parts.items():
        if key not in PROFILE_KEYS:
            raise ValueError(f"unknown profile part {key!r}")
        merged[key] = list(values)
    return {key: values for key, values in merged.items() if values} or None
