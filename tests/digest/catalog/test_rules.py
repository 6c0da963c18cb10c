from __future__ import annotations

from types import SimpleNamespace

import pytest

from digest.catalog.rules import (
    RULE_MATCH,
    PaperText,
    compile_rules,
    compile_term,
    find_evidence,
    validate_rules,
)


def topic(**rules) -> SimpleNamespace:
    for key in ("terms", "weak_terms", "exclude_terms", "categories", "hf_keywords"):
        rules.setdefault(key, [])
    return SimpleNamespace(pk=1, slug="t", **rules)


def paper(title: str = "", abstract: str = "", **extra) -> PaperText:
    extra.setdefault("ai_keywords", [])
    extra.setdefault("categories", [])
    return PaperText(SimpleNamespace(title=title, abstract=abstract, ai_summary="", **extra))


def evidence(t, p):
    return find_evidence(p, compile_rules(t))


def test_terms_match_on_word_boundaries_only():
    fusion = topic(terms=["fusion"])
    assert evidence(fusion, paper("Feature fusion for detection")).matched
    assert not evidence(fusion, paper("Fast diffusion sampling")).hits
    assert not evidence(fusion, paper("Confusion matrices")).hits


def test_case_hyphens_spaces_plurals_and_star_suffix():
    t2v = topic(terms=["text-to-video"])
    assert evidence(t2v, paper("Text to Video generation")).matched
    assert evidence(t2v, paper("TEXT-TO-VIDEO models")).matched
    kv = topic(terms=["KV cache"])
    assert evidence(kv, paper("Compressing KV-caches")).matched
    assert evidence(kv, paper("KVCache eviction")).matched
    wm = topic(terms=["watermark*"])
    assert evidence(wm, paper("Watermarked text")).matched
    assert not evidence(wm, paper("Water marks")).hits


def test_acronyms_match_only_as_written():
    tts = topic(terms=["TTS"])
    assert evidence(tts, paper("Zero-shot TTS with codecs")).matched
    assert not evidence(tts, paper("see https://example.org/tts/demo")).hits
    rag = topic(terms=["RAG"])
    assert not evidence(rag, paper("A rag doll dataset")).hits


def test_a_specific_term_counts_alone_but_a_weak_one_needs_the_title_or_a_second_hit():
    t = topic(terms=["variational inference"], weak_terms=["bayesian", "posterior*"])
    assert evidence(t, paper("A model", "We fit it by variational inference.")).matched
    assert not evidence(t, paper("A model", "A Bayesian view of it.")).matched
    assert evidence(t, paper("Bayesian models", "of things")).matched
    assert evidence(t, paper("A model", "A Bayesian view of the posterior.")).matched


def test_plus_needs_both_parts_in_one_sentence():
    t = topic(terms=["diffusion + accelerat*"])
    assert evidence(t, paper("Accelerating diffusion models")).matched
    assert evidence(t, paper("A model", "We accelerate diffusion sampling. Nothing else.")).matched
    assert not evidence(t, paper("A model", "Diffusion is slow. We accelerate graphs.")).hits
    two = evidence(t, paper("Faster", "Diffusion acceleration. Accelerated diffusion."))
    assert two.labels == ['abstract "diffusion + accelerat*" x2']


def test_a_guard_stops_a_term_in_the_wrong_sense():
    speech = topic(terms=["TTS ! test-time scaling"])
    assert evidence(speech, paper("Expressive TTS", "Speech synthesis.")).matched
    found = evidence(speech, paper("Scaling TTS for math", "Test-time scaling (TTS) helps reasoning."))
    assert not found.hits


def test_exclude_terms_veto_and_say_why():
    video = topic(terms=["video generation"], exclude_terms=["video understanding"])
    found = evidence(video, paper("Video generation", "It also helps video understanding."))
    assert not found.matched
    assert found.vetoed == 'excluded by "video understanding"'


def test_keywords_and_categories_are_evidence_and_named():
    t = topic(categories=["cs.SD"], hf_keywords=["speech synthesis"], weak_terms=["voice"])
    found = evidence(t, paper("x", categories=["cs.SD"], ai_keywords=["Speech Synthesis"]))
    assert found.matched
    assert found.labels == ['keyword "speech synthesis"', "category cs.sd"]
    category_only = evidence(t, paper("x", categories=["cs.SD"]))
    assert category_only.hits
    assert category_only.weight < RULE_MATCH


def test_features_count_strong_and_weak_hits_by_place():
    t = topic(terms=["speech recognition", "ASR"], weak_terms=["audio"])
    found = evidence(t, paper("Speech recognition for audio", "ASR and more ASR."))
    strong_title, strong_abstract, weak_title, weak_abstract, keyword, category = found.features()
    assert (strong_title, weak_title, weak_abstract, keyword, category) == (1, 1, 0, 0, 0)
    assert strong_abstract > 0


def test_the_same_term_written_twice_counts_once():
    once = evidence(topic(terms=["long context"]), paper("Long-context inference"))
    twice = evidence(
        topic(terms=["long context", "long-context", "Long Context"]), paper("Long-context inference")
    )
    assert once == twice


def test_validate_rules_cleans_and_refuses_bad_input():
    clean = validate_rules({"terms": [" video ", "video", ""], "categories": ["cs.CV"]})
    assert clean == {
        "terms": ["video"],
        "weak_terms": [],
        "exclude_terms": [],
        "categories": ["cs.CV"],
        "hf_keywords": [],
    }
    with pytest.raises(ValueError, match="list of strings"):
        validate_rules({"terms": "video"})
    with pytest.raises(ValueError, match="arXiv category"):
        validate_rules({"categories": ["computer vision"]})
    with pytest.raises(ValueError, match="unknown rule keys"):
        validate_rules({"term": ["video"]})
    with pytest.raises(ValueError, match="no letters"):
        validate_rules({"weak_terms": ["--"]})
    with pytest.raises(ValueError, match="no letters"):
        validate_rules({"terms": ["speech ! --"]})


def test_compile_term_labels_its_parts():
    term = compile_term("Diffusion  +  accelerat* ! video")
    assert term is not None
    assert term.label == "Diffusion + accelerat* ! video"
    assert compile_term(" + ") is None
