"""Plan each reader's paper list and share rendered editions between readers.

A reader's digest is the first N candidates of their topic set that they were
not sent in the last DIGEST_NO_REPEAT_DAYS days. Readers whose final lists (and
topic set) are identical share one Edition, rendered once. Work per chunk of
readers is a fixed number of queries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from django.urls import reverse
from django.utils import timezone

from digest.catalog.rules import PaperText
from digest.daily import storage
from digest.daily.candidates import CandidatePool, parse_topic_key
from digest.daily.due import DueReader
from digest.daily.lists import entry, new_key, paper_ids_by_reader, reader_key, row_reasons
from digest.daily.personal import DayIndex, Likeness, Profile, pick_personal
from digest.daily.rendering import CardRenderer, preheader_for, render_digest, subject_line
from digest.daily.storage import NewEdition
from digest.models import Edition, Paper, new_edition_slug
from subscriptions.links import absolute
from subscriptions.models import Subscriber, Topic

RENDER_BATCH = 100  # rendered editions (about 45 KB each with text) held and written at a time
LIST_BATCH = 1000  # personal lists (a list and reasons, under 2 KB each) kept in one Edition row
BUNDLES_KEPT = 64  # rows of personal lists whose paper ids the no-repeat history keeps decoded


def content_key(*, frequency: str, topic_key: str, paper_ids: Sequence[int]) -> str:
    """Identity of an edition's content for one date: frequency, topic set, ordered papers."""
    raw = f"{frequency}|{topic_key}|{','.join(map(str, paper_ids))}"
    return hashlib.sha256(raw.encode()).hexdigest()


class Plan(NamedTuple):
    reader: DueReader
    paper_ids: tuple[int, ...]
    key: str  # a shared list's content_key, a personal one's reader key; "" when nothing is left
    why: dict[int, list[str]] | None = None  # a personal list's reasons; None: a shared list


def personal_key(reader: DueReader) -> str:
    """A personal plan's key: the reader's own (their list is kept in a row of lists)."""
    return reader_key(reader.pk)


