"""Writes about readers: sign-up, double opt-in, preferences, leaving, suppression.

Every service here is the only way its state changes; views, admin, webhooks and
tasks call these. Each write runs in one transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from subscriptions import emails, signals, tasks
from subscriptions.interests import Interests, with_profile
from subscriptions.localtime import is_valid_timezone, local_date
from subscriptions.models import EmailEvent, Subscriber, Suppression, Topic

logger = logging.getLogger(__name__)

SIGNUP_FORM_VERSION = "signup-2026-12"
NOTHING_CHOSEN = "Choose at least one topic, or follow a keyword or an author."
DELETED = "deleted"
MAX_PAUSE_WEEKS = 52
_SUPPRESSION_STATUS = {
    "bounced": Subscriber.Status.BOUNCED,
    "complained": Subscriber.Status.COMPLAINED,
}


def _queue_account_email(subscriber: Subscriber, kind: str) -> None:
    """Hand the email to a worker once the current transaction commits (at once outside
    one), so a worker never looks for a row that is not there yet, and a rolled-back sign-up
    mails nobody. Run in-process when no broker is set; sent inline if the broker is
    unreachable, so a reader is never left without their link."""
    pk = subscriber.pk

    def queue() -> None:
        try:
            tasks.send_account_email.delay(pk, kind)
        except Exception:
            logger.exception("Could not queue the %s email; sending it now", kind)
            tasks.send_account_email(pk, kind)

    transaction.on_commit(queue)


def is_suppressed(email: str) -> bool:
    """True when `email` must never be mailed again (a hard bounce or a complaint).

    A reader who deleted their data is remembered too ("deleted"), but that never blocks a
    fresh sign-up: double opt-in asks the address's owner again, and their confirmation
    lifts it (confirm_subscription)."""
    return Suppression.objects.filter(email_hash=emails.email_hash(email)).exclude(reason=DELETED).exists()


def _add_suppression(email: str, reason: str) -> None:
    Suppression.objects.get_or_create(email_hash=emails.email_hash(email), defaults={"reason": reason[:32]})


@dataclass(frozen=True)
class Preferences:
    """What, when and how much a reader gets: the choices of the sign-up and preference forms.

    `interests` is None where a form does not ask for them (they are then left as they are)."""

    topics: tuple[Topic, ...]
    frequency: str = Subscriber.Frequency.DAILY
    weekday: int = 0
    delivery_hour: int = 7
    time_zone: str = "UTC"
    papers_per_email: int = 10
    interests: Interests | None = None

    def validate(self, *, current: Interests | None = None) -> None:
        """Raise ValueError naming the first value a reader could not have chosen. A reader needs
        at least one topic, keyword or author (`current`: the interests kept when none are given)."""
        interests = self.interests or current or Interests()
        interests.validate()
        if not self.topics and not interests.attracts:
            raise ValueError(NOTHING_CHOSEN)
        if self.frequency not in Subscriber.Frequency.values:
            raise ValueError(f"unknown frequency {self.frequency!r}")
        if not 0 <= self.weekday <= 6:
            raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")
        if not 0 <= self.delivery_hour <= 23:
            raise ValueError("delivery hour must be 0 to 23")
        if not is_valid_timezone(self.time_zone):
            raise ValueError(f"unknown time zone {self.time_zone!r}")
        if self.papers_per_email not in dict(Subscriber.PAPERS_PER_EMAIL_CHOICES):
            raise ValueError("papers per email must be 5, 10 or 20")

    def apply_to(self, subscriber: Subscriber) -> list[str]:
        """Set the reader's scheduling fields (not topics); the names of the fields set."""
        subscriber.frequency = self.frequency
        subscriber.weekday = self.weekday
        subscriber.delivery_hour = self.delivery_hour
        subscriber.timezone = self.time_zone
        subscriber.papers_per_email = self.papers_per_email
        return ["frequency", "weekday", "delivery_hour", "timezone", "papers_per_email"]


def set_topics(*, subscriber: Subscriber, topics: Iterable[Topic], allow_none: bool = False) -> None:
    """Replace the reader's topics and keep `topic_key` in sync; atomic. At least one topic,
    unless `allow_none` (the reader follows keywords or authors instead)."""
    chosen = sorted({topic.pk: topic for topic in topics}.values(), key=lambda topic: topic.pk)
    if not chosen and not allow_none:
        raise ValueError("choose at least one topic")
    with transaction.atomic():
        subscriber.topics.set(chosen)
        subscriber.topic_key = ",".join(str(topic.pk) for topic in chosen)
        subscriber.save(update_fields=["topic_key", "updated_at"])


def update_preferences(*, subscriber: Subscriber, preferences: Preferences) -> None:
    """Change what, when and how much the reader gets; validates everything, then writes atomically."""
    preferences.validate(current=interests_of(subscriber))
    with transaction.atomic():
        changed = preferences.apply_to(subscriber)
        subscriber.save(update_fields=[*changed, "updated_at"])
        if preferences.interests is not None:
            set_interests(subscriber=subscriber, interests=preferences.interests)
        set_topics(subscriber=subscriber, topics=preferences.topics, allow_none=True)


