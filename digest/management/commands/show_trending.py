"""Print a listing day's trending papers per topic (the demo's last step)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from digest.catalog.ranking import RankedPaper, latest_listing_day, ranked_papers
from digest.management.commands._args import iso_day, positive_int
from digest.models import Paper
from subscriptions.models import Topic


class Command(BaseCommand):
    help = "Show the trending papers of a listing day (default: the latest) for every active topic."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=iso_day, help="listing day, YYYY-MM-DD (default: the latest one)")
        parser.add_argument("--limit", type=positive_int, default=5, help="papers per topic (default 5)")

    def handle(self, *args: Any, **options: Any) -> None:
        day: dt.date | None = options["date"] or latest_listing_day()
        if day is None:
            self.stdout.write("No papers yet: run `manage.py load_seeds` or `manage.py ingest_papers` first.")
            return
        now = timezone.now()
        topics = list(Topic.objects.filter(is_active=True))
        listed = Paper.objects.filter(listed_on=day, hidden=False, withdrawn=False).count()
        self.stdout.write(self.style.MIGRATE_HEADING(f"Trending papers listed on {day}"))
        shown, empty = set(), 0
        for topic in topics:
            ranked = ranked_papers(days=[day], topic_ids=[topic.pk], now=now)
            self.stdout.write("")
            self.stdout.write(self.style.SUCCESS(f"{topic.name}  ({len(ranked)} matching)"))
            if not ranked:
                empty += 1
                self.stdout.write("   nothing today")
            for position, item in enumerate(ranked[: options["limit"]], start=1):
                self.stdout.write(self.format_paper(position, item))
                shown.add(item.paper.pk)
        self.stdout.write("")
        self.stdout.write(
            f"{day}: {listed} papers listed, {len(topics)} topics ({empty} with nothing), "
            f"{len(shown)} distinct papers shown (top {options['limit']} per topic)."
        )

    def format_paper(self, position: int, item: RankedPaper) -> str:
        paper = item.paper
        pin = "📌 " if item.pinned else ""
        counts = (
            f"{paper.upvotes} upvotes, {paper.comments} comments"
            if paper.upvotes or paper.comments
            else "no votes yet"
        )
        why = " · " + ", ".join(item.reasons[0].split(", ")[:2]) if item.reasons else ""
        return f"  {position:>2}. {pin}{paper.title}\n      {counts} · score {item.score:.3g}{why}"
