"""Score topic matching on the labelled evaluation set (see digest/catalog/evaluation.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from digest.catalog.evaluation import SPLITS, EvalSetError, Evaluation, evaluate, load_set
from digest.catalog.seeds import SeedError, read_topics
from subscriptions.models import Topic

DEFAULT_SET = Path(settings.BASE_DIR) / "seeds" / "eval" / "papers.jsonl"
DEFAULT_TOPICS = Path(settings.BASE_DIR) / "seeds" / "topics.json"


class Command(BaseCommand):
    help = (
        "Match the labelled papers of an evaluation set against the topics and print precision, "
        "recall and F1 per topic, micro and macro, and the worst false positives and misses."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--set", type=Path, default=DEFAULT_SET, help="JSONL file (default: seeds/eval/papers.jsonl)"
        )
        parser.add_argument("--split", choices=[*SPLITS, "all"], default="heldout")
        parser.add_argument(
            "--rules",
            choices=["db", "seeds"],
            default="db",
            help="topics as stored (default; seeds/topics.json when the database has none of them) "
            "or seeds/topics.json",
        )
        parser.add_argument(
            "--worst", type=int, default=10, help="how many false positives and misses to list"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            every = load_set(options["set"])
        except EvalSetError as exc:
            raise CommandError(str(exc)) from exc
        papers = [p for p in every if options["split"] in ("all", p.split)]
        if not papers:
            raise CommandError(f"{options['set']} has no papers in split {options['split']!r}")
        # Every topic the set labels anywhere: one with no positives in this split can still
        # collect false positives there.
        labelled = {slug for p in every for slug in p.topics}
        topics, source = self._topics(options["rules"], labelled)
        result = evaluate(papers, topics)
        for line in report(result, worst=options["worst"]):
            self.stdout.write(line)
        micro = result.micro
        self.stdout.write(
            f"{result.papers} papers ({options['split']}), {len(result.topics)} topics ({source}): "
            f"micro P {micro.precision:.3f} R {micro.recall:.3f} F1 {micro.f1:.3f}"
        )

    @staticmethod
    def _topics(rules: str, labelled: set[str]) -> tuple[list[Topic], str]:
        if rules == "db":
            stored = list(Topic.objects.filter(slug__in=labelled).order_by("position", "slug"))
            if stored:
                return stored, "rules as stored"
        try:
            found = [Topic(**row) for row in read_topics(DEFAULT_TOPICS) if row["slug"] in labelled]
        except SeedError as exc:
            raise CommandError(str(exc)) from exc
        return found, "rules of seeds/topics.json"


def report(result: Evaluation, *, worst: int) -> list[str]:
    lines = [f"{'topic':<44} {'P':>6} {'R':>6} {'F1':>6} {'tp':>4} {'fp':>4} {'fn':>4}"]
    for t in sorted(result.topics, key=lambda t: t.f1):
        lines.append(
            f"{t.slug:<44} {t.precision:6.3f} {t.recall:6.3f} {t.f1:6.3f} {t.tp:4} {t.fp:4} {t.fn:4}"
        )
    micro = result.micro
    mp, mr, mf = result.macro()
    lines.append(
        f"{'micro':<44} {micro.precision:6.3f} {micro.recall:6.3f} {micro.f1:6.3f} "
        f"{micro.tp:4} {micro.fp:4} {micro.fn:4}"
    )
    lines.append(f"{'macro':<44} {mp:6.3f} {mr:6.3f} {mf:6.3f}")
    for kind, heading in (("false positive", "worst false positives:"), ("miss", "worst misses:")):
        found = [m for m in result.mistakes if m.kind == kind][:worst]
        if found:
            lines.append("")
            lines.append(heading)
            for m in found:
                score = f" {m.score:.2f}" if m.kind == "false positive" else ""
                lines.append(f"  {m.slug}{score} · {m.paper.id} {m.paper.title[:80]} — {m.reason}")
    return lines
