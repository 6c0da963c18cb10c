"""Benchmark topic matching: re-match every paper against every topic, as saving a topic or a
fresh ingest does, in an EMPTY database; prints the figures and deletes what it wrote."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import feedparser
from django.conf import settings
from django.core.management.base import BaseCommand

from digest.bench import arxiv_feed
from digest.bench.data import WORDS
from digest.bench.measure import peak_rss_mb, reset_peak_rss
from digest.bench.runner import cleanup, ensure_empty
from digest.catalog.arxiv_ingest import parse_entry
from digest.catalog.learning import ensure_trained
from digest.catalog.matching import rematch_papers
from digest.catalog.seeds import read_topics
from digest.management.commands._args import positive_int
from digest.models import Paper, PaperTopic
from subscriptions.models import Topic


class Command(BaseCommand):
    help = (
        "In an EMPTY database: the seed topics plus synthetic ones up to --topics, --papers synthetic "
        "arXiv papers; time re-matching all of them (the work a topic save or an ingest triggers)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--papers", type=positive_int, default=5000)
        parser.add_argument("--topics", type=positive_int, default=50)

    def handle(self, *args: Any, **options: Any) -> None:
        ensure_empty()
        try:
            topics = self._topics(options["topics"])
            self._papers(options["papers"])
            start = time.perf_counter()
            report = ensure_trained()
            trained = time.perf_counter() - start
            reset_peak_rss()
            start = time.perf_counter()
            changed = rematch_papers()
            seconds = time.perf_counter() - start
            matches = PaperTopic.objects.count()
        finally:
            cleanup()
        self.stdout.write(
            f"training: {trained:.2f} s ({report.examples} labelled papers, {len(report.learned)} topics "
            "learned; done once per change of examples, decisions or rules, not per match)"
        )
        self.stdout.write(
            f"papers {options['papers']}, topics {topics}, match rows written {changed}, "
            f"matches {matches}, peak RSS {peak_rss_mb():.0f} MB"
        )
        self.stdout.write(f"total: {seconds:.2f} s")

    @staticmethod
    def _topics(count: int) -> int:
        seeds = read_topics(Path(settings.BASE_DIR) / "seeds" / "topics.json")[:count]
        made = [Topic(**row) for row in seeds]
        pairs = itertools.combinations(WORDS, 2)
        for n in range(count - len(made)):
            a, b = next(pairs)
            made.append(
                Topic(
                    name=f"Bench {a} {b}",
                    slug=f"bench-{a}-{b}",
                    position=100 + n,
                    terms=[f"{a} {b}", f"{b} {a}", f"{a} + {b}", f"efficient {a}"],
                    exclude_terms=[f"no {a}"],
                    categories=["cs.LG"] if n % 5 == 0 else [],
                )
            )
        Topic.objects.bulk_create(made)
        return len(made)

    @staticmethod
    def _papers(count: int) -> None:
        day = time.strftime("%Y-%m-%d")
        feed = feedparser.parse(arxiv_feed.page(arxiv_feed.entries(count), 0, count))
        papers = []
        for entry in feed.entries:
            data = parse_entry(entry)
            papers.append(
                Paper(paper_id=data.paper_id, listed_on=day, source=Paper.Source.ARXIV, **data.values())
            )
        Paper.objects.bulk_create(papers, batch_size=1000)
