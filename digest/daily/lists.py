"""Personal lists: the paper list of a reader with their own signals (digest.daily.personal).

A daily run stores a chunk's personal lists of one date and frequency together, in one
Edition row (`personal=True`, the lists in `reasons["lists"]`, keyed "r<reader id>"), not
one row per reader: writing a fifth of a million rows cost about a seventh of a million-reader
run. Each delivery of such a row finds its reader's list by the reader's id. A list has its
own web address, `/e/<row slug>/<reader id>-<key>/`, the key a random secret of its own, so
nobody reads another reader's list from their own address.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

_DIGITS = re.compile(r"[0-9]{1,18}")  # a reader id as written in a list's name or address


class Bundle(Protocol):
    """What reading lists needs of an Edition (a model instance or a sender's plain row)."""

    @property
    def pk(self) -> int | None: ...
    @property
    def digest_date(self) -> dt.date: ...
    @property
    def frequency(self) -> str: ...
    @property
    def slug(self) -> str: ...
    @property
    def reasons(self) -> Any: ...
    @property
    def personal(self) -> bool: ...


@dataclass
class PersonalList:
    """One reader's list, with what sending and the web view ask of an edition (its `html`
    and `text` are put together by digest.daily.assembly)."""

    edition_id: int
    reader_id: int
    digest_date: dt.date
    frequency: str
    paper_ids: list[int]
    subject: str
    preheader: str
    reasons: dict[str, Any]  # {"topics": [...], "papers": {"<paper id>": {"chips": [...], "why": [...]}}}
    slug: str  # its web address under /e/: "<row slug>/<reader id>-<key>"
    html: str = ""
    text: str = ""
    personal: bool = True


def new_key() -> str:
    """A list's web-address secret."""
    return secrets.token_urlsafe(9)


def entry(
    *,
    paper_ids: Sequence[int],
    topic_key: str,
    chips: Sequence[Sequence[int]],
    why: Mapping[int, Sequence[str]],
    subject: str,
    preheader: str,
    key: str,
) -> dict[str, Any]:
    """What a row keeps of one list (digest.daily.editions writes it), kept small: a run
    writes a fifth of a million. Its topic names are the row's, once per topic set
    (`sets`); `chips[n]` are indexes into them for paper n; `why` only for papers that have a
    reason of their own."""
    item: dict[str, Any] = {"ids": list(paper_ids), "set": topic_key, "subject": subject}
    item["preheader"], item["key"] = preheader, key
    if any(chips):
        item["chips"] = chips
    if why:
        item["why"] = {str(pid): list(lines) for pid, lines in why.items()}
    return item


def row_reasons(lists: Mapping[str, Any], sets: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """A row's `reasons`: its lists by reader, and the topic names of their topic sets."""
    return {"sets": dict(sets), "lists": dict(lists)}


def reader_key(reader_id: int) -> str:
    return f"r{reader_id}"


def raw_lists(bundle: Bundle) -> Mapping[str, Any]:
    stored = bundle.reasons
    lists = stored.get("lists") if isinstance(stored, dict) else None
    return lists if isinstance(lists, dict) else {}


def list_for(bundle: Bundle, reader_id: int) -> PersonalList | None:
    """The reader's list in this row, or None."""
    found = raw_lists(bundle).get(reader_key(reader_id))
    return _made(bundle, reader_id, found) if isinstance(found, dict) else None


def list_at(bundle: Bundle, part: str | None) -> PersonalList | None:
    """The list a web address names (`part` is "<reader id>-<key>"), or None."""
    lists = raw_lists(bundle)
    if part is None:
        # Only a row migration 0013 made from a personal edition of before (its lists, one or
        # the same one for each reader who got it, keep "reasons"): that edition's address was
        # its slug. A row of lists the daily run writes is never shown without a list's key.
        legacy = [(name, old) for name, old in lists.items() if isinstance(old, dict) and "reasons" in old]
        if not legacy or len(legacy) != len(lists):
            return None
        name, first = legacy[0]
        return _made(bundle, int(name[1:]), first) if _DIGITS.fullmatch(name[1:]) else None
    reader, _, key = part.partition("-")
    if not _DIGITS.fullmatch(reader) or not key:
        return None
    found = lists.get(f"r{reader}")
    if not isinstance(found, dict) or not hmac.compare_digest(
        str(found.get("key", "")).encode(), key.encode()
    ):
        return None
    return _made(bundle, int(reader), found)


def _made(bundle: Bundle, reader_id: int, found: Mapping[str, Any]) -> PersonalList | None:
    """The list, or None when what is stored is not a list (a row changed by hand)."""
    try:
        return _read(bundle, reader_id, found)
    except (TypeError, ValueError, AttributeError, IndexError):
        return None


def _read(bundle: Bundle, reader_id: int, found: Mapping[str, Any]) -> PersonalList:
    paper_ids = [int(pid) for pid in found.get("ids") or []]
    reasons = found.get("reasons")  # a list written before lists were kept small (migration 0013)
    if not isinstance(reasons, dict):
        reasons = _expanded(bundle, found, paper_ids)
    return PersonalList(
        edition_id=bundle.pk or 0,
        reader_id=reader_id,
        digest_date=bundle.digest_date,
        frequency=bundle.frequency,
        paper_ids=paper_ids,
        subject=str(found.get("subject", "")),
        preheader=str(found.get("preheader", "")),
        reasons=reasons,
        slug=f"{bundle.slug}/{reader_id}-{found.get('key', '')}",
    )


def _expanded(bundle: Bundle, found: Mapping[str, Any], paper_ids: Sequence[int]) -> dict[str, Any]:
    """A small list's reasons in the shape putting it together reads: its topic names, and per
    paper its chips (topic names) and why it is there."""
    sets = bundle.reasons.get("sets") if isinstance(bundle.reasons, dict) else None
    names = list((sets or {}).get(str(found.get("set", ""))) or [])
    chips = found.get("chips") or []
    why = found.get("why") or {}
    papers: dict[str, dict[str, list[str]]] = {}
    for n, pid in enumerate(paper_ids):
        own = [names[int(i)] for i in (chips[n] if n < len(chips) else []) if 0 <= int(i) < len(names)]
        lines = list(why.get(str(pid)) or [])
        if own or lines:
            papers[str(pid)] = {"chips": own, "why": lines}
    return {"topics": names, "papers": papers}


def paper_ids_by_reader(bundle: Bundle) -> dict[int, tuple[int, ...]]:
    """Every list's paper ids, by reader id (the no-repeat history)."""
    found_ids: dict[int, tuple[int, ...]] = {}
    for name, found in raw_lists(bundle).items():
        ids = found.get("ids") if isinstance(found, dict) else None
        if _DIGITS.fullmatch(name[1:]) and isinstance(ids, list):
            found_ids[int(name[1:])] = tuple(pid for pid in ids if isinstance(pid, int))
    return found_ids
