"""Run the daily send from the shell: the same pipeline as the hourly beat task."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand
from django.db.models import Count, Q
from django.utils import timezone
from tqdm import tqdm

from digest.daily.dispatch import dispatch_due
from digest.daily.due import due_readers
from digest.management.commands._args import iso_day
from digest.models import Delivery
from digest.tasks import enqueue_chunk


class Command(BaseCommand):
    help = (
        "Send the digests of every reader due now (synchronously when no broker is set). "
        "--all ignores delivery hours and weekdays."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--date", type=iso_day, help="digest date for everyone (YYYY-MM-DD)")
        parser.add_argument("--all", action="store_true", help="ignore delivery hours and weekdays")
        parser.add_argument("--dry-run", action="store_true", help="plan only: write and send nothing")
        parser.add_argument("--email", help="only this reader")
        parser.add_argument(
            "--days-ago",
            type=int,
            default=0,
            choices=range(8),
            metavar="N",
            help="as if it were N days ago (0-7): each reader's local date then (catch up a missed day)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        enqueued: list[int] = []

        def enqueue(ids: list[int]) -> None:
            enqueued.extend(ids)
            enqueue_chunk(ids)

        now = timezone.now() - dt.timedelta(days=options["days_ago"])
        due = due_readers(
            now=now, digest_date=options["date"], send_all=options["all"], email=options["email"]
        )
        with tqdm(
            total=due.count(),
            desc="readers",
            unit=" readers",
            disable=options["verbosity"] < 1,
            file=self.stderr,
        ) as bar:
            report = dispatch_due(
                enqueue=enqueue,
                now=now,
                digest_date=options["date"],
                send_all=options["all"],
                email=options["email"],
                dry_run=options["dry_run"],
                on_chunk=bar.update,
            )
        if report.paused:
            self.stdout.write(self.style.WARNING("sending is paused in admin (kill switch): nothing sent"))
            return
        outcome = Delivery.objects.filter(pk__in=enqueued).aggregate(
            sent=Count("pk", filter=Q(status=Delivery.Status.SENT)),
            failed=Count("pk", filter=Q(status=Delivery.Status.FAILED)),
            waiting=Count("pk", filter=Q(status__in=[Delivery.Status.QUEUED, Delivery.Status.SENDING])),
        )
        prefix = "dry run — " if options["dry_run"] else ""
        self.stdout.write(
            f"{prefix}due: {report.due}, editions: {report.editions}, sent: {outcome['sent']}, "
            f"skipped: {report.skipped}, failed: {outcome['failed']}, queued: {outcome['waiting']}"
        )
