"""Papers, their topic matches, editions and deliveries.

Models hold data and invariants; the work is done in digest/catalog/ingest.py,
digest/catalog/matching.py, digest/catalog/trending.py, digest/daily/editions.py, digest/daily/sending.py.
"""

from __future__ import annotations

import secrets

from django.db import models

from subscriptions.models import Subscriber, Topic

PAPER_ID_MAX_LENGTH = 120


class Paper(models.Model):
    class Source(models.TextChoices):
        HF = "hf", "Hugging Face daily papers"
        ARXIV = "arxiv", "arXiv"
        SEED = "seed", "Seed file"
        MANUAL = "manual", "Entered by hand"

    # arXiv id without version ("2406.12345") when known, a stable slug otherwise.
    paper_id = models.CharField(max_length=PAPER_ID_MAX_LENGTH, unique=True)
    title = models.CharField(max_length=600)
    abstract = models.TextField(blank=True)
    authors = models.JSONField(default=list, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # The day the paper was listed (daily-papers day), not the arXiv publication date.
    listed_on = models.DateField(db_index=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.HF)
    upvotes = models.PositiveIntegerField(default=0)
    comments = models.PositiveIntegerField(default=0)
    github_repo = models.URLField(max_length=500, blank=True)
    github_stars = models.PositiveIntegerField(default=0)
    project_page = models.URLField(max_length=500, blank=True)
    ai_summary = models.TextField(blank=True)
    ai_keywords = models.JSONField(default=list, blank=True)
    categories = models.JSONField(default=list, blank=True)
    thumbnail = models.URLField(max_length=500, blank=True)
    withdrawn = models.BooleanField(default=False)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # From Hugging Face: the lab or company the paper is filed under there.
    organization = models.CharField(max_length=200, blank=True)
    # From arXiv: the version last seen, the primary category (also in `categories`, with the
    # cross-lists), the authors' comment, journal reference, DOI and the abstract / PDF links.
    arxiv_version = models.PositiveSmallIntegerField(default=0)
    primary_category = models.CharField(max_length=40, blank=True)
    arxiv_comment = models.TextField(blank=True)
    journal_ref = models.CharField(max_length=500, blank=True)
    doi = models.CharField(max_length=200, blank=True)
    abs_link = models.URLField(max_length=500, blank=True)
    pdf_link = models.URLField(max_length=500, blank=True)
    # Which sources have listed the paper (one row whatever the sources).
    on_hf = models.BooleanField(default=False)
    on_arxiv = models.BooleanField(default=False)
    # Source fields an editor changed by hand: ingest never overwrites them.
    locked_fields = models.JSONField(default=list, blank=True)
    # The paper in the matcher's vector space (digest.catalog.similarity): float16, unit length,
    # written when the paper is matched; "more/less like this" and "similar papers" read it.
    vector = models.BinaryField(null=True, blank=True, editable=False)

    # Editor fields. A pin may be limited to a date range (inclusive, listing days).
    pinned = models.BooleanField(default=False, db_index=True)
    pinned_from = models.DateField(null=True, blank=True)
    pinned_until = models.DateField(null=True, blank=True)
    hidden = models.BooleanField(default=False, db_index=True)
    editor_note = models.TextField(blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    topics = models.ManyToManyField(Topic, through="PaperTopic", related_name="papers")

    class Meta:
        ordering = ["-listed_on", "-upvotes", "id"]
        indexes = [models.Index(fields=["listed_on", "hidden", "withdrawn"], name="paper_listing_idx")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_arxiv(self) -> bool:
        return self.source in (self.Source.HF, self.Source.ARXIV) and not self.paper_id.startswith("seed-")

    @property
    def abstract_url(self) -> str:
        if self.abs_link:
            return self.abs_link
        return f"https://arxiv.org/abs/{self.paper_id}" if self.is_arxiv else ""

    @property
    def pdf_url(self) -> str:
        if self.pdf_link:
            return self.pdf_link
        return f"https://arxiv.org/pdf/{self.paper_id}" if self.is_arxiv else ""

    def is_pinned_on(self, day: object) -> bool:
        """True when the pin applies to listing/digest day `day`."""
        if not self.pinned:
            return False
        if self.pinned_from and day < self.pinned_from:  # type: ignore[operator]
            return False
        return not (self.pinned_until and day > self.pinned_until)  # type: ignore[operator]


class PaperSnapshot(models.Model):
    """Engagement counts at one moment, taken at each ingest (for growth)."""

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="snapshots")
    taken_at = models.DateTimeField(db_index=True)
    upvotes = models.PositiveIntegerField(default=0)
    comments = models.PositiveIntegerField(default=0)
    github_stars = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-taken_at"]
        indexes = [models.Index(fields=["paper", "-taken_at"], name="snapshot_paper_time_idx")]

    def __str__(self) -> str:
        return f"{self.paper_id} @ {self.taken_at:%Y-%m-%d %H:%M}: {self.upvotes}↑"


class PaperTopic(models.Model):
    """A stored Paper↔Topic match with its relevance score and why it matched.

    `manual` rows were set by an editor: automatic matching never changes or
    deletes them. A manual row with `excluded=True` removes the topic by hand.
    """

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="topic_matches")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="paper_matches")
    score = models.FloatField(default=0.0)
    reason = models.CharField(max_length=300, blank=True)
    manual = models.BooleanField(default=False)
    excluded = models.BooleanField(default=False)
    matched_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["paper", "topic"], name="paper_topic_unique"),
        ]
        indexes = [models.Index(fields=["topic", "excluded"], name="papertopic_topic_idx")]

    def __str__(self) -> str:
        return f"{self.paper_id} ↔ {self.topic_id} ({self.score:.2f})"


