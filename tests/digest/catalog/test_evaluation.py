"""evaluate_matching: per-topic and micro/macro precision, recall and F1 on a labelled set,
with the worst false positives and misses."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from digest.catalog.evaluation import evaluate, load_set
from subscriptions.models import Topic
from tests.factories import TopicFactory

pytestmark = pytest.mark.django_db


def write_set(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def row(id_: str, title: str, abstract: str, topics: list[str], split: str = "heldout") -> dict[str, object]:
    return {"id": id_, "title": title, "abstract": abstract, "topics": topics, "split": split}


ROWS = [
    row("1", "Speculative decoding for fast LLM serving", "", ["eff"]),
    row("2", "A survey of robots", "We mention speculative decoding once.", []),
    row("3", "Quantized attention kernels", "Faster inference.", ["eff"]),
    row("4", "Speech recognition at scale", "", ["speech"], split="tune"),
    row("5", "Speculative decoding in speech", "", ["speech"]),
]


def topics() -> list[Topic]:
    return [
        TopicFactory(slug="eff", name="Efficiency", terms=["speculative decoding"]),
        TopicFactory(slug="speech", name="Speech", terms=["speech recognition"]),
    ]


def test_scores_count_true_and_false_matches_per_topic_and_overall(tmp_path):
    papers = load_set(write_set(tmp_path / "set.jsonl", ROWS), split="heldout")
    result = evaluate(papers, topics())
    by_slug = {t.slug: t for t in result.topics}
    # eff: 1, 2 and 5 match (a specific phrase counts alone; 2 and 5 are not labelled eff: false
    # positives); 3 is missed.
    assert (by_slug["eff"].tp, by_slug["eff"].fp, by_slug["eff"].fn) == (1, 2, 1)
    assert by_slug["eff"].precision == pytest.approx(1 / 3)
    assert by_slug["eff"].recall == pytest.approx(0.5)
    # speech: 5 is labelled speech but only says "speech": a miss.
    assert (by_slug["speech"].tp, by_slug["speech"].fp, by_slug["speech"].fn) == (0, 0, 1)
    assert by_slug["speech"].f1 == 0.0
    micro = result.micro
    assert (micro.tp, micro.fp, micro.fn) == (1, 2, 2)
    assert result.macro()[1] == pytest.approx(0.25)
    worst = result.mistakes[0]
    assert (worst.kind, worst.slug, worst.paper.id) == ("false positive", "eff", "5")
    assert 'title "speculative decoding"' in worst.reason


def test_the_command_prints_the_table_the_mistakes_and_a_summary(tmp_path):
    topics()
    path = write_set(tmp_path / "set.jsonl", ROWS)
    out = io.StringIO()
    call_command("evaluate_matching", "--set", str(path), stdout=out)
    text = out.getvalue()
    assert "worst false positives:" in text
    assert "worst misses:" in text
    assert text.strip().splitlines()[-1] == (
        "4 papers (heldout), 2 topics (rules as stored): micro P 0.333 R 0.333 F1 0.333"
    )


def test_the_seed_rules_are_used_when_the_database_has_none_of_the_topics(tmp_path):
    rows = [row("9", "Speculative decoding for LLM inference", "", ["llm-inference-efficiency"])]
    out = io.StringIO()
    call_command("evaluate_matching", "--set", str(write_set(tmp_path / "s.jsonl", rows)), stdout=out)
    summary = out.getvalue().strip().splitlines()[-1]
    assert "1 topics (rules of seeds/topics.json, learned model for 1): micro P 1.000 R 1.000" in summary


@pytest.mark.parametrize("content", ["not json\n", '{"title": "no id"}\n'])
def test_a_broken_set_file_is_a_clear_error(tmp_path, content):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(CommandError, match=r"bad\.jsonl:1: not a labelled paper"):
        call_command("evaluate_matching", "--set", str(path), stdout=io.StringIO())
    with pytest.raises(CommandError, match="cannot read"):
        call_command("evaluate_matching", "--set", str(tmp_path / "missing.jsonl"), stdout=io.StringIO())


def test_no_paper_is_scored_by_a_model_that_learned_its_label(settings, tmp_path):
    from digest.catalog.evaluation import models_for
    from digest.catalog.learning import set_examples
    from tests.digest.catalog.labelled import PAPERS, SPEECH
    from tests.digest.catalog.labelled import write_set as write_speech_set

    settings.MATCHING_LABELLED_SET = write_speech_set(tmp_path / "speech.jsonl", heldout=True)
    speech = TopicFactory(slug=SPEECH, terms=["speech recognition"], weak_terms=["speech", "voice"])
    examples = set_examples([speech])
    assert len(examples) == len(PAPERS) - len(PAPERS) // 6  # the held-out part is never an example

    heldout = load_set(settings.MATCHING_LABELLED_SET, split="heldout")
    ((scored, model),) = models_for(heldout, examples, [speech])
    assert {p.id for p in scored} == {p.id for p in heldout}
    assert model is not None
    assert not {p.id for p in heldout} & set(model.oof[SPEECH])

    tune = load_set(settings.MATCHING_LABELLED_SET, split="tune")
    plan = models_for(tune, examples, [speech])
    assert len(plan) == 5
    assert sorted(p.id for group, _ in plan for p in group) == sorted(p.id for p in tune)
    for group, fold_model in plan:
        assert fold_model is not None
        trained_on = set(fold_model.oof.get(SPEECH, {}))
        assert not {p.id for p in group} & trained_on


def test_train_papers_are_learned_from_in_every_fold_and_never_measured(settings, tmp_path):
    from digest.catalog.evaluation import models_for
    from digest.catalog.learning import set_examples
    from tests.digest.catalog.labelled import SPEECH
    from tests.digest.catalog.labelled import write_set as write_speech_set

    path = write_speech_set(tmp_path / "speech.jsonl", heldout=True)
    extra = [
        row("2602.00001", "Speech recognition for children", "Spoken audio of kids.", [SPEECH], "train"),
        row("2602.00002", "Crop yield from satellites", "Fields imaged from orbit.", [], "train"),
    ]
    with path.open("a", encoding="utf-8") as file:
        file.write("".join(json.dumps(r) + "\n" for r in extra))
    settings.MATCHING_LABELLED_SET = path
    speech = TopicFactory(slug=SPEECH, terms=["speech recognition"], weak_terms=["speech", "voice"])
    examples = set_examples([speech])
    keys = {e.key for e in examples}
    assert {"2602.00001", "2602.00002"} <= keys  # learned from

    tune = load_set(path, split="tune")
    plan = models_for(tune, examples, [speech])
    assert sorted(p.id for group, _ in plan for p in group) == sorted(p.id for p in tune)  # never measured
    for _, fold_model in plan:
        assert fold_model is not None
        assert {"2602.00001", "2602.00002"} <= set(fold_model.oof[SPEECH])  # in every fold's training
    out = io.StringIO()
    call_command("evaluate_matching", stdout=out, stderr=io.StringIO())
    assert "5 papers (heldout)" in out.getvalue()


def test_the_command_measures_the_tune_part_by_cross_fitting(settings, tmp_path):
    from tests.digest.catalog.labelled import SPEECH
    from tests.digest.catalog.labelled import write_set as write_speech_set

    settings.MATCHING_LABELLED_SET = write_speech_set(tmp_path / "speech.jsonl", heldout=True)
    TopicFactory(slug=SPEECH, terms=["speech recognition"], weak_terms=["speech", "voice"])
    out, err = io.StringIO(), io.StringIO()
    call_command("evaluate_matching", "--split", "tune", stdout=out, stderr=err)
    assert "training fold 5/5" in err.getvalue()
    assert "28 papers (tune), 1 topics (rules as stored, learned model for 1)" in out.getvalue()
    out = io.StringIO()
    call_command("evaluate_matching", stdout=out, stderr=io.StringIO())
    assert "5 papers (heldout), 1 topics (rules as stored, learned model for 1)" in out.getvalue()


def test_without_a_database_the_command_falls_back_to_the_seed_rules(tmp_path, monkeypatch):
    from django.db import DatabaseError

    def no_table(*args, **kwargs):
        raise DatabaseError("no such table: subscriptions_topic")

    monkeypatch.setattr(Topic.objects, "filter", no_table)
    rows = [row("9", "Speculative decoding for LLM inference", "", ["llm-inference-efficiency"])]
    out = io.StringIO()
    call_command(
        "evaluate_matching", "--set", str(write_set(tmp_path / "s.jsonl", rows)), "--rules-only", stdout=out
    )
    assert "1 topics (rules of seeds/topics.json): micro P 1.000 R 1.000" in out.getvalue()