def interests_of(subscriber: Subscriber) -> Interests:
    return Interests(
        keywords=tuple(subscriber.keywords or ()),
        authors=tuple(subscriber.authors or ()),
        exclude_words=tuple(subscriber.exclude_words or ()),
    )


def set_interests(*, subscriber: Subscriber, interests: Interests) -> None:
    """Replace the reader's keywords, followed authors and excluded words (validated) and the
    profile the daily run reads; atomic (the row is locked: feedback writes it too)."""
    interests.validate()
    lists = interests.as_lists()
    with transaction.atomic():
        locked = Subscriber.objects.select_for_update().only("pk", "profile").get(pk=subscriber.pk)
        profile = with_profile(locked.profile, **lists)
        Subscriber.objects.filter(pk=subscriber.pk).update(
            **lists, profile=profile, updated_at=timezone.now()
        )
    for kind, values in lists.items():
        setattr(subscriber, kind, values)
    subscriber.profile = profile


def _restart_opt_in(
    subscriber: Subscriber, preferences: Preferences, *, ip: str | None, user_agent: str
) -> Subscriber:
    """Make the reader pending with these preferences and this form's consent trail."""
    subscriber.status = Subscriber.Status.PENDING
    subscriber.consent_form_version = SIGNUP_FORM_VERSION
    # Where the form came from; the confirming click overwrites these with its own.
    subscriber.consent_ip = ip or None
    subscriber.consent_user_agent = (user_agent or "")[:400]
    subscriber.confirmation_sent_at = timezone.now()
    subscriber.save()
    update_preferences(subscriber=subscriber, preferences=preferences)
    return subscriber


def queue_signup(*, email: str, preferences: Preferences, ip: str | None, user_agent: str) -> None:
    """Hand a validated sign-up to a worker (tasks.process_signup runs request_subscription).

    A sign-up page answers the same way, after the same work, whatever state the address is in
    (new, pending, active, unsubscribed, suppressed): the state-dependent work happens in the
    task, so response times tell nothing about an address. Run inline if the broker is down."""
    keywords = list(preferences.interests.keywords if preferences.interests else ())

    def submit(run: Callable[..., object]) -> None:
        run(
            email=email,
            topic_ids=[t.pk for t in preferences.topics],
            frequency=preferences.frequency,
            weekday=preferences.weekday,
            delivery_hour=preferences.delivery_hour,
            time_zone=preferences.time_zone,
            papers_per_email=preferences.papers_per_email,
            keywords=keywords,
            ip=ip,
            user_agent=(user_agent or "")[:400],
        )

    try:
        submit(tasks.process_signup.delay)
    except Exception:
        logger.exception("Could not queue a sign-up; handling it now")
        submit(tasks.process_signup)


def request_subscription(*, email: str, preferences: Preferences, ip: str | None, user_agent: str) -> None:
    """Start (or restart) double opt-in for `email`; the caller shows the same page whatever happens.

    New, pending or unsubscribed → pending with these preferences + a confirmation email.
    Active → a "manage your subscription" email, nothing changes. Suppressed → nothing.
    """
    email = emails.normalize_email(email)
    if is_suppressed(email):
        logger.info("Sign-up for a suppressed address ignored")
        return
    # Mailboxes ignore case in practice: "Ada@x.org" and "ada@x.org" are one reader.
    existing = Subscriber.objects.filter(email__iexact=email).order_by("pk").first()
    if existing is not None and existing.status == Subscriber.Status.ACTIVE:
        _queue_account_email(existing, "manage")
        return
    if existing is not None and existing.status in _SUPPRESSION_STATUS.values():
        return  # bounced / complained: never mailed again
    try:
        with transaction.atomic():
            subscriber = _restart_opt_in(
                existing or Subscriber(email=email), preferences, ip=ip, user_agent=user_agent
            )
            _queue_account_email(subscriber, "confirm")
    except IntegrityError:
        logger.info("Concurrent sign-up for one address; the first one wins")


def resend_confirmation(*, subscriber: Subscriber) -> bool:
    """Queue a fresh confirmation email for a pending reader; False (nothing queued) otherwise."""
    if subscriber.status != Subscriber.Status.PENDING or is_suppressed(subscriber.email):
        return False
    Subscriber.objects.filter(pk=subscriber.pk).update(confirmation_sent_at=timezone.now())
    _queue_account_email(subscriber, "confirm")
    return True


