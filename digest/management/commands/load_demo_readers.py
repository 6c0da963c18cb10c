"""Create the demo readers in seeds/demo_readers.json (active, consent recorded as "demo")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from subscriptions.emails import normalize_email
from subscriptions.interests import InterestError, Interests
from subscriptions.models import Subscriber, Topic
from subscriptions.services import set_interests, set_topics

DEFAULT_FILE = Path(settings.BASE_DIR) / "seeds" / "demo_readers.json"


class Command(BaseCommand):
    help = "Create demo readers with different topics and time zones (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--file", type=Path, default=DEFAULT_FILE)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            entries = json.loads(Path(options["file"]).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read {options['file']}: {exc}") from exc
        created = 0
        with transaction.atomic():
            for entry in entries:
                created += self._load(entry)
        self.stdout.write(f"demo readers: {created} created, {len(entries) - created} already there")

    def _load(self, entry: dict[str, Any]) -> int:
        email = normalize_email(entry["email"])
        topics = list(Topic.objects.filter(slug__in=entry["topics"]))
        if len(topics) != len(set(entry["topics"])):
            raise CommandError(f"{email}: unknown topic in {entry['topics']} (run load_seeds first)")
        if Subscriber.objects.filter(email=email).exists():
            return 0
        now = timezone.now()
        reader = Subscriber.objects.create(
            email=email,
            status=Subscriber.Status.ACTIVE,
            frequency=entry.get("frequency", "daily"),
            weekday=entry.get("weekday", 0),
            delivery_hour=entry.get("delivery_hour", 7),
            timezone=entry.get("timezone", "UTC"),
            papers_per_email=entry.get("papers_per_email", 10),
            consent_at=now,
            consent_form_version="demo",
            consent_topics=sorted(t.slug for t in topics),
            confirmed_at=now,
        )
        set_topics(subscriber=reader, topics=topics)
        own: dict[str, str] = {}
        for field in ("keywords", "authors", "exclude_words"):
            phrases = entry.get(field) or []
            if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
                raise CommandError(f"{email}: {field} must be a list of phrases")
            own[field] = "\n".join(phrases)
        if any(own.values()):  # a reader with interests of their own gets a personal digest
            try:
                interests = Interests.parse(**own)
            except InterestError as exc:
                raise CommandError(f"{email}: {exc}") from exc
            set_interests(subscriber=reader, interests=interests)
        return 1
