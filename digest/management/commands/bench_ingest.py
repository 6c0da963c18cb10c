"""Benchmark the arXiv ingest: a synthetic announcement served from 127.0.0.1, fetched at arXiv's
pace (one request every ARXIV_API_DELAY seconds), parsed, stored and matched against topics."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from digest.bench import arxiv_feed, data
from digest.bench.measure import QueryCounter, peak_rss_mb, reset_peak_rss
from digest.bench.runner import cleanup, ensure_empty
from digest.catalog.arxiv_calendar import latest_announcement
from digest.catalog.arxiv_client import ArxivClient
from digest.catalog.arxiv_ingest import ingest_announcement
from digest.management.commands._args import positive_int
from digest.models import PaperTopic


class Command(BaseCommand):
    help = (
        "In an EMPTY database: make --topics topics, serve a --papers entry arXiv announcement from "
        "127.0.0.1, ingest and match it with the real client (arXiv's 3 s pace), print the figures, "
        "delete what it wrote."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--papers", type=positive_int, default=2000)
        parser.add_argument("--topics", type=positive_int, default=50)
        parser.add_argument("--page-size", type=positive_int, default=settings.ARXIV_API_PAGE_SIZE)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["page_size"] > 2000:
            raise CommandError("--page-size is at most 2000 (arXiv's advice for one request)")
        ensure_empty()
        entries = arxiv_feed.entries(options["papers"])
        try:
            data.make_topics(data.Spec(readers=0, topics=options["topics"], papers=0))
            with arxiv_feed.serving(entries) as base_url:
                client = ArxivClient(base_url=base_url, page_size=options["page_size"])
                counter = QueryCounter()
                reset_peak_rss()
                start = time.perf_counter()
                with counter.counting():
                    report = ingest_announcement(
                        day=latest_announcement(timezone.now()).listed_on, categories=["cs.CL"], client=client
                    )
                seconds = time.perf_counter() - start
            matches = PaperTopic.objects.count()
        finally:
            cleanup()
        waited = max(client.requests_made - 1, 0) * client.delay
        self.stdout.write(
            f"papers {report.created} (of {report.fetched} entries, {report.skipped} skipped), "
            f"topics {options['topics']}, matches {matches}, requests {client.requests_made} "
            f"(page {options['page_size']}, {client.delay:.0f} s apart: {waited:.1f} s of waiting), "
            f"SQL queries {counter.count}, peak RSS {peak_rss_mb():.0f} MB"
        )
        self.stdout.write(f"total: {seconds:.2f} s")
        if report.errors:
            raise CommandError("; ".join(report.errors[:5]))
