"""Editor services: pin, hide, annotate papers and fix their topics by hand.

Admin actions, admin forms and any task call these same functions. Each one writes in one
transaction and, when given the acting user, records an admin LogEntry per paper.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from digest.catalog.freshness import catalog_changed
from digest.models import Delivery, Paper, PaperTopic, SendingSettings
from subscriptions.models import Topic

EDITOR_NOTE_MAX = 500
MANUAL_REASON = "set by editor"
CONFIRMED_REASON = "confirmed by editor"
REJECTED_REASON = "rejected by editor"

User = AbstractBaseUser | AnonymousUser


class CurationError(ValueError):
    """Bad editor input (an empty range, a note too long); nothing was changed."""


def _log(user: User | None, papers: Sequence[Paper], message: str) -> None:
    if user is None or user.pk is None or not papers:
        return
    LogEntry.objects.log_actions(user_id=user.pk, queryset=papers, action_flag=CHANGE, change_message=message)


def _update(papers: Iterable[Paper], *, user: User | None, message: str, **fields: object) -> int:
    chosen = list(papers)
    with transaction.atomic():
        changed = Paper.objects.filter(pk__in=[p.pk for p in chosen]).update(
            updated_at=timezone.now(), **fields
        )
        _log(user, chosen, message)
        catalog_changed()
    for paper in chosen:
        for name, value in fields.items():
            setattr(paper, name, value)
    return changed


def pin_papers(
    *,
    papers: Iterable[Paper],
    start: dt.date | None = None,
    end: dt.date | None = None,
    user: User | None = None,
) -> int:
    """Pin papers to the top of digests, optionally only for digest days start..end (inclusive).

    Raises CurationError for an empty range (nothing changes). Returns papers changed.
    """
    if start and end and end < start:
        raise CurationError("the pin must end on or after the day it starts")
    when = f" from {start or 'now'} until {end or 'unpinned'}" if (start or end) else ""
    return _update(
        papers, user=user, message=f"Pinned{when}.", pinned=True, pinned_from=start, pinned_until=end
    )


def unpin_papers(*, papers: Iterable[Paper], user: User | None = None) -> int:
    """Remove any pin (and its date range). Idempotent."""
    return _update(papers, user=user, message="Unpinned.", pinned=False, pinned_from=None, pinned_until=None)


def hide_papers(*, papers: Iterable[Paper], user: User | None = None) -> int:
    """Keep papers out of every digest, page and feed from now on. Idempotent."""
    return _update(papers, user=user, message="Hidden from digests.", hidden=True)


def unhide_papers(*, papers: Iterable[Paper], user: User | None = None) -> int:
    """Let hidden papers back into digests. Idempotent."""
    return _update(papers, user=user, message="Shown in digests again.", hidden=False)


def set_editor_note(*, paper: Paper, note: str, user: User | None = None) -> None:
    """Set (or, with an empty note, clear) the note shown under the paper in the email."""
    clean = " ".join((note or "").split())
    if len(clean) > EDITOR_NOTE_MAX:
        raise CurationError(f"an editor's note has at most {EDITOR_NOTE_MAX} characters")
    message = f"Editor's note set: {clean[:80]}" if clean else "Editor's note cleared."
    _update([paper], user=user, message=message, editor_note=clean)


def set_manual_topics(*, paper: Paper, topics: Iterable[Topic], user: User | None = None) -> None:
    """Make `topics` exactly the paper's topics, by hand: matching never changes these rows.

    Chosen topics get a manual match; every other topic gets a manual exclusion. Atomic.
    """
    chosen = {t.pk for t in topics}
    all_ids = set(Topic.objects.values_list("pk", flat=True))
    if chosen - all_ids:
        raise CurationError("unknown topic")
    with transaction.atomic():
        existing = {row.topic_id: row for row in PaperTopic.objects.select_for_update().filter(paper=paper)}
        create, update = [], []
        for topic_id in sorted(all_ids):
            keep = topic_id in chosen
            row = existing.get(topic_id)
            if row is None:
                row = PaperTopic(paper=paper, topic_id=topic_id, score=1.0 if keep else 0.0)
                create.append(row)
            else:
                update.append(row)
            row.manual, row.excluded = True, not keep
            row.reason = MANUAL_REASON if keep else "removed by editor"
            if keep and row.score <= 0:
                row.score = 1.0
        PaperTopic.objects.bulk_create(create)
        PaperTopic.objects.bulk_update(update, ["manual", "excluded", "reason", "score"])
        catalog_changed()
        names = ", ".join(Topic.objects.filter(pk__in=chosen).values_list("name", flat=True)) or "none"
        _log(user, [paper], f"Topics set by hand: {names}.")
        _learn_after_commit()


def decide_match(*, paper: Paper, topic: Topic, belongs: bool, user: User | None = None) -> None:
    """An editor's verdict on one paper and one topic: confirmed (it belongs) or rejected.

    Kept as a manual row that re-matching never changes, and learned from: the matching model
    is retrained after commit (digest.tasks.learn_from_decisions). Idempotent.
    """
    with transaction.atomic():
        row, _ = PaperTopic.objects.select_for_update().get_or_create(
            paper=paper, topic=topic, defaults={"score": 1.0 if belongs else 0.0}
        )
        row.manual, row.excluded = True, not belongs
        row.reason = CONFIRMED_REASON if belongs else REJECTED_REASON
        if belongs and row.score <= 0:
            row.score = 1.0
        row.save(update_fields=["manual", "excluded", "reason", "score", "matched_at"])
        verdict = "confirmed" if belongs else "rejected"
        _log(user, [paper], f"Topic {topic.name} {verdict} by editor.")
        _learn_after_commit()


def undo_decision(*, paper: Paper, topic: Topic, user: User | None = None) -> None:
    """Forget an editor's verdict on one paper and topic: automatic matching decides again."""
    from digest.catalog.matching import rematch_papers

    with transaction.atomic():
        deleted, _ = PaperTopic.objects.filter(paper=paper, topic=topic, manual=True).delete()
        rematch_papers(papers=Paper.objects.filter(pk=paper.pk), topics=[topic])
        if deleted:
            _log(user, [paper], f"Topic {topic.name} back to automatic matching.")
            _learn_after_commit()


