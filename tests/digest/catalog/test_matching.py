from __future__ import annotations

from types import SimpleNamespace

import pytest

from digest.catalog.learning import current_model, ensure_trained, set_examples
from digest.catalog.matcher import LearnedModel, Matcher
from digest.catalog.matching import match_paper, preview_topic_rules, rematch_papers, rematch_topic
from digest.catalog.training import eval_examples, train
from digest.models import MatchingModel, PaperTopic
from digest.tasks import rematch_topic as rematch_topic_task
from subscriptions.models import Topic
from tests.digest.catalog.labelled import PAPERS, SPEECH, write_set
from tests.factories import PaperFactory, PaperTopicFactory, TopicFactory


def topic(pk: int = 1, slug: str = "", **rules) -> Topic:
    rules.setdefault("name", f"T{pk}")
    return Topic(pk=pk, slug=slug or f"t{pk}", **rules)


def paper(title: str = "", abstract: str = "", **extra) -> SimpleNamespace:
    extra.setdefault("ai_keywords", [])
    extra.setdefault("categories", [])
    return SimpleNamespace(title=title, abstract=abstract, ai_summary="", **extra)


SPEECH_RULES = {"terms": ["speech recognition", "vocoder*"], "weak_terms": ["speech", "voice", "audio"]}


@pytest.fixture(scope="module")
def speech_model() -> LearnedModel:
    """A model trained on the small speech set (module-wide: training is pure)."""
    from digest.catalog.labelled import LabelledPaper

    papers = [
        LabelledPaper(
            id=str(n),
            title=t,
            abstract=a,
            categories=(),
            topics=frozenset([SPEECH] if y else []),
            split="tune",
        )
        for n, (t, a, y) in enumerate(PAPERS)
    ]
    return train(eval_examples(papers, [SPEECH]), [topic(1, SPEECH, **SPEECH_RULES)])


# --- deciding: rules alone, then with the learned model ----------------------------


def test_a_topic_nothing_was_learned_for_matches_on_its_rules_alone():
    t = topic(1, terms=["video generation"], weak_terms=["video"])
    (found,) = match_paper(paper("A model", "We improve video generation."), [t])
    assert found.reason == 'abstract "video generation", abstract "video" (weak)'
    assert 0 < found.score < 1
    assert match_paper(paper("A model", "We study video."), [t]) == []
    assert match_paper(paper("Video models", "of all kinds"), [t])


def test_match_paper_returns_every_matching_topic_best_first():
    a = topic(1, terms=["video"])
    b = topic(2, terms=["video", "diffusion"])
    c = topic(3, terms=["speech"])
    found = match_paper(paper("Video diffusion"), [a, b, c])
    assert [m.topic_id for m in found] == [2, 1]


def test_the_learned_model_finds_papers_no_written_term_names(speech_model):
    t = topic(1, SPEECH, **SPEECH_RULES)
    unnamed = paper(
        "Phoneme alignment for sung melodies", "A vocal spoken corpus with phonemes and speakers."
    )
    assert match_paper(unnamed, [t]) == []  # rules alone: nothing fires
    (found,) = match_paper(unnamed, [t], speech_model)
    assert found.reason.startswith("learned ")
    assert "words like its labelled papers" in found.reason


def test_the_learned_model_turns_down_a_generic_word_in_the_wrong_sense(speech_model):
    t = topic(1, SPEECH, **SPEECH_RULES)
    wrong = paper(
        "Speech acts in online moderation", "A legal study of written posts and hateful content rules."
    )
    assert match_paper(wrong, [t])  # rules alone: a weak word in the title is a match
    assert match_paper(wrong, [t], speech_model) == []
    right = paper("Speech recognition for children", "Spoken audio from young speakers, transcribed.")
    (found,) = match_paper(right, [t], speech_model)
    assert 'title "speech recognition"' in found.reason


def test_an_exclude_term_vetoes_even_a_learned_match(speech_model):
    t = topic(1, SPEECH, **SPEECH_RULES, exclude_terms=["singing"])
    assert (
        match_paper(paper("Singing voice synthesis", "A vocoder for spoken audio."), [t], speech_model) == []
    )


def test_a_model_round_trips_through_bytes_without_changing_a_verdict(speech_model):
    again = LearnedModel.from_bytes(speech_model.to_bytes())
    t = topic(1, SPEECH, **SPEECH_RULES)
    samples = [paper(title, abstract) for title, abstract, _ in PAPERS] + [paper("Voice cloning", "audio")]
    before = [d.score for (d,) in Matcher([t], speech_model).decisions(samples)]
    after = [d.score for (d,) in Matcher([t], again).decisions(samples)]
    assert before == pytest.approx(after, abs=1e-4)
    assert again.combiners == speech_model.combiners