def confirm_subscription(*, subscriber: Subscriber, ip: str | None, user_agent: str) -> bool:
    """Activate a pending reader and record consent (when, IP, UA, form version, topics).

    True when the reader is active afterwards (confirming twice is harmless); False when the
    reader left, bounced or complained since (nothing changes). A conditional update decides.
    """
    now = timezone.now()
    topics = list(subscriber.topics.order_by("slug").values_list("slug", flat=True))
    changed = Subscriber.objects.filter(pk=subscriber.pk, status=Subscriber.Status.PENDING).update(
        status=Subscriber.Status.ACTIVE,
        confirmed_at=now,
        consent_at=now,
        consent_ip=ip or None,
        consent_user_agent=(user_agent or "")[:400],
        consent_topics=topics,
        soft_bounce_count=0,
        updated_at=now,
    )
    subscriber.refresh_from_db()
    if changed:  # a fresh, confirmed opt-in: an earlier "delete me" no longer stands
        Suppression.objects.filter(email_hash=emails.email_hash(subscriber.email), reason=DELETED).delete()
    return bool(changed) or subscriber.status == Subscriber.Status.ACTIVE


def unsubscribe(*, subscriber: Subscriber, reason: str) -> bool:
    """Stop all mail to the reader at once, recording status, time and reason; idempotent.

    True when this call changed the status (pending or active → unsubscribed).
    """
    now = timezone.now()
    changed = Subscriber.objects.filter(
        pk=subscriber.pk, status__in=[Subscriber.Status.PENDING, Subscriber.Status.ACTIVE]
    ).update(
        status=Subscriber.Status.UNSUBSCRIBED,
        unsubscribed_at=now,
        unsubscribe_reason=(reason or "")[:64],
        updated_at=now,
    )
    subscriber.refresh_from_db()
    return bool(changed)


def pause(*, subscriber: Subscriber, weeks: int) -> dt.date | None:
    """Pause mail for `weeks` weeks from the reader's local today (0 resumes); the end date."""
    if not isinstance(weeks, int) or not 0 <= weeks <= MAX_PAUSE_WEEKS:
        raise ValueError(f"weeks must be 0 to {MAX_PAUSE_WEEKS}")
    until = local_date(subscriber.timezone) + dt.timedelta(weeks=weeks) if weeks else None
    subscriber.paused_until = until
    subscriber.save(update_fields=["paused_until", "updated_at"])
    return until


def suppress(*, subscriber: Subscriber, reason: str) -> None:
    """Never mail this reader again: status bounced/complained and a Suppression hash; idempotent."""
    status = _SUPPRESSION_STATUS.get(reason)
    if status is None:
        raise ValueError(f"unknown suppression reason {reason!r}")
    with transaction.atomic():
        _add_suppression(subscriber.email, reason)
        Subscriber.objects.filter(pk=subscriber.pk).exclude(status=status).update(
            status=status, updated_at=timezone.now()
        )
    subscriber.refresh_from_db()


def delete_subscriber(*, subscriber: Subscriber) -> None:
    """Remove the reader and their personal data (events, deliveries); keep only a "deleted"
    Suppression hash as the record that they left. Nothing mails a deleted reader (no row is
    left); a fresh sign-up is still possible and its confirmation lifts the mark. Atomic."""
    with transaction.atomic():
        _add_suppression(subscriber.email, DELETED)
        EmailEvent.objects.filter(subscriber=subscriber).delete()
        EmailEvent.objects.filter(recipient__iexact=subscriber.email).delete()
        subscriber.delete()


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value else None


def export_data(*, subscriber: Subscriber) -> dict[str, Any]:
    """Everything stored about the reader, as JSON-ready data ("download my data"); other apps
    add their parts (feedback, deliveries) through `signals.reader_data_requested`."""
    data: dict[str, Any] = {
        "email": subscriber.email,
        "status": subscriber.status,
        "topics": [{"slug": t.slug, "name": t.name} for t in subscriber.topics.order_by("slug")],
        "frequency": subscriber.frequency,
        "weekday": subscriber.weekday,
        "delivery_hour": subscriber.delivery_hour,
        "timezone": subscriber.timezone,
        "papers_per_email": subscriber.papers_per_email,
        "paused_until": _iso(subscriber.paused_until),
        "consent": {
            "at": _iso(subscriber.consent_at),
            "ip": subscriber.consent_ip,
            "user_agent": subscriber.consent_user_agent,
            "form_version": subscriber.consent_form_version,
            "topics": subscriber.consent_topics,
        },
        "created_at": _iso(subscriber.created_at),
        "confirmation_sent_at": _iso(subscriber.confirmation_sent_at),
        "confirmed_at": _iso(subscriber.confirmed_at),
        "unsubscribed_at": _iso(subscriber.unsubscribed_at),
        "unsubscribe_reason": subscriber.unsubscribe_reason,
        "email_events": [
            {"type": e.event_type, "occurred_at": _iso(e.occurred_at), "esp": e.esp_name}
            for e in subscriber.events.order_by("received_at")
        ],
        "interests": interests_of(subscriber).as_lists(),
        "exported_at": timezone.now().isoformat(),
        "site": settings.SITE_URL,
    }
    for _, part in signals.reader_data_requested.send(sender=Subscriber, subscriber=subscriber):
        if isinstance(part, dict):
            data.update(part)
    return data
