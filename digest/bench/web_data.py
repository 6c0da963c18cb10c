"""A catalog for the web load test: the seed papers, copied onto earlier listing days until
the catalog holds the papers asked for. Real titles and abstracts (so search has real words to
find), the seeds' topic matches copied with them, upvotes drawn afresh for each copy."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from django.db import transaction

from digest.models import Paper, PaperTopic

BATCH = 2_000
COPIED_FIELDS = (
    "title", "abstract", "authors", "published_at", "source", "comments", "github_repo",
    "github_stars", "project_page", "ai_summary", "ai_keywords", "categories", "organization",
    "primary_category", "on_hf", "on_arxiv", "vector",
)  # fmt: skip


def fill_catalog(target: int, *, seed: int = 7, progress: Callable[[int], object] = lambda n: None) -> int:
    """Add copies of the papers already in the catalog (the seeds) until it holds `target`
    papers; each copy is listed one more day back than the last round. Returns papers added."""
    originals = list(Paper.objects.order_by("pk"))
    if not originals:
        return 0
    matches: dict[int, list[PaperTopic]] = {}
    for match in PaperTopic.objects.filter(excluded=False):
        matches.setdefault(match.paper_id, []).append(match)
    rng = random.Random(seed)
    earliest = min(paper.listed_on for paper in originals)
    needed = target - Paper.objects.count()
    added = 0
    round_no = 0
    while added < needed:
        round_no += 1
        day = earliest - dt.timedelta(days=round_no)
        batch = originals[: min(len(originals), needed - added)]
        copies = [_copy(paper, round_no, day, rng) for paper in batch]
        with transaction.atomic():
            made = Paper.objects.bulk_create(copies, batch_size=BATCH)
            PaperTopic.objects.bulk_create(
                [
                    PaperTopic(paper=copy, topic_id=m.topic_id, score=m.score, reason=m.reason)
                    for original, copy in zip(batch, made, strict=True)
                    for m in matches.get(original.pk, [])
                ],
                batch_size=BATCH,
            )
        added += len(made)
        progress(len(made))
    return added


def _copy(paper: Paper, round_no: int, day: dt.date, rng: random.Random) -> Paper:
    copy = Paper(**{name: getattr(paper, name) for name in COPIED_FIELDS})
    copy.paper_id = f"{paper.paper_id}-r{round_no}"
    copy.listed_on = day
    copy.upvotes = int(rng.paretovariate(1.2) * 4) - 4
    return copy