def _learn_after_commit() -> None:
    from digest.tasks import learn_from_decisions

    transaction.on_commit(lambda: learn_from_decisions.delay())


def clear_manual_topics(*, paper: Paper, user: User | None = None) -> None:
    """Drop the editor's topic fix and let automatic matching decide again (re-matches now)."""
    from digest.catalog.matching import rematch_papers

    with transaction.atomic():
        PaperTopic.objects.filter(paper=paper, manual=True).delete()
        rematch_papers(papers=Paper.objects.filter(pk=paper.pk))
        _log(user, [paper], "Topics back to automatic matching.")
        _learn_after_commit()


def retry_deliveries(*, delivery_ids: Iterable[int]) -> list[int]:
    """Put failed deliveries back in the queue (a conditional update decides) and send them.

    Only rows still `failed` are re-queued, so a double click sends nothing twice; the send
    task is enqueued after commit. Refused (CurationError, nothing changes) while sending is
    paused. Returns the ids re-queued.
    """
    from digest.tasks import enqueue_chunk

    if SendingSettings.load().sending_paused:
        raise CurationError("sending is paused (kill switch): resume sending first")
    ids = list(delivery_ids)
    with transaction.atomic():
        requeue = list(
            Delivery.objects.select_for_update()
            .filter(pk__in=ids, status=Delivery.Status.FAILED)
            .values_list("pk", flat=True)
        )
        Delivery.objects.filter(pk__in=requeue, status=Delivery.Status.FAILED).update(
            status=Delivery.Status.QUEUED, error="", claimed_at=None, updated_at=timezone.now()
        )
        if requeue:
            enqueue_chunk(requeue)
    return requeue
