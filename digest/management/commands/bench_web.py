"""Load-test the public pages under gunicorn: one table, then a one-line verdict.

    DATABASE_URL=postgres://…/paperboy_bench REDIS_URL=redis://… \
        python manage.py bench_web --papers 20000 --clients 50 --seconds 15
"""

from __future__ import annotations

import os
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from tqdm import tqdm

from digest.bench.load import LoadResult, hammer
from digest.bench.runner import cleanup, ensure_empty
from digest.bench.web_data import fill_catalog
from digest.bench.web_server import gunicorn
from digest.catalog.freshness import catalog_changed
from digest.catalog.seeds import load_seeds
from digest.management.commands._args import positive_int
from digest.models import Paper

TARGET_RATE = 300.0  # requests/s
TARGET_P99_MS = 100.0
SEARCHES = (
    "diffusion model", "video generation", "reinforcement learning", "large language model",
    "agent benchmark", "image editing", "speech", "reasoning", "multimodal", "robot",
    "3D", "attention", "retrieval", "quantization", "world model", "alignment", "code",
    "dataset", "segmentation", "tokenizer",
)  # fmt: skip


def _database() -> str:
    if connection.vendor == "postgresql":
        return f"PostgreSQL {connection.cursor().connection.info.server_version // 10000}"
    return connection.vendor


class Command(BaseCommand):
    help = (
        "Load the public pages (/, /papers/, search, /api/papers/) under gunicorn with many "
        "concurrent clients and print requests/s and latency percentiles. Builds its own catalog "
        "(the seeds copied onto earlier days) in an EMPTY database and deletes it after, or reads "
        "the catalog as it is with --existing."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--papers", type=positive_int, default=20_000, help="catalog size to build")
        parser.add_argument("--clients", type=positive_int, default=50, help="concurrent clients")
        parser.add_argument("--seconds", type=float, default=15.0, help="load time per address")
        parser.add_argument("--workers", type=positive_int, default=2, help="gunicorn sync workers")
        parser.add_argument("--query", default="diffusion model", help="the search of the search row")
        parser.add_argument(
            "--existing", action="store_true", help="use the catalog in the database (read only)"
        )
        parser.add_argument("--keep", action="store_true", help="keep the catalog built for the run")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["seconds"] <= 0:
            raise CommandError("--seconds must be positive")
        quiet = options["verbosity"] < 1
        if not options["existing"]:
            ensure_empty()
        try:
            if not options["existing"]:
                self._build(options["papers"], quiet)
            papers = Paper.objects.count()
            if not papers:
                raise CommandError("the catalog is empty: nothing to load (drop --existing)")
            results, cold = self._load(options, quiet)
        finally:
            if not options["existing"] and not options["keep"]:
                cleanup()
        for line in self._table(results, cold, papers, options):
            self.stdout.write(line)

    def _build(self, papers: int, quiet: bool) -> None:
        load_seeds()
        with tqdm(total=papers, desc="catalog", unit="paper", disable=quiet, file=self.stderr) as bar:
            bar.update(Paper.objects.count())
            fill_catalog(papers, progress=bar.update)

    def _rows(self, base: str, query: str) -> list[tuple[str, list[str]]]:
        return [
            ("/", [f"{base}/"]),
            ("/papers/", [f"{base}/papers/"]),
            (f"/papers/?q={query}", [f"{base}/papers/?{urlencode({'q': query})}"]),
            ("/api/papers/", [f"{base}/api/papers/"]),
            (
                f"/papers/?q=… ({len(SEARCHES)} searches in turn)",
                [f"{base}/papers/?{urlencode({'q': words})}" for words in SEARCHES],
            ),
        ]

    def _load(self, options: dict[str, Any], quiet: bool) -> tuple[list[LoadResult], list[float]]:
        log = Path(settings.VAR_DIR) / "bench_web.log"
        results, cold = [], []
        with gunicorn(options["workers"], log=log) as base:
            rows = self._rows(base, options["query"])
            for label, urls in tqdm(rows, desc="loading", unit="address", disable=quiet, file=self.stderr):
                catalog_changed()  # the first answer is computed afresh (a cache shared with gunicorn)
                started = time.perf_counter()
                with urllib.request.urlopen(urls[0], timeout=30):  # noqa: S310 - our loopback server
                    pass
                cold.append((time.perf_counter() - started) * 1000)
                results.append(
                    hammer(urls, clients=options["clients"], seconds=options["seconds"], label=label)
                )
        return results, cold

    def _table(
        self, results: list[LoadResult], cold: list[float], papers: int, options: dict[str, Any]
    ) -> list[str]:
        cache = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        lines = [
            f"catalog: {papers} papers on {_database()}; cache {cache}; "
            f"gunicorn {options['workers']} sync workers; {options['clients']} clients, "
            f"{options['seconds']:g} s an address; {os.cpu_count()} CPUs, load average {load} at the end",
            f"{'address':<44} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
            f"{'errors':>6} {'cold ms':>8}",
        ]
        met = 0
        for result, first in zip(results, cold, strict=True):
            ok = result.rate >= TARGET_RATE and result.percentile(99) <= TARGET_P99_MS and result.errors == 0
            met += ok
            p50, p95, p99 = (result.percentile(p) for p in (50, 95, 99))
            lines.append(
                f"{result.url[:44]:<44} {result.requests:>8} {result.rate:>7.0f} {p50:>7.1f} {p95:>7.1f} "
                f"{p99:>7.1f} {result.errors:>6} {first:>8.0f}  {'ok' if ok else 'MISSED'}"
                + (f" ({result.first_error})" if result.first_error else "")
            )
        lines.append(
            f"bench_web: {met} of {len(results)} addresses at ≥ {TARGET_RATE:.0f} req/s with p99 ≤ "
            f"{TARGET_P99_MS:.0f} ms and no errors"
        )
        return lines
