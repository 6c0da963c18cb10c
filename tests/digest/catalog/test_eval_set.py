"""The shipped evaluation set (seeds/eval/papers.jsonl) is what its rules say it is."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from digest.catalog.evaluation import load_set
from digest.catalog.seeds import normalize_title, read_pages, unique_papers

ROOT = Path(__file__).resolve().parents[3]
SET = ROOT / "seeds" / "eval" / "papers.jsonl"
SLUGS = {t["slug"] for t in json.loads((ROOT / "seeds" / "topics.json").read_text())}


# The held-out part never changes: a digest of its ids and labels (rounds 1-3, 1,747 papers).
HELDOUT_DIGEST = "dec9c3196f2a1604e38b02c9fdf82203886a4fc93d0cef746b12557ab06d78cc"


def test_the_set_has_enough_real_papers_every_topic_and_both_splits():
    every = load_set(SET)
    assert len({p.id for p in every}) == len(every)
    assert all(p.title and p.abstract for p in every)
    assert {p.split for p in every} == {"tune", "heldout", "train"}
    assert {slug for p in every for slug in p.topics} <= SLUGS  # no stray slug, in `train` either
    papers = [p for p in every if p.split != "train"]  # the evaluation set proper
    assert len(papers) >= 400
    labelled = {slug for p in papers for slug in p.topics}
    assert labelled == SLUGS  # every seed topic has positives, and nothing else is labelled
    assert sum(1 for p in papers if not p.topics) > len(papers) / 4  # plenty of papers for no topic
    for split in ("tune", "heldout"):
        for slug in SLUGS:  # enough positives everywhere for per-topic figures to mean something
            assert sum(1 for p in papers if p.split == split and slug in p.topics) >= 20, (split, slug)


def test_the_split_is_fixed_by_the_id_so_nobody_can_move_a_paper_into_tuning():
    for paper in load_set(SET, split="tune") + load_set(SET, split="heldout"):
        heldout = int(hashlib.sha256(paper.id.encode()).hexdigest()[:8], 16) % 100 < 40
        assert paper.split == ("heldout" if heldout else "tune"), paper.id


def test_the_held_out_part_is_exactly_the_one_measured_since_round_three():
    """Papers labelled later only ever join `train`; no held-out paper moves or changes label."""
    heldout = sorted((p.id, sorted(p.topics)) for p in load_set(SET, split="heldout"))
    assert len(heldout) == 1747
    assert hashlib.sha256(json.dumps(heldout).encode()).hexdigest() == HELDOUT_DIGEST


def test_no_paper_of_the_set_is_a_seed_paper():
    seeds = {normalize_title(p.title) for p in unique_papers(read_pages(ROOT / "seeds" / "pages"))}
    assert len(seeds) > 200
    assert not [p.id for p in load_set(SET) if normalize_title(p.title) in seeds]
