"""Benchmark the daily run on synthetic readers: one table, then `total: <seconds> s`."""

from __future__ import annotations

import datetime as dt
import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.test import override_settings
from tqdm import tqdm

from digest.bench import data
from digest.bench.floor import measure_floor
from digest.bench.report import table
from digest.bench.runner import MODES, ModeResult, cleanup, ensure_empty, run_mode, today
from digest.daily.storage import on_postgresql
from digest.management.commands._args import positive_int


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def share(value: str) -> float:
    """A fraction from 0 to 1."""
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise ValueError(value)
    return number


def worker_counts(value: str) -> tuple[int, ...]:
    """ "2" → (2,); "1,2" → (1, 2): each a run on that many Celery workers."""
    counts = tuple(positive_int(part) for part in value.split(","))
    if not counts:
        raise ValueError(value)
    return counts


class Command(BaseCommand):
    help = (
        "Build synthetic readers and papers in an EMPTY database, run the real daily pipeline "
        "with the anymail test backend as ESP, print a table, delete everything it wrote."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--readers", type=positive_int, required=True)
        parser.add_argument("--topics", type=positive_int, default=50)
        parser.add_argument("--papers", type=positive_int, default=5000)
        parser.add_argument("--topics-per-reader", type=positive_int, default=3)
        parser.add_argument(
            "--topic-sets", type=positive_int, default=2000, help="size of the topic-set catalog"
        )
        parser.add_argument("--mode", choices=[*MODES, "all"], default="batch")
        parser.add_argument(
            "--workers",
            type=worker_counts,
            default=(),
            help="real Celery workers (needs REDIS_URL): a count, or counts to compare, e.g. 1,2",
        )
        parser.add_argument(
            "--senders",
            type=positive_int,
            default=1,
            help="per-message/batch: sender processes sending chunks while the dispatcher plans",
        )
        parser.add_argument(
            "--chunk-size", type=positive_int, default=2000, help="DIGEST_CHUNK_SIZE for the run"
        )
        parser.add_argument(
            "--naive-limit", type=int, default=2000, help="naive mode: readers sent (0 = all)"
        )
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--personal",
            type=share,
            default=0.0,
            help="share of readers with keywords, authors, excluded words or feedback (e.g. 0.2)",
        )
        parser.add_argument(
            "--no-floor",
            action="store_true",
            help="skip measuring PostgreSQL's floor (stream + one INSERT … SELECT)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["topics_per_reader"] > options["topics"]:
            raise CommandError("--topics-per-reader cannot exceed --topics")
        ensure_empty()
        signal.signal(signal.SIGTERM, _interrupt)  # a killed run still cleans up (finally below)
        quiet = options["verbosity"] < 1
        spec = data.Spec(
            readers=options["readers"], topics=options["topics"], papers=options["papers"],
            topics_per_reader=options["topics_per_reader"], topic_sets=options["topic_sets"],
            seed=options["seed"], personal=options["personal"],
        )  # fmt: skip
        day = today()
        try:
            with tqdm(
                total=spec.readers, desc="generating", unit="reader", disable=quiet, file=self.stderr
            ) as bar:
                made = data.generate(spec, day=day, progress=bar.update)
            floor = measure_floor(day) if on_postgresql() and not options["no_floor"] else None
            with override_settings(DIGEST_CHUNK_SIZE=options["chunk_size"]):
                if options["workers"]:
                    from digest.bench.workers import run_with_workers

                    results = [
                        run_with_workers(count, digest_date=day, quiet=quiet, err=self.stderr)
                        for count in options["workers"]
                    ]
                else:
                    results = [self._run(mode, options, day, quiet) for mode in self._modes(options["mode"])]
        finally:
            cleanup()
        for line in table(results, topic_sets=made.distinct_sets):
            self.stdout.write(line)
        daily = next((r for r in results if r.mode == "batch"), results[-1])
        if made.personal:
            self.stdout.write(f"personal readers: {made.personal} ({made.personal / made.readers:.0%})")
        if floor is not None:
            self.stdout.write(
                f"floor: PostgreSQL streams {floor.readers} readers in {floor.stream_s:.2f} s and writes "
                f"their {floor.readers} delivery rows (one INSERT … SELECT) in {floor.write_s:.2f} s: "
                f"{floor.total_s:.2f} s; this run is {daily.total / floor.total_s:.1f}x the floor"
            )
        self.stdout.write(f"total: {daily.total:.2f} s")

    @staticmethod
    def _modes(mode: str) -> tuple[str, ...]:
        return MODES if mode == "all" else (mode,)

    def _run(self, mode: str, options: dict[str, Any], day: dt.date, quiet: bool) -> ModeResult:
        limit = options["naive_limit"] or None if mode == "naive" else None
        total = min(options["readers"], limit) if limit else options["readers"]
        with tqdm(total=total, desc=mode, unit="reader", disable=quiet, file=self.stderr) as bar:
            senders = 1 if mode == "naive" else options["senders"]
            return run_mode(mode, digest_date=day, tick=bar.update, naive_limit=limit, senders=senders)
