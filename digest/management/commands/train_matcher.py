"""Train the learned part of topic matching and re-match every paper with it."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from digest.catalog.learning import ensure_trained
from digest.catalog.matching import rematch_papers


class Command(BaseCommand):
    help = (
        "Train the matching model from the evaluation set's tune part and the editors' decisions "
        "(only when something changed, unless --force), then re-match every paper."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="train even when nothing changed")
        parser.add_argument("--no-rematch", action="store_true", help="train only; leave stored matches")

    def handle(self, *args: Any, **options: Any) -> None:
        start = time.perf_counter()
        report = ensure_trained(force=options["force"])
        if options["verbosity"] > 1:
            for slug, row in sorted(report.learned.items()):
                self.stdout.write(
                    f"  {slug}: {row['positives']:.0f} positives, {row['negatives']:.0f} negatives, "
                    f"threshold {row['threshold']:.2f}"
                )
        changed = 0 if options["no_rematch"] or not report.trained else rematch_papers()
        state = "trained" if report.trained else "already current"
        self.stdout.write(
            f"matching model {state}: {report.examples} labelled papers, {report.decisions} editor "
            f"decisions; {changed} matches changed in {time.perf_counter() - start:.1f} s"
        )
