"""bench_digest smoke test: counts and query bounds on a few thousand readers (never times)."""

from __future__ import annotations

import io
import os

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from config.celery_app import app
from digest.daily.storage import on_postgresql
from digest.models import Delivery, Edition, Paper
from subscriptions.models import Subscriber, Topic
from tests.celery_worker import needs_redis_and_postgres, test_database_url
from tests.factories import SubscriberFactory
from tests.manage_process import run_manage

CHUNK = 500


def bench(**options: object) -> dict[str, dict[str, str]]:
    out = io.StringIO()
    call_command("bench_digest", stdout=out, verbosity=0, chunk_size=CHUNK, **options)
    return _table(out.getvalue())


def bench_in_a_process_of_its_own(**options: object) -> dict[str, dict[str, str]]:
    """bench_digest as a user runs it, in a fresh process on the test database: its sender
    processes fork from a process with no live-server or browser threads (which other tests
    of this session may have left running here)."""
    flags = [f"--{name.replace('_', '-')}={value}" for name, value in options.items()]
    env = {**os.environ, "DATABASE_URL": test_database_url()}
    result = run_manage("bench_digest", "--verbosity=0", f"--chunk-size={CHUNK}", *flags, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return _table(result.stdout)


def _table(output: str) -> dict[str, dict[str, str]]:
    lines = output.splitlines()
    header = ["mode", "readers", "sets", "editions", "messages", "plan", "send", "total", "rate", "queries"]
    table = [line.split() for line in lines[1:] if len(line.split()) == 12]  # the mode rows
    rows = {cells[0]: dict(zip(header, cells, strict=False)) for cells in table}
    assert lines[-1].startswith("total: ")
    assert lines[-1].endswith(" s")
    return rows


def per_chunk_bound(readers: int) -> int:
    """Fixed queries (pools, topics, settings) plus a handful per planning and sending chunk;
    SQLite splits bulk inserts at its 999-variable limit, hence more statements a chunk."""
    chunks = -(-readers // CHUNK)
    return 40 + (12 if on_postgresql() else 30) * chunks


@pytest.mark.django_db
def test_batch_run_sends_every_reader_once_with_queries_per_chunk_not_per_reader():
    rows = bench(readers=2000, topics=12, papers=300, topic_sets=40, mode="batch")
    batch = rows["batch"]
    assert int(batch["readers"]) == 2000
    assert 1 <= int(batch["sets"]) <= 40
    assert 1 <= int(batch["editions"]) < 2000
    assert int(batch["messages"]) < 2000  # recipients share ESP calls
    # PostgreSQL records a chunk's sends in one UPDATE; other databases in one per ESP message.
    per_message_writes = 0 if on_postgresql() else int(batch["messages"])
    assert int(batch["queries"]) - per_message_writes <= per_chunk_bound(2000)
    assert not Subscriber.objects.exists()
    assert not Delivery.objects.exists()
    assert not Paper.objects.exists()
    assert not Edition.objects.exists()
    assert not Topic.objects.exists()


@pytest.mark.django_db
def test_all_modes_send_the_same_readers_and_naive_renders_per_reader():
    rows = bench(readers=600, topics=8, papers=100, topic_sets=10, mode="all", naive_limit=50)
    assert int(rows["per-message"]["messages"]) == 600
    assert int(rows["batch"]["readers"]) == 600
    assert int(rows["naive*"]["messages"]) == 50
    # per-message: one outcome write per recipient, the rest per chunk
    assert int(rows["per-message"]["queries"]) <= 600 + per_chunk_bound(600)
    assert int(rows["naive*"]["queries"]) >= 50 * 5  # papers, topics, chips, delivery rows per reader


@pytest.mark.django_db
def test_bench_refuses_a_database_with_readers_and_touches_nothing():
    reader = SubscriberFactory()
    with pytest.raises(CommandError, match="refuses"):
        call_command("bench_digest", readers=10, stdout=io.StringIO(), verbosity=0)
    assert list(Subscriber.objects.all()) == [reader]
    assert not Topic.objects.exists()


@pytest.mark.skipif(
    not on_postgresql(),
    reason="sender processes and the dispatcher's writer thread need PostgreSQL (set DATABASE_URL)",
)
@pytest.mark.django_db(transaction=True)
def test_sender_processes_and_overlapped_writes_send_everyone_once_and_count_every_query():
    readers = 3000
    rows = bench_in_a_process_of_its_own(
        readers=readers, topics=12, papers=300, topic_sets=40, mode="batch", senders=2
    )
    batch = rows["batch"]
    assert int(batch["readers"]) == readers
    assert 1 <= int(batch["messages"]) < readers  # sent by the sender processes, counted here
    chunks = -(-readers // CHUNK)
    # due page, history, edition lookup, row insert (writer thread), claim and outcome (senders):
    # queries from every process and thread are counted, and stay a few per chunk.
    assert 6 * chunks <= int(batch["queries"]) <= per_chunk_bound(readers)
    assert not Delivery.objects.exists()
    assert not Subscriber.objects.exists()


@needs_redis_and_postgres("to compare real Celery worker pools")
@pytest.mark.django_db(transaction=True)
def test_worker_pools_send_every_reader_once_through_the_smtp_sink_and_report_the_ratio(monkeypatch):
    app.conf.task_always_eager = False  # the chunks go to the broker (conftest restores it)
    monkeypatch.setenv("DATABASE_URL", test_database_url())  # the workers use the test database
    out = io.StringIO()
    call_command(
        "bench_digest", readers=300, topics=6, papers=60, topic_sets=10, workers=(1, 2),
        chunk_size=50, stdout=out, verbosity=0,
    )  # fmt: skip
    lines = out.getvalue().splitlines()
    rows = {cells[0] + " " + cells[1]: cells for line in lines if len(cells := line.split()) == 13}
    assert int(rows["celery x1"][2]) == int(rows["celery x2"][2]) == 300  # readers
    assert int(rows["celery x1"][5]) == int(rows["celery x2"][5]) == 300  # one message each
    assert any(line.startswith("celery x2 / celery x1 (send phase): ") for line in lines)
    assert mail.outbox == []  # nothing was sent in this process: the workers sent over SMTP
    assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_bench_ingest_serves_an_announcement_ingests_matches_prints_and_cleans_up(settings):
    from digest.models import Paper, PaperTopic

    settings.ARXIV_API_DELAY = 0  # the real pace is 3 s; the figures here are not the point
    out = io.StringIO()
    call_command("bench_ingest", papers=30, topics=5, page_size=8, stdout=out)
    first, total = out.getvalue().strip().splitlines()
    assert first.startswith("papers 30 (of 30 entries, 0 skipped), topics 5, matches ")
    assert "requests 4 (page 8" in first
    assert total.startswith("total: ")
    assert float(total.split()[1]) > 0
    assert not Paper.objects.exists()
    assert not PaperTopic.objects.exists()
    assert not Topic.objects.exists()


@pytest.mark.django_db
def test_bench_matching_rematches_seed_and_synthetic_topics_prints_and_cleans_up():
    from digest.models import MatchingModel, Paper, PaperTopic

    out = io.StringIO()
    call_command("bench_matching", papers=40, topics=20, stdout=out)
    training, first, total = out.getvalue().strip().splitlines()
    assert training.startswith("training: ")
    assert "15 topics learned" in training  # the seed topics the labelled set covers
    assert first.startswith("papers 40, topics 20, match rows written ")
    assert int(first.split("match rows written ")[1].split(",")[0]) > 0
    assert total.startswith("total: ")
    assert not Paper.objects.exists()
    assert not PaperTopic.objects.exists()
    assert not Topic.objects.exists()
    assert not MatchingModel.objects.exists()
