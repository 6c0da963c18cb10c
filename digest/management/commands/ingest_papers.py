"""Fetch listing days from the Hugging Face daily-papers API (see digest/catalog/ingest.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from digest.catalog.ingest import IngestReport, ingest_day, ingest_recent
from digest.management.commands._args import iso_day
from digest.models import JobRun
from digest.ops.runs import recorded


class Command(BaseCommand):
    help = (
        "Fetch and upsert daily papers from HF_API_BASE: with --date one listing day, without it "
        "today (UTC) and the HF_REFRESH_DAYS days before it; ends with a summary."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date", type=iso_day, help="one listing day, YYYY-MM-DD (default: today and the refresh window)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        quiet = options["verbosity"] < 1
        with (
            recorded(JobRun.Kind.INGEST_HF) as run,
            tqdm(desc="papers", unit="paper", file=self.stderr, disable=quiet) as bar,
        ):
            if options["date"]:
                reports = [ingest_day(day=options["date"], on_page=bar.update)]
            else:
                reports = ingest_recent(on_page=bar.update)
            run.ingested(reports)
        for report in reports:
            for error in report.errors:
                self.stderr.write(f"  {report.day}: {error}")
            self.stdout.write(summary(report))
        if len(reports) > 1:
            self.stdout.write(
                f"{len(reports)} days ({settings.HF_REFRESH_DAYS} refreshed): "
                f"created {sum(r.created for r in reports)}, updated {sum(r.updated for r in reports)}, "
                f"skipped {sum(r.skipped for r in reports)}."
            )
        failed = [str(r.day) for r in reports if r.fetch_failed]
        if failed:
            raise CommandError(
                f"fetching {', '.join(failed)} failed; pages fetched before the failure are stored"
            )


def summary(report: IngestReport) -> str:
    if report.not_open:
        return f"{report.day}: not opened on Hugging Face yet, nothing to fetch."
    return (
        f"{report.day}: fetched {report.fetched}, created {report.created}, "
        f"updated {report.updated}, skipped {report.skipped}"
        + (f", {len(report.errors)} problems (above)" if report.errors else "")
        + "."
    )
