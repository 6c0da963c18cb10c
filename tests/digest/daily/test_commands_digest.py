"""send_digests and load_demo_readers from the shell: the demo day end to end."""

from __future__ import annotations

import datetime as dt
import email
import json
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

from digest.models import Delivery, SendingSettings
from subscriptions.models import Subscriber
from tests.factories import PaperFactory, PaperTopicFactory, SubscriberFactory, TopicFactory
from tests.sent_mail import mime_body

pytestmark = pytest.mark.django_db

DEMO_FILE = Path(__file__).resolve().parents[3] / "seeds" / "demo_readers.json"
DAY = dt.date(2026, 3, 2)


@pytest.fixture
def outbox(settings, tmp_path: Path) -> Path:
    settings.EMAIL_BACKEND = "subscriptions.outbox.EmlFileBackend"
    settings.EMAIL_OUTBOX_DIR = tmp_path
    return tmp_path


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]):
    """Call a command as the shell does (autocommit: sends run as rows commit); its stdout.
    Tests that count sent messages need `django_db(transaction=True)` for that."""

    def call(*args: str) -> str:
        call_command(*args)
        return capsys.readouterr().out

    return call


@pytest.fixture
def readers():
    topic = TopicFactory(name="LLM", slug="llm")
    for n in range(3):
        PaperTopicFactory(paper=PaperFactory(title=f"Paper {n}", listed_on=DAY, upvotes=10 - n), topic=topic)
    return [SubscriberFactory(email=f"r{n}@example.com", topics=[topic], delivery_hour=23) for n in range(3)]


def _emails(outbox: Path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(outbox.glob("*.eml"))
    ]


def test_demo_readers_load_once_active_with_demo_consent(capsys):
    call_command("load_seeds", "--date", "2026-03-02")
    call_command("load_demo_readers")
    assert "7 created" in capsys.readouterr().out
    call_command("load_demo_readers")
    assert "0 created, 7 already there" in capsys.readouterr().out
    readers = Subscriber.objects.all()
    assert readers.count() == len(json.loads(DEMO_FILE.read_text()))
    assert {r.status for r in readers} == {Subscriber.Status.ACTIVE}
    assert {r.consent_form_version for r in readers} == {"demo"}
    assert len({r.timezone for r in readers}) >= 4
    assert {r.frequency for r in readers} == {"daily", "weekly"}
    assert all(r.topics.exists() for r in readers)
    (own,) = [r for r in readers if r.keywords]  # one reader with interests of their own
    assert own.keywords == ["KV cache", "speculative decoding"]
    assert own.exclude_words == ["survey"]


def test_demo_readers_with_an_unknown_topic_change_nothing(tmp_path: Path):
    TopicFactory(slug="llm")
    bad = tmp_path / "readers.json"
    bad.write_text(
        json.dumps(
            [{"email": "a@example.com", "topics": ["llm"]}, {"email": "b@example.com", "topics": ["nope"]}]
        )
    )
    with pytest.raises(CommandError, match="unknown topic"):
        call_command("load_demo_readers", "--file", str(bad))
    assert not Subscriber.objects.exists()


def test_demo_readers_with_interests_out_of_bounds_change_nothing(tmp_path: Path):
    TopicFactory(slug="llm")
    bad = tmp_path / "readers.json"
    entries = [
        {"email": "a@example.com", "topics": ["llm"]},
        {"email": "b@example.com", "topics": ["llm"], "keywords": ["x" * 101]},
    ]
    bad.write_text(json.dumps(entries))
    with pytest.raises(CommandError, match=r"b@example\.com: .* longer than 100 characters"):
        call_command("load_demo_readers", "--file", str(bad))
    assert not Subscriber.objects.exists()
    entries[1]["keywords"] = "KV cache"  # a string, not a list of phrases
    bad.write_text(json.dumps(entries))
    with pytest.raises(CommandError, match="keywords must be a list of phrases"):
        call_command("load_demo_readers", "--file", str(bad))
    assert not Subscriber.objects.exists()


def test_demo_readers_from_an_unreadable_file_is_a_clear_error(tmp_path: Path):
    broken = tmp_path / "readers.json"
    broken.write_text("[{")
    with pytest.raises(CommandError, match="cannot read"):
        call_command("load_demo_readers", "--file", str(broken))


