"""Fetch one arXiv announcement from the arXiv API (see digest/catalog/arxiv_ingest.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from digest.catalog.arxiv_ingest import ArxivReport, ingest_announcement
from digest.catalog.matching import CATEGORY_RE
from digest.management.commands._args import iso_day
from digest.models import JobRun
from digest.ops.runs import recorded


def categories(value: str) -> list[str]:
    """`cs.CL,cs.LG` → ["cs.CL", "cs.LG"]; a clear error for anything that is not a category."""
    found = [c.strip() for c in value.split(",") if c.strip()]
    bad = [c for c in found if not CATEGORY_RE.match(c)]
    if not found or bad:
        raise CommandError(f"--categories wants arXiv categories like cs.CL,cs.LG; got {value!r}")
    return found


class Command(BaseCommand):
    help = (
        "Fetch and upsert the new submissions of one arXiv announcement from ARXIV_API_BASE "
        "(at most one request every ARXIV_API_DELAY seconds); ends with a summary."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date",
            type=iso_day,
            help="listing day (UTC) of the announcement, YYYY-MM-DD, Monday to Friday "
            "(default: the latest announcement made)",
        )
        parser.add_argument(
            "--categories", help="comma-separated arXiv categories (default: ARXIV_CATEGORIES)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        wanted = categories(options["categories"]) if options["categories"] else None
        with (
            recorded(JobRun.Kind.INGEST_ARXIV) as run,
            tqdm(desc="entries", unit="entry", file=self.stderr, disable=options["verbosity"] < 1) as bar,
        ):
            report = ingest_announcement(day=options["date"], categories=wanted, on_page=bar.update)
            run.ingested([report])
        for error in report.errors:
            self.stderr.write(f"  {error}")
        self.stdout.write(summary(report))
        if report.fetch_failed:
            raise CommandError("fetching from arXiv failed; pages fetched before the failure are stored")


def summary(report: ArxivReport) -> str:
    where = f"arXiv {report.listed_on} ({', '.join(report.categories)})"
    return (
        f"{where}: fetched {report.fetched}, created {report.created}, updated {report.updated}, "
        f"skipped {report.skipped}"
        + (f", {len(report.errors)} problems (above)" if report.errors else "")
        + "."
    )
