from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest

from digest.catalog.ranking import ranked_papers
from digest.catalog.seeds import (
    SEEDS_DIR,
    SeedError,
    load_seeds,
    normalize_title,
    parse_page,
    read_pages,
    read_topics,
    seed_paper_id,
    unique_papers,
)
from digest.models import Paper, PaperTopic
from subscriptions.models import Topic

DAY = dt.date(2026, 3, 10)
ABSTRACT = "We do a thing and it works well, better than the things others did before us. " * 2

# Counted by reading the files: page 000 has 119 title/abstract pairs, page 002 has 94,
# and four papers are on both pages.
PAGE_COUNTS = {"000_ddd5c996f196d5cf.txt": 119, "002_8cb8d931f81b4f53.txt": 94}
UNIQUE_PAPERS = 209
ON_BOTH_PAGES = {
    "ThinkSum: Probabilistic reasoning over sets using large language models",
    "Semantic Representation and Inference for NLP",
    "LLMs Think, But Not In Your Flow: Reasoning-Level Personalization for Black-Box Large Language Models",
    "SentenceVAE: Enable Next-sentence Prediction for Large Language Models with Faster Speed, "
    "Higher Accuracy and Longer Context",
}


def test_each_seed_page_yields_the_papers_it_holds():
    pages = read_pages(SEEDS_DIR / "pages")
    assert {name: len(papers) for name, papers in pages.items()} == PAGE_COUNTS
    first, second = pages.values()
    assert first[0].title == "InfAlign: Inference-aware language model alignment"  # "Subscribe" glued on
    assert first[-1].title.startswith("LLMs Think, But Not In Your Flow")
    assert second[0].title.startswith("CustomVideoX: 3D Reference Attention")  # after the header block
    assert second[-1].title.startswith("SPARKLE: Enhancing SPARQL Generation")
    assert all(len(p.abstract) > 300 for papers in pages.values() for p in papers)
    assert {p.title for p in second} & {p.title for p in first} == ON_BOTH_PAGES


def test_papers_on_both_pages_are_kept_once():
    papers = unique_papers(read_pages(SEEDS_DIR / "pages"))
    assert len(papers) == UNIQUE_PAPERS
    assert len({p.paper_id for p in papers}) == UNIQUE_PAPERS


def test_both_layouts_parse_alike():
    compact = (
        "Get trending papers in your email inbox once a day!\n"
        f"SubscribeFirst Title\n{ABSTRACT}\nSecond\n{ABSTRACT}\n"
    )
    spaced = (
        "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nDaily Papers\n\n"
        f"byAK and the research community\n\nSep 23\n\nFirst  Title\n\n{ABSTRACT}\n\n\nSecond\n\n{ABSTRACT}\n"
    )
    assert parse_page(compact) == parse_page(spaced)
    assert [p.title for p in parse_page(spaced)] == ["First Title", "Second"]


def test_a_title_without_its_abstract_is_a_clear_error():
    with pytest.raises(SeedError, match=r"x\.txt: line 4: a title without its abstract"):
        parse_page(f"Daily Papers\nTitle one\n{ABSTRACT}\nLonely title\n", name="x.txt")
    with pytest.raises(SeedError, match="expected a title"):
        parse_page(f"{ABSTRACT * 3}\n{ABSTRACT}\n")


def test_seed_ids_are_stable_and_ignore_case_spacing_and_punctuation():
    assert seed_paper_id("Tree Cross Attention") == seed_paper_id("  tree cross-attention ")
    assert seed_paper_id("Tree Cross Attention") != seed_paper_id("Tree Cross Attention 2")
    assert re.fullmatch(r"seed-[0-9a-f]{12}", seed_paper_id("Tree Cross Attention"))
    assert normalize_title("Über: Modèles!") == "uber modeles"


def test_seed_topics_are_many_and_complete():
    topics = read_topics(SEEDS_DIR / "topics.json")
    assert len(topics) >= 12
    for t in topics:
        assert t["name"], t["slug"]
        assert t["description"], t["slug"]
        assert t["terms"], t["slug"]