class Feedback(models.Model):
    """A reader's "more like this" / "less like this" on a paper: recorded only by a deliberate
    click (POST), never by a link scanner's GET; it shifts that reader's ranking."""

    class Value(models.IntegerChoices):
        MORE = 1, "More like this"
        LESS = -1, "Less like this"

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="feedback")
    paper = models.ForeignKey("Paper", on_delete=models.CASCADE, related_name="feedback")
    value = models.SmallIntegerField(choices=Value.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "paper"], name="feedback_once_per_paper"),
            models.CheckConstraint(condition=models.Q(value__in=[1, -1]), name="feedback_value"),
        ]

    def __str__(self) -> str:
        return f"{self.subscriber_id} {'+' if self.value > 0 else '-'} {self.paper_id}"


class MatchingModel(models.Model):
    """The learned part of topic matching (digest.catalog.learning): trained from labelled
    papers and the editors' decisions; the newest row is the one in use."""

    created_at = models.DateTimeField(auto_now_add=True)
    # sha256 of what it was trained on (examples, decisions, topics' rules): equal means current.
    fingerprint = models.CharField(max_length=64, db_index=True)
    summary = models.JSONField(default=dict)
    payload = models.BinaryField()

    class Meta:
        get_latest_by = "pk"

    def __str__(self) -> str:
        return f"matching model {self.pk} ({self.created_at:%Y-%m-%d %H:%M})"


def new_edition_slug() -> str:
    """An edition's public, unguessable web-view address."""
    return secrets.token_urlsafe(16)


def _edition_slug() -> str:  # Edition.slug's default, as the migrations name it
    return new_edition_slug()