def test_training_skips_a_topic_with_too_few_labelled_papers():
    from digest.catalog.labelled import LabelledPaper

    few = [
        LabelledPaper(
            id=str(n),
            title=f"Speech {n}",
            abstract="",
            categories=(),
            topics=frozenset([SPEECH]),
            split="tune",
        )
        for n in range(3)
    ]
    model = train(eval_examples(few, [SPEECH]), [topic(1, SPEECH, terms=["speech"])])
    assert model.combiners == {}


# --- the stored model ----------------------------------------------------------------


@pytest.fixture
def speech_set(settings, tmp_path):
    settings.MATCHING_LABELLED_SET = write_set(tmp_path / "labelled.jsonl")
    return settings.MATCHING_LABELLED_SET


@pytest.mark.django_db
def test_ensure_trained_trains_once_and_again_only_when_something_changed(speech_set):
    t = TopicFactory(slug=SPEECH, **SPEECH_RULES)
    first = ensure_trained()
    assert first.trained
    assert first.examples == len(PAPERS)
    assert SPEECH in (current_model() or LearnedModel.from_bytes(b"")).combiners
    assert not ensure_trained().trained
    t.terms = [*t.terms, "ASR"]
    t.save()
    assert ensure_trained().trained  # the combiner weighs the rules' evidence
    decided = PaperFactory(title="Bird song recordings", abstract="Audio of birds.")
    PaperTopicFactory(paper=decided, topic=t, manual=True, excluded=True)
    report = ensure_trained()
    assert report.trained
    assert report.decisions == 1
    assert MatchingModel.objects.count() == 3


@pytest.mark.django_db
def test_an_editors_decision_overrides_the_sets_label_of_the_same_paper(speech_set):
    t = TopicFactory(slug=SPEECH, **SPEECH_RULES)
    same = PaperFactory(paper_id="2601.00000", title=PAPERS[0][0], abstract=PAPERS[0][1])
    PaperTopicFactory(paper=same, topic=t, manual=True, excluded=True)
    from digest.catalog.learning import training_examples

    examples = {e.key: e for e in training_examples([t])}
    assert len(examples) == len(PAPERS)
    assert examples["2601.00000"].labels == {SPEECH: False}
    assert set_examples([t])[0].labels == {SPEECH: True}


# --- stored matches -------------------------------------------------------------------


@pytest.mark.django_db
def test_rematch_creates_updates_and_deletes_automatic_rows_and_is_idempotent():
    video = TopicFactory(terms=["video"])
    p_video = PaperFactory(title="Video models", abstract="")
    p_other = PaperFactory(title="Graph models", abstract="")
    assert rematch_papers() == 1
    row = PaperTopic.objects.get()
    assert (row.paper, row.topic, row.manual) == (p_video, video, False)
    assert rematch_papers() == 0

    video.terms = ["graph"]
    video.save()
    assert rematch_topic(video.pk) == 2  # one deleted, one created
    assert list(PaperTopic.objects.values_list("paper_id", flat=True)) == [p_other.pk]


@pytest.mark.django_db
def test_rematch_uses_the_stored_model(speech_set):
    t = TopicFactory(slug=SPEECH, **SPEECH_RULES)
    wrong = PaperFactory(title="Speech acts in online moderation", abstract="A legal study of written posts.")
    assert rematch_papers() == 1  # no model yet: the weak title word matches
    ensure_trained()
    assert rematch_papers() == 1  # learned: it is turned down
    assert not PaperTopic.objects.filter(paper=wrong, topic=t).exists()


@pytest.mark.django_db
def test_rematch_never_touches_manual_rows():
    t = TopicFactory(terms=["video"])
    forced_in = PaperFactory(title="Graphs", abstract="")
    forced_out = PaperFactory(title="Video", abstract="")
    PaperTopicFactory(paper=forced_in, topic=t, manual=True, score=1.0, reason="editor")
    PaperTopicFactory(paper=forced_out, topic=t, manual=True, excluded=True, score=0.0, reason="editor")
    assert rematch_papers() == 0
    assert PaperTopic.objects.filter(manual=True).count() == 2
    assert PaperTopic.objects.get(paper=forced_out).excluded is True


@pytest.mark.django_db
def test_rematch_limited_to_given_papers_and_topics():
    video, audio = TopicFactory(terms=["video"]), TopicFactory(terms=["audio"])
    a = PaperFactory(title="Video and audio", abstract="")
    PaperFactory(title="Video", abstract="")
    assert rematch_papers(papers=[a], topics=[video]) == 1
    assert PaperTopic.objects.get().topic == video
    assert rematch_papers(papers=type(a).objects.filter(pk=a.pk)) == 1
    assert set(PaperTopic.objects.values_list("topic", flat=True)) == {video.pk, audio.pk}


@pytest.mark.django_db
def test_rematch_task_runs_the_service_and_ignores_a_deleted_topic():
    t = TopicFactory(terms=["video"])
    PaperFactory(title="Video", abstract="")
    assert rematch_topic_task.delay(t.pk).get() == 1
    assert rematch_topic_task.delay(t.pk + 1000).get() == 0