@pytest.mark.django_db(transaction=True)
def test_the_demo_day_sends_each_reader_one_email_and_a_second_run_nothing(outbox, run):
    call_command("load_seeds", "--date", "2026-03-02")
    call_command("load_demo_readers")
    first = run("send_digests", "--all", "--date", "2026-03-02")
    assert "due: 7" in first
    assert "sent: 7" in first
    messages = _emails(outbox)
    assert sorted(m["To"] for m in messages) == sorted(r["email"] for r in json.loads(DEMO_FILE.read_text()))
    for message in messages:
        assert message["List-Unsubscribe"].strip().startswith("<http")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert mime_body(message, "html").count("<table") >= 1
        assert "%%PAPERBOY" not in mime_body(message, "plain")
    second = run("send_digests", "--all", "--date", "2026-03-02")
    assert "due: 0" in second
    assert "sent: 0" in second
    assert len(_emails(outbox)) == 7
    (hedy,) = [m for m in messages if m["To"] == "hedy@example.com"]
    assert "matches your keyword" in mime_body(hedy, "plain")  # a personal digest, sent from its list


def test_send_digests_respects_delivery_hours_without_all(readers, outbox, run):
    with time_machine.travel(dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC), tick=False):
        out = run("send_digests")
    assert out.strip().endswith("queued: 0")
    assert "due: 0" in out
    assert _emails(outbox) == []


@pytest.mark.django_db(transaction=True)
def test_send_digests_summary_counts_skipped_readers(readers, outbox, run):
    SubscriberFactory(email="quiet@example.com", topics=[TopicFactory(slug="quiet")])
    out = run("send_digests", "--all", "--date", "2026-03-02")
    assert "due: 4, editions: 1, sent: 3, skipped: 1, failed: 0" in out
    assert Delivery.objects.get(subscriber__email="quiet@example.com").status == Delivery.Status.SKIPPED


def test_send_digests_dry_run_writes_and_sends_nothing(readers, outbox, run):
    out = run("send_digests", "--dry-run", "--all", "--date", "2026-03-02")
    assert out.startswith("dry run")
    assert "due: 3" in out
    assert not Delivery.objects.exists()
    assert _emails(outbox) == []


@pytest.mark.django_db(transaction=True)
def test_send_digests_for_one_email_whatever_its_case(readers, outbox, run):
    out = run("send_digests", "--all", "--date", "2026-03-02", "--email", "R2@example.com")
    assert "due: 1" in out
    assert "sent: 1" in out
    assert [m["To"] for m in _emails(outbox)] == ["r2@example.com"]


def test_send_digests_while_paused_says_so_and_sends_nothing(readers, outbox, run):
    SendingSettings.objects.update_or_create(pk=1, defaults={"sending_paused": True})
    out = run("send_digests", "--all", "--date", "2026-03-02")
    assert "paused" in out
    assert not Delivery.objects.exists()
    assert _emails(outbox) == []


def test_send_digests_rejects_a_malformed_date(readers):
    with pytest.raises(CommandError):
        call_command("send_digests", "--date", "2026-13-40")
    assert not Delivery.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_demo_tells_a_short_story_and_sends_for_each_readers_own_dates(outbox, capsys):
    """At 20:00 UTC Tokyo is on the next day already and Los Angeles at noon: each reader gets
    their local yesterday's and today's digests, and a later send finds nothing due."""
    with time_machine.travel(dt.datetime(2026, 3, 2, 20, 0, tzinfo=dt.UTC), tick=False):
        call_command("demo")
        story = capsys.readouterr()
        dates = {
            (email_, day) for email_, day in Delivery.objects.values_list("subscriber__email", "digest_date")
        }
        readers = json.loads(DEMO_FILE.read_text())
        for reader in readers:
            local_today = dt.datetime.now(ZoneInfo(reader["timezone"])).date()
            wanted = {local_today - dt.timedelta(days=1), local_today}
            assert {day for email_, day in dates if email_ == reader["email"]} == wanted, reader["timezone"]
        assert len(_emails(outbox)) == 2 * len(readers)
        call_command("send_digests", "--all")
        assert "due: 0" in capsys.readouterr().out
        assert len(_emails(outbox)) == 2 * len(readers)
    lines = story.out.splitlines()
    assert len(lines) < 60
    assert lines[0].startswith("Paperboy demo:")
    assert any(line.startswith("4/4 Today's digests") and f"{len(readers)} sent" in line for line in lines)
    assert any(line.startswith("Open one in a mail client") and line.endswith(".eml") for line in lines)
    assert "WARNING" not in story.out + story.err
    assert " INFO " not in story.out + story.err
