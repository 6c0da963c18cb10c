"""Run the daily send from the shell: the same pipeline as the hourly beat task."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone
from tqdm import tqdm

from digest.daily.shell_send import count_due, send_from_shell
from digest.management.commands._args import iso_day


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
        now = timezone.now() - dt.timedelta(days=options["days_ago"])
        scope = {"digest_date": options["date"], "send_all": options["all"], "email": options["email"]}
        quiet = options["verbosity"] < 1
        with tqdm(
            total=count_due(now=now, **scope),
            desc="readers",
            unit=" readers",
            disable=quiet,
            file=self.stderr,
        ) as bar:
            done = send_from_shell(now=now, dry_run=options["dry_run"], on_chunk=bar.update, **scope)
        report = done.report
        if report.paused:
            self.stdout.write(self.style.WARNING("sending is paused in admin (kill switch): nothing sent"))
            return
        prefix = "dry run — " if options["dry_run"] else ""
        self.stdout.write(
            f"{prefix}due: {report.due}, editions: {report.editions}, sent: {done.sent}, "
            f"skipped: {report.skipped}, failed: {done.failed}, queued: {done.waiting}"
        )