class Edition(models.Model):
    """One rendered digest for one day and one exact paper list.

    Readers whose final lists (and topic set) are identical share it; only their
    personal links differ. `slug` is the public, unguessable web-view address.
    """

    # Indexed as the first column of edition_unique_content (no index of its own: every edition
    # written, a fifth of a million personal ones on a big day, would update one more).
    digest_date = models.DateField()
    frequency = models.CharField(max_length=8, default="daily")
    topic_key = models.CharField(max_length=400)
    # sha256 over frequency, topic key and the ordered paper ids.
    content_key = models.CharField(max_length=64)
    paper_ids = models.JSONField(default=list)
    subject = models.CharField(max_length=300)
    preheader = models.CharField(max_length=300, blank=True)
    html = models.TextField()
    text = models.TextField()
    # A row of readers' own lists (digest.daily.lists): html/text and paper_ids stay empty,
    # `reasons["lists"]` keeps each reader's list and why each paper is there; the cards are
    # put together when a list is sent or viewed.
    personal = models.BooleanField(default=False)
    reasons = models.JSONField(default=dict, blank=True)
    # Unique by a constraint, not `unique=True`, which on PostgreSQL adds a second index for
    # LIKE queries that nothing makes (the web view looks an edition up by its whole slug).
    slug = models.CharField(max_length=32, default=_edition_slug)
    created_at = models.DateTimeField(auto_now_add=True)

    papers = models.ManyToManyField(Paper, related_name="editions", blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["digest_date", "content_key"], name="edition_unique_content"),
            models.UniqueConstraint(fields=["slug"], name="edition_unique_slug"),
        ]

    def __str__(self) -> str:
        return f"{self.digest_date} · {self.subject}"


class Delivery(models.Model):
    """One digest for one reader on one of their local dates. Unique on
    (subscriber, digest_date): the database makes "twice" impossible."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        # The ESP call ended without an answer (a timeout after the request left, or the
        # sender died mid-call): maybe sent. Never re-sent blindly: see digest.daily.healing.
        UNCERTAIN = "uncertain", "Outcome unknown"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (nothing new)"
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Complained"

    # (subscriber, digest_date) is unique, and that index serves lookups by subscriber too.
    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    digest_date = models.DateField(db_index=True)
    edition = models.ForeignKey(
        Edition, null=True, blank=True, on_delete=models.PROTECT, related_name="deliveries"
    )
    # Not indexed (see Meta): a million status writes a day stay cheap.
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    # Not indexed: webhooks find their row by the delivery id in the message metadata.
    esp_message_id = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set when a sender claims the row, with the claim's owner (the send task's id): only the
    # owner writes the outcome. A claim older than DIGEST_STUCK_AFTER_MINUTES (longer than a
    # task may live) belongs to a dead sender and is healed (digest.daily.healing).
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=64, blank=True, default="", db_default="")
    # How many sends of this row ended with an unknown outcome (the careful retry is for 1).
    unknown_outcomes = models.PositiveSmallIntegerField(default=0, db_default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "digest_date"], name="delivery_once_per_day"),
        ]
        # No index holds a column a send changes (status, attempts, times, ESP id): with the
        # table's fillfactor (migration 0003) each claim and outcome is a HOT update, which
        # writes no index entry. Stuck rows are found through the digest_date index.

    def __str__(self) -> str:
        return f"{self.subscriber_id} · {self.digest_date} · {self.status}"


# Deliveries that count as "sent" for the no-repeat rule (what a reader got or is getting).
HISTORY_STATUSES = (
    Delivery.Status.SENT,
    Delivery.Status.QUEUED,
    Delivery.Status.SENDING,
    Delivery.Status.UNCERTAIN,
)


class SendingSettings(models.Model):
    """Singleton of switches an editor flips in admin (pk is always 1)."""

    sending_paused = models.BooleanField(
        default=False, help_text="Kill switch: while on, the dispatcher sends nothing."
    )
    paused_reason = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "sending settings"
        verbose_name_plural = "sending settings"

    def __str__(self) -> str:
        return "Sending paused" if self.sending_paused else "Sending on"

    @classmethod
    def load(cls) -> SendingSettings:
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


class JobRun(models.Model):
    """One run of a scheduled job (ingest from a source, the dispatch): when, how long, whether
    it succeeded and how much it did. Read by /healthz/ (the age of the last success) and
    /metrics (counts and durations)."""

    class Kind(models.TextChoices):
        INGEST_HF = "ingest-hf", "Hugging Face ingest"
        INGEST_ARXIV = "ingest-arxiv", "arXiv ingest"
        DISPATCH = "dispatch", "Dispatch"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    ok = models.BooleanField()
    items = models.PositiveIntegerField(default=0, help_text="papers stored, or readers queued")
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "ok", "finished_at"], name="jobrun_kind_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.finished_at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'failed'}"

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()
