""" "More like this" / "less like this": recorded by a deliberate click, kept per reader and
paper, and folded into the reader's planning profile (Subscriber.profile "more" / "less")."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from digest.models import Feedback, Paper
from subscriptions.interests import with_profile
from subscriptions.models import Subscriber

# The most recent choices of each kind that planning weighs (older ones stay recorded).
PROFILE_LIMIT = 50


def record_feedback(*, subscriber: Subscriber, paper: Paper, value: int) -> Feedback:
    """Keep the reader's choice for this paper (a second click changes it); atomic."""
    if value not in Feedback.Value.values:
        raise ValueError("feedback is +1 (more like this) or -1 (less like this)")
    with transaction.atomic():
        feedback, _ = Feedback.objects.update_or_create(
            subscriber=subscriber, paper=paper, defaults={"value": value}
        )
        _refresh_profile(subscriber)
    return feedback


def undo_feedback(*, subscriber: Subscriber, paper: Paper) -> bool:
    """Forget the reader's choice for this paper; True when there was one. Atomic."""
    with transaction.atomic():
        deleted, _ = Feedback.objects.filter(subscriber=subscriber, paper=paper).delete()
        _refresh_profile(subscriber)
    return bool(deleted)


def feedback_on(*, subscriber: Subscriber, paper: Paper) -> int:
    """The reader's current choice for the paper: +1, -1, or 0 for none."""
    value = (
        Feedback.objects.filter(subscriber=subscriber, paper=paper).values_list("value", flat=True).first()
    )
    return int(value or 0)


def _refresh_profile(subscriber: Subscriber) -> None:
    locked = Subscriber.objects.select_for_update().only("pk", "profile").get(pk=subscriber.pk)
    rows = Feedback.objects.filter(subscriber=subscriber).order_by("-updated_at", "-pk")
    more = list(rows.filter(value=Feedback.Value.MORE).values_list("paper_id", flat=True)[:PROFILE_LIMIT])
    less = list(rows.filter(value=Feedback.Value.LESS).values_list("paper_id", flat=True)[:PROFILE_LIMIT])
    profile = with_profile(locked.profile, more=list(more), less=list(less))
    Subscriber.objects.filter(pk=subscriber.pk).update(profile=profile, updated_at=timezone.now())
    subscriber.profile = profile
