"""Fetch one listing day from the Hugging Face daily-papers API (see digest/catalog/ingest.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from digest.catalog.ingest import IngestReport, ingest_day
from digest.management.commands._args import iso_day


class Command(BaseCommand):
    help = "Fetch and upsert the daily papers of one day from HF_API_BASE; ends with a summary."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=iso_day, help="listing day, YYYY-MM-DD (default: today, UTC)")

    def handle(self, *args: Any, **options: Any) -> None:
        quiet = options["verbosity"] < 1
        with tqdm(desc="papers", unit="paper", file=self.stderr, disable=quiet) as bar:
            report = ingest_day(day=options["date"], on_page=bar.update)
        for error in report.errors:
            self.stderr.write(f"  {error}")
        self.stdout.write(summary(report))
        if report.fetch_failed:
            raise CommandError(f"fetching {report.day} failed; pages fetched before the failure are stored")


def summary(report: IngestReport) -> str:
    return (
        f"{report.day}: fetched {report.fetched}, created {report.created}, "
        f"updated {report.updated}, skipped {report.skipped}"
        + (f", {len(report.errors)} problems (above)" if report.errors else "")
        + "."
    )