@pytest.mark.django_db
def test_load_seeds_lists_papers_today_without_engagement_and_matches_topics():
    report = load_seeds(day=DAY)

    assert (report.papers_created, report.topics_created) == (
        UNIQUE_PAPERS,
        len(read_topics(SEEDS_DIR / "topics.json")),
    )
    # Two pages, two consecutive listing days: the later page today (a paper on both, today).
    last_page = {p.paper_id for p in read_pages(SEEDS_DIR / "pages")["002_8cb8d931f81b4f53.txt"]}
    assert set(Paper.objects.filter(listed_on=DAY).values_list("paper_id", flat=True)) == last_page
    yesterday = Paper.objects.filter(listed_on=DAY - dt.timedelta(days=1))
    assert len(last_page) + yesterday.count() == UNIQUE_PAPERS
    assert not yesterday.filter(paper_id__in=last_page).exists()
    assert not Paper.objects.exclude(upvotes=0, comments=0, github_stars=0).exists()
    assert not Paper.objects.exclude(authors=[]).exists()
    assert Paper.objects.filter(published_at__isnull=False).count() == 0
    assert report.matches_changed == PaperTopic.objects.count() > UNIQUE_PAPERS
    video = Topic.objects.get(slug="video-generation")
    ranked = ranked_papers(days=[DAY], topic_ids=[video.pk], now=dt.datetime(2026, 3, 10, 9, tzinfo=dt.UTC))
    assert ranked[0].relevance >= ranked[-1].relevance
    assert ranked[0].paper.title.startswith(("CustomVideoX", "MotionBooth"))


@pytest.mark.django_db
def test_load_seeds_twice_the_same_day_changes_nothing():
    load_seeds(day=DAY)
    before = list(Paper.objects.order_by("pk").values("pk", "paper_id", "listed_on", "updated_at"))
    matches = list(PaperTopic.objects.order_by("pk").values())

    again = load_seeds(day=DAY)

    assert again.changed is False
    assert (again.papers_created, again.papers_updated, again.papers_relisted, again.topics_updated) == (
        0,
        0,
        0,
        0,
    )
    assert again.papers_unchanged == UNIQUE_PAPERS
    assert list(Paper.objects.order_by("pk").values("pk", "paper_id", "listed_on", "updated_at")) == before
    assert list(PaperTopic.objects.order_by("pk").values()) == matches


@pytest.mark.django_db
def test_load_seeds_on_a_later_day_relists_the_seed_papers():
    load_seeds(day=DAY)
    later = load_seeds(day=DAY + dt.timedelta(days=1))
    assert later.papers_relisted == UNIQUE_PAPERS
    assert later.papers_created == 0
    assert set(Paper.objects.values_list("listed_on", flat=True)) == {DAY, DAY + dt.timedelta(days=1)}
    earlier = load_seeds(day=DAY)
    assert earlier.changed is False  # never moved back to an earlier day


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    target = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, target)
    return target


@pytest.mark.django_db
def test_changed_topic_rules_are_upserted_by_slug_and_rematched(seeds_copy: Path):
    first = load_seeds(day=DAY, seeds_dir=seeds_copy)
    assert first.model_trained
    topics = json.loads((seeds_copy / "topics.json").read_text())
    speech = next(t for t in topics if t["slug"] == "speech-and-audio")
    speech["terms"] = [*speech["terms"], "audio tokens"]
    topics.append({"slug": "watermarks", "name": "Watermarks", "terms": ["watermark*"]})
    (seeds_copy / "topics.json").write_text(json.dumps(topics))

    report = load_seeds(day=DAY, seeds_dir=seeds_copy)

    assert (report.topics_created, report.topics_updated) == (1, 1)
    assert report.model_trained  # the speech topic's rules are part of what it learns
    assert Topic.objects.get(slug="speech-and-audio").terms[-1] == "audio tokens"
    # Nothing is labelled for the new topic: its rules alone decide.
    titles = set(PaperTopic.objects.filter(topic__slug="watermarks").values_list("paper__title", flat=True))
    expected = {
        p.title
        for p in Paper.objects.all()
        if re.search(r"(?<![a-z])watermark", f"{p.title} {p.abstract}".lower())
    }
    assert titles == expected
    assert "Mask Image Watermarking" in titles


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ("[{", "topics.json"),
        ('{"slug": "x"}', "expected a list"),
        ('[{"slug": "x"}]', "needs a slug and a name"),
        ('[{"slug": "x", "name": "X", "terms": "video"}]', "list of strings"),
        ('[{"slug": "x", "name": "X"}, {"slug": "x", "name": "Y"}]', "duplicate slug"),
    ],
)
def test_broken_topics_file_is_refused_and_nothing_is_written(seeds_copy: Path, broken: str, message: str):
    (seeds_copy / "topics.json").write_text(broken)
    with pytest.raises(SeedError, match=message):
        load_seeds(day=DAY, seeds_dir=seeds_copy)
    assert not Paper.objects.exists()
    assert not Topic.objects.exists()


@pytest.mark.django_db
def test_broken_page_is_refused_and_nothing_is_written(seeds_copy: Path):
    (seeds_copy / "pages" / "999_broken.txt").write_text(f"A title\n{ABSTRACT}\nA title without abstract\n")
    with pytest.raises(SeedError, match=r"999_broken\.txt"):
        load_seeds(day=DAY, seeds_dir=seeds_copy)
    assert not Paper.objects.exists()