# --- preview ------------------------------------------------------------------------


@pytest.mark.django_db
def test_preview_shows_matches_gains_and_losses_and_writes_nothing():
    t = TopicFactory(terms=["video"])
    kept = PaperFactory(title="Video diffusion", abstract="")
    lost = PaperFactory(title="Video codecs", abstract="")
    gained = PaperFactory(title="Diffusion sampling", abstract="")
    manual = PaperFactory(title="Diffusion for audio", abstract="")
    rematch_papers()
    PaperTopicFactory(paper=manual, topic=t, manual=True, excluded=True)
    before = list(PaperTopic.objects.order_by("pk").values())

    preview = preview_topic_rules(rules={"terms": ["diffusion"], "exclude_terms": ["codec"]}, topic_id=t.pk)

    assert {m.paper for m in preview.matches} == {kept, gained, manual}
    assert preview.gained == [gained]
    assert preview.lost == [lost]
    assert not preview.learned
    assert list(PaperTopic.objects.order_by("pk").values()) == before


@pytest.mark.django_db
def test_preview_refits_the_learned_topic_for_the_new_rules(speech_set):
    t = TopicFactory(slug=SPEECH, **SPEECH_RULES)
    ensure_trained()
    stored = MatchingModel.objects.count()
    PaperFactory(title="Speech acts in online moderation", abstract="A legal study of written posts.")
    preview = preview_topic_rules(rules={"terms": ["speech"]}, topic_id=t.pk)
    assert preview.learned
    assert MatchingModel.objects.count() == stored  # nothing stored by a preview


@pytest.mark.django_db
def test_preview_for_a_new_topic_gains_everything_it_matches():
    p = PaperFactory(title="Speech codecs", abstract="")
    preview = preview_topic_rules(rules={"terms": ["speech"]}, topic_id=None)
    assert [m.paper for m in preview.matches] == [p]
    assert preview.gained == [p]
    assert preview.lost == []


@pytest.mark.django_db
def test_preview_refuses_bad_rules():
    with pytest.raises(ValueError, match="list of strings"):
        preview_topic_rules(rules={"terms": 3}, topic_id=None)


@pytest.mark.django_db
def test_matching_stores_each_papers_vector_and_like_papers_lie_close(speech_set):
    from digest.catalog.textmodel import from_vector_bytes

    TopicFactory(slug=SPEECH, **SPEECH_RULES)
    ensure_trained()
    asr = PaperFactory(title="Speech recognition for accents", abstract="Spoken audio and phonemes.")
    tts = PaperFactory(title="Text-to-speech voices", abstract="A vocoder speaks spoken audio.")
    graphs = PaperFactory(title="Graph neural networks for molecules", abstract="Atoms and bonds in graphs.")
    rematch_papers()
    vectors = {
        p.title: from_vector_bytes(type(p).objects.get(pk=p.pk).vector or b"") for p in (asr, tts, graphs)
    }
    assert all(abs(float(v @ v) - 1.0) < 0.01 for v in vectors.values())
    assert float(vectors[asr.title] @ vectors[tts.title]) > float(vectors[asr.title] @ vectors[graphs.title])
    stored = type(asr).objects.get(pk=asr.pk).vector
    rematch_papers()  # nothing changed: the vector is not written again
    assert bytes(type(asr).objects.get(pk=asr.pk).vector or b"") == bytes(stored or b"")


def test_the_tasks_that_train_outlast_a_training_and_are_never_handed_out_twice(settings):
    from digest.tasks import learn_from_decisions

    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    for task in (rematch_topic_task, learn_from_decisions):
        soft, hard = task.soft_time_limit, task.time_limit
        assert soft is not None
        assert hard is not None
        assert soft >= 600 > settings.CELERY_TASK_SOFT_TIME_LIMIT  # training takes ~150 s here
        assert soft < hard < visibility


def test_a_rules_preview_refits_on_tune_papers_decisions_and_a_fixed_sample_of_train(monkeypatch):
    from digest.catalog import matching
    from digest.catalog.labelled import LabelledPaper
    from digest.catalog.training import Example

    def example(key: str, split: str | None) -> Example:
        paper = LabelledPaper(key, "t", "a", (), frozenset(), split) if split else PaperFactory.build()
        return Example(key, paper, {SPEECH: False})

    monkeypatch.setattr(matching, "PREVIEW_TRAIN_EXAMPLES", 3)
    examples = [example(f"tr{n}", "train") for n in range(10)]
    examples += [example("tu1", "tune"), example("tu2", "tune"), example("decided", None)]
    chosen = matching.preview_examples(examples)
    assert {"tu1", "tu2", "decided"} <= {e.key for e in chosen}
    assert sum(1 for e in chosen if e.key.startswith("tr")) == 3
    again = matching.preview_examples(list(reversed(examples)))
    assert sorted(e.key for e in again) == sorted(e.key for e in chosen)  # the same sample, any order
