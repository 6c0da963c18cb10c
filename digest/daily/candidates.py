"""Candidate papers per topic set, computed once per dispatch — never per reader.

A topic set's order is the merge of its topics' ranked lists: the trending score
is (engagement + 1 + relevance) / decay, so a paper's score for a set is the best
of its per-topic scores, and merging per-topic lists (each sorted pinned first,
then by score) gives exactly the set's order. Every topic is ranked
from one query set (4 queries), whatever the number of readers, topics or topic sets.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from django.utils import timezone

from digest.catalog.ranking import rank_paper, ranked_papers
from digest.catalog.trending import TrendingParams
from digest.daily.why import topic_why
from digest.models import Paper
from subscriptions.models import Topic

DAILY = "daily"
WEEKLY = "weekly"


def listing_days(*, digest_date: dt.date, frequency: str) -> list[dt.date]:
    """The listing days a digest covers: daily = the last listing day on or before the
    digest date; weekly = the seven days ending on the digest date."""
    if frequency == WEEKLY:
        return [digest_date - dt.timedelta(days=n) for n in range(7)]
    last = (
        Paper.objects.filter(listed_on__lte=digest_date, hidden=False, withdrawn=False)
        .order_by("-listed_on")
        .values_list("listed_on", flat=True)
        .first()
    )
    return [last] if last else []


def parse_topic_key(topic_key: str) -> tuple[int, ...]:
    """ "3,7,12" → (3, 7, 12); junk is ignored."""
    return tuple(sorted({int(part) for part in topic_key.split(",") if part.strip().isdigit()}))


@dataclass
class CandidatePool:
    """Ranked candidates for one digest date and frequency, shared by every reader."""

    digest_date: dt.date
    frequency: str
    now: dt.datetime = field(default_factory=timezone.now)
    _days: list[dt.date] | None = None
    _per_topic: dict[int, list[tuple[bool, float, int, int]]] = field(default_factory=dict)
    _papers: dict[int, Paper] = field(default_factory=dict)
    _chips: dict[tuple[int, int], str] = field(default_factory=dict)
    _why: dict[tuple[int, int], str] = field(default_factory=dict)
    _sets: dict[tuple[int, ...], tuple[list[int], bool]] = field(default_factory=dict)
    _ranked_all: bool = False
    _best: dict[int, tuple[float, bool]] = field(default_factory=dict)  # paper → best score, pinned
    topic_ids: list[int] | None = None  # every topic's id, when the caller has them already
    # Papers already loaded by another pool of the run (daily and weekly show the same
    # papers): one object per paper, however many pools hold it.
    shared: dict[int, Paper] = field(default_factory=dict)

    def _keep(self, paper: Paper) -> Paper:
        """The run's one object for this paper (`paper` itself the first time)."""
        return self._papers.setdefault(paper.pk, self.shared.setdefault(paper.pk, paper))

    @property
    def days(self) -> list[dt.date]:
        if self._days is None:
            self._days = listing_days(digest_date=self.digest_date, frequency=self.frequency)
        return self._days

    def _ranked_for_topic(self, topic_id: int) -> list[tuple[bool, float, int, int]]:
        if not self._ranked_all:
            self._rank_every_topic()
        return self._per_topic.get(topic_id, [])

    def _rank_every_topic(self) -> None:
        """Rank every topic's papers from ONE ranked_papers call (4 queries in all): a paper's
        score for a topic is the trending score with that topic's relevance alone, exactly
        what ranking the topic on its own gives. Per topic only sort keys are kept
        (pinned first, score, upvotes, id), and the papers drop their prefetched rows."""
        self._ranked_all = True
        topic_ids = (
            self.topic_ids if self.topic_ids is not None else list(Topic.objects.values_list("pk", flat=True))
        )
        ranked = (
            ranked_papers(days=self.days, topic_ids=topic_ids, now=self.now, lean=True) if self.days else []
        )
        params = TrendingParams.from_settings()
        for item in ranked:
            paper = item.paper
            matches = paper.ranked_matches  # type: ignore[attr-defined]
            self._keep(paper)
            for match in matches:
                paper.ranked_matches = [match]  # type: ignore[attr-defined]
                one = rank_paper(paper, now=self.now, params=params)
                self._per_topic.setdefault(match.topic_id, []).append(
                    (not one.pinned, -one.score, -paper.upvotes, paper.pk)
                )
                self._chips[(paper.pk, match.topic_id)] = match.topic.name
                self._why[(paper.pk, match.topic_id)] = topic_why(
                    match.topic.name, match.reason, manual=match.manual
                )
                best = self._best.get(paper.pk)
                if best is None or one.score > best[0]:
                    self._best[paper.pk] = (one.score, one.pinned)
            del paper.ranked_matches, paper.latest_snapshots  # type: ignore[attr-defined]
        for items in self._per_topic.values():
            items.sort()

    def _merged(self, topic_ids: Sequence[int]) -> Iterator[int]:
        seen: set[int] = set()
        for *_, paper_id in heapq.merge(*(self._ranked_for_topic(t) for t in topic_ids)):
            if paper_id not in seen:
                seen.add(paper_id)
                yield paper_id

    def candidates(self, topic_ids: Sequence[int], *, at_least: int = 60) -> list[int]:
        """Paper ids for a topic set, best first (at least `at_least` when there are that many)."""
        key = tuple(sorted(topic_ids))
        ids, complete = self._sets.get(key, ([], False))
        if len(ids) < at_least and not complete:
            limit = max(at_least, 60)
            ids = list(itertools.islice(self._merged(key), limit))
            complete = len(ids) < limit
            self._sets[key] = (ids, complete)
        return ids

    def pick(self, topic_ids: Sequence[int], *, count: int, exclude: set[int]) -> list[int]:
        """The first `count` candidates of a topic set not in `exclude` (recently sent)."""
        need = count + len(exclude)
        chosen = [pid for pid in self.candidates(topic_ids, at_least=need) if pid not in exclude]
        return chosen[:count]

    def paper(self, paper_id: int) -> Paper:
        return self._papers[paper_id]

    def every_paper(self) -> Iterator[tuple[Paper, float, bool]]:
        """(paper, trending score, pinned) of every visible paper of the days: the ranked topic
        papers (their best score over topics), then those no topic matches (three queries)."""
        if not self._ranked_all:
            self._rank_every_topic()
        for pk, (score, pinned) in self._best.items():
            yield self._papers[pk], score, pinned
        if self.days:
            for item in ranked_papers(days=self.days, now=self.now, lean=True, untopical=True):
                del item.paper.ranked_matches, item.paper.latest_snapshots  # type: ignore[attr-defined]
                yield self._keep(item.paper), item.score, item.pinned

    def why(self, paper_id: int, topic_ids: Sequence[int]) -> list[str]:
        """Per matched topic of the set, why the paper is there (digest.daily.why)."""
        return [self._why[(paper_id, t)] for t in sorted(topic_ids) if (paper_id, t) in self._why]

    def chips(self, paper_id: int, topic_ids: Sequence[int]) -> list[str]:
        """Names of the set's topics this paper matched (why it is in the digest)."""
        return [self._chips[(paper_id, t)] for t in sorted(topic_ids) if (paper_id, t) in self._chips]
