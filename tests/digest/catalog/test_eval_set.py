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


def test_the_set_has_enough_real_papers_every_topic_and_both_splits():
    papers = load_set(SET)
    assert len(papers) >= 400
    assert len({p.id for p in papers}) == len(papers)
    assert all(p.title and p.abstract for p in papers)
    assert {p.split for p in papers} == {"tune", "heldout"}
    labelled = {slug for p in papers for slug in p.topics}
    assert labelled == SLUGS  # every seed topic has positives, and nothing else is labelled
    assert sum(1 for p in papers if not p.topics) > len(papers) / 4  # plenty of papers for no topic
    for split in ("tune", "heldout"):
        for slug in SLUGS:  # enough positives everywhere for per-topic figures to mean something
            assert sum(1 for p in papers if p.split == split and slug in p.topics) >= 20, (split, slug)


def test_the_split_is_fixed_by_the_id_so_nobody_can_move_a_paper_into_tuning():
    for paper in load_set(SET):
        heldout = int(hashlib.sha256(paper.id.encode()).hexdigest()[:8], 16) % 100 < 40
        assert paper.split == ("heldout" if heldout else "tune"), paper.id


def test_no_paper_of_the_set_is_a_seed_paper():
    seeds = {normalize_title(p.title) for p in unique_papers(read_pages(ROOT / "seeds" / "pages"))}
    assert len(seeds) > 200
    assert not [p.id for p in load_set(SET) if normalize_title(p.title) in seeds]
