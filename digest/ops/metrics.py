"""Prometheus metrics, read from the database at scrape time (kept METRICS_CACHE_SECONDS):
digests by day and outcome, bounces by day, and each scheduled job's runs, durations and
last success. Nothing personal; a fixed number of queries whatever the size of the tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from digest.models import Delivery, JobRun
from subscriptions.models import EmailEvent

CACHE_KEY = "metrics:text"
DURATION = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())


class PaperboyCollector(Collector):
    def __init__(self, *, now: dt.datetime | None = None) -> None:
        self.now = now or timezone.now()

    def collect(self) -> Iterator[Metric]:
        since = self.now.date() - dt.timedelta(days=settings.METRICS_DAYS - 1)
        yield self._digests(since)
        yield self._bounces(since)
        yield from self._jobs()

    def _digests(self, since: dt.date) -> Metric:
        family = GaugeMetricFamily(
            "paperboy_digests",
            "Digests by digest date and outcome (last METRICS_DAYS days).",
            labels=["day", "outcome"],
        )
        rows = (
            Delivery.objects.filter(digest_date__gte=since)
            .values("digest_date", "status")
            .annotate(n=Count("pk"))
            .order_by("digest_date", "status")
        )
        for row in rows:
            family.add_metric([row["digest_date"].isoformat(), row["status"]], row["n"])
        return family

    def _bounces(self, since: dt.date) -> Metric:
        family = GaugeMetricFamily(
            "paperboy_bounces",
            "Bounces reported by the ESP, by day received and kind.",
            labels=["day", "kind"],
        )
        rows = (
            EmailEvent.objects.filter(received_at__date__gte=since)
            .exclude(bounce="")
            .annotate(day=TruncDate("received_at"))
            .values("day", "bounce")
            .annotate(n=Count("pk"))
            .order_by("day", "bounce")
        )
        for row in rows:
            family.add_metric([row["day"].isoformat(), row["bounce"]], row["n"])
        return family

    def _jobs(self) -> Iterator[Metric]:
        runs = CounterMetricFamily(
            "paperboy_job_runs", "Runs of each scheduled job.", labels=["job", "outcome"]
        )
        seconds = CounterMetricFamily(
            "paperboy_job_duration_seconds", "Time spent in each scheduled job.", labels=["job"]
        )
        items = CounterMetricFamily(
            "paperboy_job_items", "Papers stored (ingest) or digests queued (dispatch).", labels=["job"]
        )
        last = GaugeMetricFamily(
            "paperboy_job_last_success_timestamp_seconds", "When each job last succeeded.", labels=["job"]
        )
        totals: dict[str, float] = {}
        rows = JobRun.objects.values("kind", "ok").annotate(
            n=Count("pk"), items=Sum("items"), last=Max("finished_at")
        )
        durations = JobRun.objects.values("kind").annotate(total=Sum(DURATION))
        for row in rows:
            runs.add_metric([row["kind"], "ok" if row["ok"] else "failed"], row["n"])
            totals[row["kind"]] = totals.get(row["kind"], 0.0) + float(row["items"] or 0)
            if row["ok"] and row["last"] is not None:
                last.add_metric([row["kind"]], row["last"].timestamp())
        for kind, total in durations.values_list("kind", "total"):
            seconds.add_metric([kind], total.total_seconds() if total else 0.0)
        for kind, count in sorted(totals.items()):
            items.add_metric([kind], count)
        yield from (runs, seconds, items, last)


def exposition() -> bytes:
    """The metrics in Prometheus' text format (kept METRICS_CACHE_SECONDS)."""
    found = cache.get(CACHE_KEY)
    if isinstance(found, bytes):
        return found
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PaperboyCollector())
    text = generate_latest(registry)
    cache.set(CACHE_KEY, text, settings.METRICS_CACHE_SECONDS)
    return text