class Planner:
    """Plans readers chunk by chunk; holds candidate pools and edition paper lists, not readers."""

    def __init__(self, *, now: dt.datetime) -> None:
        self.now = now
        self._pools: dict[tuple[dt.date, str], CandidatePool] = {}
        self._papers: dict[int, Paper] = {}  # one object per paper for every pool and day index
        self._texts: dict[int, PaperText] = {}
        self._edition_papers: dict[int, tuple[int, ...]] = {}
        # Rows of personal lists: their lists' paper ids by reader (the newest BUNDLES_KEPT).
        self._bundle_papers: OrderedDict[int, dict[int, tuple[int, ...]]] = OrderedDict()
        self._topics: dict[int, Topic] | None = None
        self._fresh: dict[tuple[dt.date, str, str, int], tuple[tuple[int, ...], str]] = {}
        self.renderer = CardRenderer()
        self._edition_ids: dict[tuple[dt.date, str], int] = {}  # (date, content key) → id, this run
        self._days_loaded: set[dt.date] = set()
        self._personal: dict[tuple[dt.date, str], tuple[DayIndex, Likeness]] = {}
        self._rows: dict[tuple[dt.date, str, str, int], list[int]] = {}
        self._subjects: dict[tuple[dt.date, str, int, int], str] = {}
        self._chips: dict[tuple[dt.date, str, str], dict[int, list[str]]] = {}
        self._names: dict[str, list[str]] = {}
        self._name_at: tuple[str | None, list[str], dict[str, int]] = (None, [], {})

    def pool(self, digest_date: dt.date, frequency: str) -> CandidatePool:
        key = (digest_date, frequency)
        if key not in self._pools:
            self._pools[key] = CandidatePool(
                digest_date=digest_date,
                frequency=frequency,
                now=self.now,
                topic_ids=list(self._all_topics()),
                shared=self._papers,
            )
        return self._pools[key]

    def _all_topics(self) -> dict[int, Topic]:
        if self._topics is None:
            self._topics = {t.pk: t for t in Topic.objects.all()}
        return self._topics

    def topics(self, topic_ids: Iterable[int]) -> list[Topic]:
        every = self._all_topics()
        return [every[t] for t in topic_ids if t in every]

    def _history(self, readers: Sequence[DueReader]) -> dict[int, set[int]]:
        """Paper ids each reader was sent (or is being sent) in the no-repeat window. Due
        readers come with their edition ids; others (a preview) are looked up. Paper lists of
        editions not seen yet in this run: one query."""
        editions = {r.pk: r.recent_editions for r in readers if r.recent_editions is not None}
        unknown = [(r.pk, r.digest_date) for r in readers if r.recent_editions is None]
        if unknown:
            editions.update(storage.recent_editions(unknown))
        self._load_history({e for ids in editions.values() for e in ids})
        return {
            reader_id: {p for e in ids for p in self._papers_sent(e, reader_id)}
            for reader_id, ids in editions.items()
            if ids
        }

    def _load_history(self, wanted: set[int]) -> None:
        """Paper lists of these editions not seen yet (rows of personal lists: every list's)."""
        for kept in wanted & self._bundle_papers.keys():
            self._bundle_papers.move_to_end(kept)  # the least recently wanted go first
        missing = wanted - self._edition_papers.keys() - self._bundle_papers.keys()
        if not missing:
            return
        bundles = []
        for edition_id, personal, paper_ids in Edition.objects.filter(pk__in=missing).values_list(
            "pk", "personal", "paper_ids"
        ):
            if personal:
                bundles.append(edition_id)
            else:
                self._edition_papers[edition_id] = tuple(paper_ids)
        if bundles:
            for bundle in Edition.objects.filter(pk__in=bundles).only(
                "pk", "digest_date", "frequency", "slug", "reasons"
            ):
                self._bundle_papers[bundle.pk] = paper_ids_by_reader(bundle)
            while len(self._bundle_papers) > BUNDLES_KEPT:
                oldest = next(iter(self._bundle_papers))
                if oldest in wanted:  # every row kept is wanted now: keep them all this time
                    break
                del self._bundle_papers[oldest]

    def _papers_sent(self, edition_id: int, reader_id: int) -> tuple[int, ...]:
        lists = self._bundle_papers.get(edition_id)
        if lists is not None:
            return lists.get(reader_id, ())
        return self._edition_papers.get(edition_id, ())

    def _pick(self, reader: DueReader, exclude: set[int]) -> tuple[tuple[int, ...], str]:
        topic_ids = parse_topic_key(reader.topic_key)
        pool = self.pool(reader.digest_date, reader.frequency)
        ids = tuple(pool.pick(topic_ids, count=reader.papers_per_email, exclude=exclude))
        key = (
            content_key(frequency=reader.frequency, topic_key=reader.topic_key, paper_ids=ids) if ids else ""
        )
        return ids, key

    def personal(self, digest_date: dt.date, frequency: str) -> tuple[DayIndex, Likeness]:
        """The day index and taste vectors for personal lists of this date and frequency."""
        key = (digest_date, frequency)
        if key not in self._personal:
            index = DayIndex.build(self.pool(digest_date, frequency).every_paper(), texts=self._texts)
            self._personal[key] = (index, Likeness(index))
        return self._personal[key]

    def _topic_rows(self, reader: DueReader, index: DayIndex, need: int) -> list[int]:
        """The index rows of the reader's topic candidates in the day's order (cached per set
        and length)."""
        _current_set_only(self._rows, reader.topic_key)
        key = (reader.digest_date, reader.frequency, reader.topic_key, need)
        rows = self._rows.get(key)
        if rows is None:
            topic_ids = parse_topic_key(reader.topic_key)
            pool = self.pool(reader.digest_date, reader.frequency)
            found = index.rows(pool.candidates(topic_ids, at_least=need) if topic_ids else [])
            rows = self._rows[key] = sorted(found, key=index.rank.__getitem__)
        return rows

    def _pick_personal(self, reader: DueReader, profile: Profile, exclude: set[int]) -> Plan:
        count = reader.papers_per_email
        index, likeness = self.personal(reader.digest_date, reader.frequency)
        need = count + 20 + 10 * (len(exclude) // 10 + 1)  # a step, so lengths share a cache entry
        pick = pick_personal(
            index=index,
            likeness=likeness,
            profile=profile,
            topic_rows=self._topic_rows(reader, index, need),
            count=count,
            exclude=exclude,
        )
        if not pick.paper_ids:
            return Plan(reader, (), "", {})
        return Plan(reader, pick.paper_ids, personal_key(reader), pick.reasons)

    def plan(self, readers: Sequence[DueReader]) -> list[Plan]:
        """Each reader's final paper list and its edition key (readers with nothing sent
        recently share one computation per topic set, length and frequency; readers with
        personal signals get their own list: digest.daily.personal)."""
        history = self._history(readers)
        profiles = {r.pk: Profile.from_json(r.profile) for r in readers if r.profile}
        profiles = {pk: p for pk, p in profiles.items() if not p.empty}
        if profiles:
            by_day: dict[tuple[dt.date, str], list[Profile]] = {}
            for reader in readers:
                if reader.pk in profiles:
                    by_day.setdefault((reader.digest_date, reader.frequency), []).append(profiles[reader.pk])
            for (day, frequency), chosen in by_day.items():
                self.personal(day, frequency)[1].load(chosen)
        plans = []
        for reader in readers:
            exclude = history.get(reader.pk)
            if reader.pk in profiles:
                plans.append(self._pick_personal(reader, profiles[reader.pk], exclude or set()))
                continue
            if exclude:
                ids, key = self._pick(reader, exclude)
            else:
                same = (reader.digest_date, reader.frequency, reader.topic_key, reader.papers_per_email)
                if same not in self._fresh:
                    self._fresh[same] = self._pick(reader, set())
                ids, key = self._fresh[same]
            plans.append(Plan(reader, ids, key))
        return plans

    def editions_for(self, plans: Sequence[Plan]) -> dict[tuple[dt.date, str], int]:
        """Edition ids for the plans' (date, key) pairs; renders and stores only the missing ones,
        RENDER_BATCH at a time so memory holds a bounded number of rendered editions."""
        return self.prepare(plans).store()

    def prepare(self, plans: Sequence[Plan]) -> Editions:
        """The plans' editions: shared ones stored now (rendered once, reused by later chunks),
        personal ones as rows still to store (`Editions.store`, which the daily run calls on
        its writer thread, so the database takes them while the next chunk is planned)."""
        wanted = {(p.reader.digest_date, p.key): p for p in plans if p.key}
        if not wanted:
            return Editions({}, [], [])
        new_days = {day for day, _ in wanted} - self._days_loaded
        if new_days:  # editions an earlier run stored for these days: one query per day, not per chunk
            self._edition_ids.update(_existing_on(new_days))
            self._days_loaded |= new_days
        missing = [plan for pair, plan in wanted.items() if pair not in self._edition_ids]
        shared = [plan for plan in missing if plan.why is None]
        for start in range(0, len(shared), RENDER_BATCH):
            new = [self._render(plan) for plan in shared[start : start + RENDER_BATCH]]
            self._edition_ids.update(storage.insert_editions(new))  # a concurrent run's row wins
        known = {pair: self._edition_ids[pair] for pair in wanted if pair in self._edition_ids}
        groups: dict[tuple[dt.date, str], list[Plan]] = {}
        for plan in missing:
            if plan.why is not None:
                groups.setdefault((plan.reader.digest_date, plan.reader.frequency), []).append(plan)
        bundles = [
            self._bundle(day, frequency, group[start : start + LIST_BATCH])
            for (day, frequency), group in groups.items()
            for start in range(0, len(group), LIST_BATCH)
        ]
        return Editions(known, bundles, list(wanted))

    def _bundle(self, day: dt.date, frequency: str, plans: Sequence[Plan]) -> Bundled:
        """One row keeping these readers' personal lists (digest.daily.lists)."""
        lists: dict[str, dict[str, Any]] = {}
        sets: dict[str, list[str]] = {}
        for plan in plans:  # readers come by topic set: a set's names are final when the next begins
            lists[plan.key] = self._listed(plan)
            sets[plan.reader.topic_key] = self._chip_names(plan.reader.topic_key)[0]
        row = NewEdition(
            digest_date=day,
            frequency=frequency,
            topic_key="",
            content_key=f"lists:{secrets.token_hex(16)}",
            paper_ids=[],
            subject=f"{len(lists)} personal list{'s' if len(lists) != 1 else ''}",
            preheader="",
            reasons=row_reasons(lists, sets),
            slug=new_edition_slug(),
        )
        return Bundled(row, [(day, plan.key) for plan in plans])

    def unstored_list(self, plan: Plan) -> Edition:
        """The row of lists the daily run would store for this one plan, not stored (the
        editor's preview of a personal digest)."""
        bundled = self._bundle(plan.reader.digest_date, plan.reader.frequency, [plan])
        return Edition(**bundled.row._asdict())

    def _listed(self, plan: Plan) -> dict[str, Any]:
        """A personal list: its papers, subject and reasons (its cards are put together when it
        is sent or viewed)."""
        reader = plan.reader
        index, _ = self.personal(reader.digest_date, reader.frequency)
        names = self._topic_names(reader.topic_key)
        subject, preheader = self._headline(plan, [index.papers[pid] for pid in plan.paper_ids[:3]], names)
        chips = self._chips_of(plan)
        kept, at = self._chip_names(reader.topic_key)
        return entry(
            paper_ids=plan.paper_ids,
            topic_key=reader.topic_key,
            chips=[[chip_place(kept, at, name) for name in chips.get(pid, ())] for pid in plan.paper_ids],
            why=plan.why or {},
            subject=subject,
            preheader=preheader,
            key=new_key(),
        )

    def _chip_names(self, topic_key: str) -> tuple[list[str], dict[str, int]]:
        """The names a row keeps for a topic set (its topics', and any other name a chip
        carries, e.g. a topic renamed while the run goes on) and each name's place."""
        if self._name_at[0] != topic_key:
            names = list(self._topic_names(topic_key))
            self._name_at = (topic_key, names, {name: n for n, name in enumerate(names)})
        return self._name_at[1], self._name_at[2]

    def _topic_names(self, topic_key: str) -> list[str]:
        """The names of a topic set's topics (kept for the current set)."""
        names = self._names.get(topic_key)
        if names is None:
            self._names = {topic_key: [t.name for t in self.topics(parse_topic_key(topic_key))]}
            names = self._names[topic_key]
        return names

    def _chips_of(self, plan: Plan) -> dict[int, list[str]]:
        """The topic chips of a plan's papers (kept per date, frequency and topic set)."""
        reader = plan.reader
        _current_set_only(self._chips, reader.topic_key)
        known = self._chips.setdefault((reader.digest_date, reader.frequency, reader.topic_key), {})
        missing = [pid for pid in plan.paper_ids if pid not in known]
        if missing:
            pool = self.pool(reader.digest_date, reader.frequency)
            topic_ids = parse_topic_key(reader.topic_key)
            known.update((pid, pool.chips(pid, topic_ids)) for pid in missing)
        return known

    def _headline(self, plan: Plan, first: list[Paper], topic_names: list[str]) -> tuple[str, str]:
        """Subject (made once per lead paper and length) and preheader of a personal list."""
        reader = plan.reader
        key = (reader.digest_date, reader.frequency, first[0].pk, len(plan.paper_ids))
        subject = self._subjects.get(key)
        if subject is None:
            subject = subject_line(
                first[0].title,
                len(plan.paper_ids),
                digest_date=reader.digest_date,
                frequency=reader.frequency,
            )
            self._subjects[key] = subject
        preheader = preheader_for(
            len(plan.paper_ids),
            topic_names=topic_names,
            personal=True,
            next_titles=[p.title for p in first[1:]],
        )
        return subject, preheader

    def _render(self, plan: Plan) -> Edition:
        reader = plan.reader
        pool = self.pool(reader.digest_date, reader.frequency)
        topic_ids = parse_topic_key(reader.topic_key)
        papers = [pool.paper(pid) for pid in plan.paper_ids]
        edition = Edition(
            digest_date=reader.digest_date,
            frequency=reader.frequency,
            topic_key=reader.topic_key,
            content_key=plan.key,
            paper_ids=list(plan.paper_ids),
        )
        rendered = render_digest(
            papers=papers,
            topics=self.topics(topic_ids),
            digest_date=reader.digest_date,
            frequency=reader.frequency,
            chips={pid: pool.chips(pid, topic_ids) for pid in plan.paper_ids},
            topic_why={pid: pool.why(pid, topic_ids) for pid in plan.paper_ids},
            web_url=absolute(reverse("digest:edition", args=[edition.slug])),
            renderer=self.renderer,
        )
        edition.subject, edition.preheader = rendered.subject, rendered.preheader
        edition.html, edition.text = rendered.html, rendered.text
        return edition


class Bundled(NamedTuple):
    """A row of personal lists to store, and the (date, key) pairs of the plans it keeps."""

    row: NewEdition
    pairs: list[tuple[dt.date, str]]


class Editions(NamedTuple):
    """A chunk's editions: ids of those stored, and rows of personal lists still to store."""

    known: dict[tuple[dt.date, str], int]
    personal: list[Bundled]
    wanted: list[tuple[dt.date, str]]

    def store(self) -> dict[tuple[dt.date, str], int]:
        """Store the rows of personal lists; ids for every (date, key) wanted."""
        own: dict[tuple[dt.date, str], int] = {}
        if self.personal:
            ids = storage.insert_editions([b.row for b in self.personal])
            for bundle in self.personal:
                row_id = ids[(bundle.row.digest_date, bundle.row.content_key)]
                own.update((pair, row_id) for pair in bundle.pairs)
        return {pair: own.get(pair) or self.known[pair] for pair in self.wanted}


def chip_place(names: list[str], at: dict[str, int], name: str) -> int:
    """A chip's place in a set's kept names, a name not there yet added at the end."""
    place = at.get(name)
    if place is None:
        place = at[name] = len(names)
        names.append(name)
    return place


def _current_set_only(cache: dict[Any, Any], topic_key: str) -> None:
    """Empty a cache keyed (date, frequency, topic set, …) when a new topic set comes: readers
    come ordered by topic set, so one set's entries are never needed again, and a run keeps
    what it caches per set for the current set only (memory bounded by one set, not 2,000)."""
    if cache and next(iter(cache))[2] != topic_key:
        cache.clear()


def _existing_on(days: Iterable[dt.date]) -> Iterable[tuple[tuple[dt.date, str], int]]:
    rows = Edition.objects.filter(digest_date__in=list(days)).values_list("digest_date", "content_key", "pk")
    return (((day, key), pk) for day, key, pk in rows)


def plan_for_subscriber(*, subscriber: Subscriber, digest_date: dt.date) -> list[Paper]:
    """The papers `subscriber` would get on `digest_date` (the pipeline's own rules); writes nothing."""
    reader = DueReader.for_subscriber(subscriber, digest_date)
    planner = Planner(now=timezone.now())
    (plan,) = planner.plan([reader])
    if plan.why is not None:
        index, _ = planner.personal(digest_date, subscriber.frequency)
        return [index.papers[pid] for pid in plan.paper_ids]
    pool = planner.pool(digest_date, subscriber.frequency)
    return [pool.paper(pid) for pid in plan.paper_ids]
