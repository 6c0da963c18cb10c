"""Score topic matching on a labelled set (see digest/catalog/evaluation.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from digest.catalog.evaluation import Evaluation, evaluate, models_for
from digest.catalog.labelled import SPLITS, EvalSetError, labelled_set, load_set
from digest.catalog.learning import set_examples, training_examples
from digest.catalog.seeds import SEEDS_DIR, SeedError, read_topics
from subscriptions.models import Topic


class Command(BaseCommand):
    help = (
        "Match the labelled papers of an evaluation set against the topics and print precision, "
        "recall and F1 per topic, micro and macro, and the worst false positives and misses. "
        "The learned model is trained here, never on a paper being measured."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--set",
            type=Path,
            default=None,
            help="JSONL file (default: MATCHING_LABELLED_SET, seeds/eval/papers.jsonl)",
        )
        parser.add_argument(
            "--split",
            choices=[*SPLITS, "all"],
            default=None,
            help="which part to measure (default: heldout when the set has one, else all of it)",
        )
        parser.add_argument(
            "--rules",
            choices=["db", "seeds"],
            default="db",
            help="topics as stored, with the editors' decisions (default; seeds/topics.json when the "
            "database has none of them) or seeds/topics.json",
        )
        parser.add_argument(
            "--rules-only", action="store_true", help="leave the learned model out (the rules alone)"
        )
        parser.add_argument(
            "--worst", type=int, default=10, help="how many false positives and misses to list"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            every = load_set(options["set"] or labelled_set())
        except EvalSetError as exc:
            raise CommandError(str(exc)) from exc
        split = options["split"] or ("heldout" if any(p.split == "heldout" for p in every) else "all")
        papers = [p for p in every if split in ("all", p.split)]
        if not papers:
            raise CommandError(f"{options['set'] or labelled_set()} has no papers in split {split!r}")
        # Every topic the set labels anywhere: one with no positives in this split can still
        # collect false positives there.
        labelled = {slug for p in every for slug in p.topics}
        topics, source = self._topics(options["rules"], labelled)
        if not topics:
            raise CommandError(f"none of the topics the set labels ({', '.join(sorted(labelled))}) exists")
        plan = None
        if not options["rules_only"]:
            examples = training_examples(topics) if source == "rules as stored" else set_examples(topics)
            plan = models_for(papers, examples, topics, progress=lambda m: self.stderr.write(m))
            learned = {slug for _, model in plan if model for slug in model.combiners}
            if learned:
                source += f", learned model for {len(learned)}"
        result = evaluate(papers, topics, plan)
        for line in report(result, worst=options["worst"]):
            self.stdout.write(line)
        micro = result.micro
        self.stdout.write(
            f"{result.papers} papers ({split}), {len(result.topics)} topics ({source}): "
            f"micro P {micro.precision:.3f} R {micro.recall:.3f} F1 {micro.f1:.3f}"
        )

    @staticmethod
    def _topics(rules: str, labelled: set[str]) -> tuple[list[Topic], str]:
        if rules == "db":
            try:
                stored = list(Topic.objects.filter(slug__in=labelled).order_by("position", "slug"))
            except DatabaseError:  # no database yet (never migrated): the seed rules it is
                stored = []
            if stored:
                return stored, "rules as stored"
        try:
            found = [
                Topic(**row) for row in read_topics(SEEDS_DIR / "topics.json") if row["slug"] in labelled
            ]
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
        found = [m for m in result.mistakes if m.kind == kind]
        if kind == "miss":
            found.sort(key=lambda m: (m.score, m.slug, m.paper.id))
        if found[:worst]:
            lines.append("")
            lines.append(heading)
            for m in found[:worst]:
                lines.append(f"  {m.slug} {m.score:.2f} · {m.paper.id} {m.paper.title[:80]} — {m.reason}")
    return lines
