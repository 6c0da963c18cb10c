"""Load seed topics and papers (see digest/catalog/seeds.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from digest.catalog.seeds import SeedError, SeedPaper, SeedReport, load_seeds
from digest.management.commands._args import iso_day
from digest.ops.schedules import install_default_schedules


class Command(BaseCommand):
    help = "Upsert seeds/topics.json and the seed papers, list them on a day (default today), match topics."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=iso_day, help="listing day, YYYY-MM-DD (default: today, UTC)")
        parser.add_argument(
            "--seeds-dir", type=Path, help="folder with topics.json and pages/ (default: seeds/)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        def progress(papers: list[SeedPaper]) -> tqdm[SeedPaper]:
            return tqdm(
                papers, desc="seed papers", unit="paper", file=self.stderr, disable=options["verbosity"] < 1
            )

        try:
            report = load_seeds(day=options["date"], seeds_dir=options["seeds_dir"], progress=progress)
        except SeedError as exc:
            raise CommandError(f"seeds not loaded, nothing changed: {exc}") from exc
        self.stdout.write(summary(report))
        if created := install_default_schedules():
            self.stdout.write(f"Periodic tasks installed from settings: {', '.join(created)}.")


def summary(report: SeedReport) -> str:
    pages = ", ".join(f"{name}: {count}" for name, count in report.pages.items())
    if not report.changed:
        return (
            f"Seeds already loaded for {report.day}: nothing created or changed "
            f"({report.papers} papers; {pages})."
        )
    parts = [
        f"topics {report.topics_created} created, {report.topics_updated} updated",
        f"papers {report.papers_created} created, {report.papers_updated} updated, "
        f"{report.papers_unchanged} unchanged",
        f"{report.matches_changed} topic matches changed",
    ]
    if report.papers_relisted:
        parts.insert(2, f"{report.papers_relisted} re-listed up to {report.day}")
    return f"Seeds loaded for {report.day}: " + "; ".join(parts) + f" ({report.papers} papers; {pages})."
