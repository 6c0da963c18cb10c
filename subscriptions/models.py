"""Readers and what they subscribe to. Models hold data and invariants only;
state changes live in services (subscriptions/services.py and friends)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.text import slugify


class Topic(models.Model):
    """A subject a reader can subscribe to, defined by match rules.

    Rules are matched against papers in `digest.catalog` (never per reader; see
    digest/catalog/rules.py): `terms` are specific words or phrases (one mention is
    evidence), `weak_terms` generic ones (they count in the title or beside another
    hit), `exclude_terms` veto a match, `categories` are arXiv categories (cs.CL),
    `hf_keywords` are Hugging Face `ai_keywords`. Where labelled papers exist, a learned
    model weighs this evidence with the paper's words.
    """

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    terms = models.JSONField(default=list, blank=True)
    weak_terms = models.JSONField(default=list, blank=True)
    exclude_terms = models.JSONField(default=list, blank=True)
    categories = models.JSONField(default=list, blank=True)
    hf_keywords = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        if not self.slug:
            self.slug = slugify(self.name)[:80]
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class Subscriber(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending confirmation"
        ACTIVE = "active", "Active"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Complained"

    class Frequency(models.TextChoices):
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"

    PAPERS_PER_EMAIL_CHOICES = [(5, "5"), (10, "10"), (20, "20")]
    WEEKDAY_CHOICES = [
        (0, "Monday"),
        (1, "Tuesday"),
        (2, "Wednesday"),
        (3, "Thursday"),
        (4, "Friday"),
        (5, "Saturday"),
        (6, "Sunday"),
    ]

    # Normalized (trimmed, domain lower-cased) by subscriptions.emails.normalize_email.
    email = models.EmailField(max_length=254, unique=True)
    # Random key that signed tokens carry instead of the primary key; rotating it
    # invalidates every link ever sent to this reader.
    token_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    topics = models.ManyToManyField(Topic, related_name="subscribers", blank=True)
    # Sorted topic ids joined by "," — readers with the same key share candidates.
    topic_key = models.CharField(max_length=400, blank=True)
    frequency = models.CharField(max_length=8, choices=Frequency.choices, default=Frequency.DAILY)
    weekday = models.PositiveSmallIntegerField(choices=WEEKDAY_CHOICES, default=0)
    delivery_hour = models.PositiveSmallIntegerField(default=7)
    timezone = models.CharField(max_length=64, default="UTC")
    papers_per_email = models.PositiveSmallIntegerField(choices=PAPERS_PER_EMAIL_CHOICES, default=10)
    paused_until = models.DateField(null=True, blank=True)

    # The reader's own interests (preference center): phrases matched like topic terms, authors
    # they follow, words that keep a paper out of their digest.
    keywords = models.JSONField(default=list, blank=True)
    authors = models.JSONField(default=list, blank=True)
    exclude_words = models.JSONField(default=list, blank=True)
    # What the daily run reads of them: those three lists and the ids of papers the reader
    # wanted more / less of, or NULL for a reader without any (they share editions). Written
    # only by subscriptions.services.set_interests and digest.readers.feedback.
    profile = models.JSONField(null=True, blank=True, editable=False)

    # Consent record (double opt-in).
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_ip = models.GenericIPAddressField(null=True, blank=True)
    consent_user_agent = models.CharField(max_length=400, blank=True)
    consent_form_version = models.CharField(max_length=32, blank=True)
    consent_topics = models.JSONField(default=list, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    unsubscribe_reason = models.CharField(max_length=64, blank=True)
    soft_bounce_count = models.PositiveSmallIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["status", "timezone", "delivery_hour"], name="subscriber_due_idx"),
            # The daily run pages through due readers by topic set (digest.daily.due.due_chunks).
            models.Index(fields=["topic_key", "id"], name="subscriber_topic_set_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(delivery_hour__gte=0, delivery_hour__lte=23),
                name="subscriber_delivery_hour_range",
            ),
            models.CheckConstraint(
                condition=models.Q(weekday__gte=0, weekday__lte=6),
                name="subscriber_weekday_range",
            ),
        ]

    def __str__(self) -> str:
        return self.email


class Suppression(models.Model):
    """An address we must never mail again, kept after its subscriber is deleted.

    Only a SHA-256 of the normalized address is stored, so "delete me" leaves no
    personal data behind.
    """

    email_hash = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.email_hash[:12]}… ({self.reason})"


class EmailEvent(models.Model):
    """One tracking event the ESP told us about (anymail `tracking` signal).

    Unique on (esp_name, event_id) so a webhook the ESP retries is stored once.
    `delivery_id` comes from the message metadata; it is a plain integer because
    `subscriptions` never imports `digest`.
    """

    esp_name = models.CharField(max_length=32)
    event_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=32, db_index=True)
    reject_reason = models.CharField(max_length=32, blank=True)
    # "hard" / "soft" for a failed delivery, decided once on arrival (subscriptions.bounces).
    bounce = models.CharField(max_length=8, blank=True, db_index=True)
    recipient = models.EmailField(max_length=254, blank=True)
    message_id = models.CharField(max_length=200, blank=True, db_index=True)
    subscriber = models.ForeignKey(
        Subscriber, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    delivery_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    description = models.TextField(blank=True)
    raw = models.JSONField(default=dict, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["esp_name", "event_id"], name="email_event_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.recipient}"
