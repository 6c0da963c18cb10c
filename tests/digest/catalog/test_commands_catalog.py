from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command

from digest.models import Paper
from tests.factories import PaperFactory, PaperTopicFactory, TopicFactory

pytestmark = pytest.mark.django_db

TODAY = dt.datetime(2026, 3, 10, 8, 0, tzinfo=dt.UTC)
PAYLOADS = Path(__file__).parent / "payloads"


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@time_machine.travel(TODAY, tick=False)
def test_load_seeds_then_again_then_next_day():
    first, _ = run("load_seeds")
    assert first.startswith("Seeds loaded for 2026-03-10: topics 15 created")
    assert "papers 209 created" in first
    assert "000_ddd5c996f196d5cf.txt: 119, 002_8cb8d931f81b4f53.txt: 94" in first

    second, _ = run("load_seeds")
    assert second.startswith("Seeds already loaded for 2026-03-10: nothing created or changed (209 papers")

    later, _ = run("load_seeds", "--date", "2026-03-11")
    assert "209 re-listed up to 2026-03-11" in later
    assert set(Paper.objects.values_list("listed_on", flat=True)) == {
        dt.date(2026, 3, 10),
        dt.date(2026, 3, 11),
    }


def test_load_seeds_refuses_a_bad_date_and_a_broken_seeds_dir(tmp_path: Path):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        run("load_seeds", "--date", "10/03/2026")
    (tmp_path / "pages").mkdir()
    with pytest.raises(CommandError, match="nothing changed: no page files"):
        run("load_seeds", "--seeds-dir", str(tmp_path))
    assert not Paper.objects.exists()


@time_machine.travel(TODAY, tick=False)
def test_show_trending_prints_each_topic_and_a_summary():
    run("load_seeds")
    out, _ = run("show_trending", "--limit", "2")
    assert "Trending papers listed on 2026-03-10" in out
    assert "Video generation  (" in out
    assert "Speech and audio  (" in out
    assert "no votes yet" in out
    assert out.count("   1. ") == 15
    assert "   3. " not in out
    assert out.strip().splitlines()[-1].startswith("2026-03-10: 94 papers listed, 15 topics (0 with nothing)")


def test_show_trending_ranks_by_votes_and_marks_pins():
    day = dt.date(2026, 3, 10)
    topic = TopicFactory(name="Video", slug="video")
    loud = PaperFactory(title="Loud paper", upvotes=90, comments=3, listed_on=day)
    quiet = PaperFactory(title="Quiet paper", upvotes=1, listed_on=day, pinned=True)
    for paper in (loud, quiet):
        PaperTopicFactory(paper=paper, topic=topic, reason='title "video"')
    out, _ = run("show_trending", "--date", "2026-03-10")
    assert out.index("Quiet paper") < out.index("Loud paper")
    assert "📌 Quiet paper" in out
    assert "90 upvotes, 3 comments" in out
    assert 'title "video"' in out


def test_show_trending_on_an_empty_catalog_or_day_says_so():
    out, _ = run("show_trending")
    assert "No papers yet" in out
    TopicFactory(name="Video", slug="video")
    PaperFactory(listed_on=dt.date(2026, 3, 9))
    out, _ = run("show_trending", "--date", "2026-03-10")
    assert "nothing today" in out
    assert "2026-03-10: 0 papers listed, 1 topics (1 with nothing)" in out
    with pytest.raises(CommandError, match=">= 1"):
        run("show_trending", "--limit", "0")


def test_ingest_papers_ends_with_a_summary(hf):
    items = json.loads((PAYLOADS / "malformed.json").read_text(encoding="utf-8"))
    hf.expect_request(
        "/api/daily_papers", query_string={"date": "2025-06-03", "p": "0", "limit": "100"}
    ).respond_with_json(items)
    out, err = run("ingest_papers", "--date", "2025-06-03")
    assert out.strip() == "2025-06-03: fetched 9, created 2, updated 0, skipped 7, 7 problems (above)."
    assert "not an arXiv id" in err


def test_ingest_papers_fails_loudly_when_the_api_is_down(hf):
    hf.expect_request("/api/daily_papers").respond_with_data("down", status=503)
    with pytest.raises(CommandError, match="fetching 2025-06-03 failed"):
        run("ingest_papers", "--date", "2025-06-03")
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        run("ingest_papers", "--date", "yesterday")
