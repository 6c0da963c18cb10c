"""A small labelled set for tests that train the matching model (seconds, not minutes)."""

from __future__ import annotations

import json
from pathlib import Path

SPEECH = "speech"
# (title, abstract, belongs to "speech")
PAPERS = [
    (
        "Streaming speech recognition with transducers",
        "We transcribe spoken audio with low word error rate.",
        True,
    ),
    (
        "Voice conversion without parallel data",
        "Our model converts a speaker's voice and keeps the phonemes.",
        True,
    ),
    (
        "Prosody for expressive synthesis",
        "A vocoder renders phoneme sequences as natural spoken audio.",
        True,
    ),
    (
        "Spoken dialogue agents that listen",
        "Turn taking and speaker diarization for spoken conversations.",
        True,
    ),
    ("Low-resource speech translation", "Spoken utterances are translated with a phoneme recognizer.", True),
    ("Neural audio codecs at 1 kbps", "Audio tokens from a codec feed a spoken language model.", True),
    ("Keyword spotting on microcontrollers", "Tiny acoustic models detect spoken wake words in audio.", True),
    ("Speaker verification under noise", "Voice embeddings verify a speaker from short spoken audio.", True),
    ("Singing voice synthesis with diffusion", "A vocoder and a phoneme aligner make sung audio.", True),
    ("Whisper fine-tuning for accents", "Speech recognition for accented spoken English and phonemes.", True),
    ("Graph neural networks for molecules", "We predict molecular properties from graphs of atoms.", False),
    ("Object detection in aerial images", "A detector finds vehicles in satellite imagery.", False),
    (
        "Hate speech detection on social media",
        "A text classifier flags hateful posts written by users.",
        False,
    ),
    ("Reinforcement learning for robot arms", "Policies grasp objects in simulation and reality.", False),
    ("Tabular learning with gradient boosting", "Trees beat networks on spreadsheets of numbers.", False),
    (
        "Parts of speech tagging in low-resource languages",
        "A tagger labels written words with grammar.",
        False,
    ),
    ("Image segmentation of cells", "A U-Net outlines cells in microscope images.", False),
    ("Federated learning with privacy", "Clients train a shared model without sharing data.", False),
    ("Time series forecasting of demand", "Transformers forecast electricity load hourly.", False),
    ("Recommender systems for news", "Clicks train a ranking model for articles.", False),
    ("Free speech and platform moderation", "A legal study of written content rules online.", False),
    ("Protein folding with language models", "Sequences of amino acids predict structures.", False),
    ("Audio-visual speech enhancement", "Lip movements help remove noise from spoken audio.", True),
    ("Text-to-speech for many voices", "A zero-shot vocoder speaks in any speaker's voice.", True),
    ("Emotion in spoken language", "Prosody and voice pitch tell emotions in speech audio.", True),
    ("Code generation with large models", "Programs are written from docstrings.", False),
    ("Weather prediction with graphs", "Meshes of the globe forecast temperature.", False),
    ("Causal inference for medicine", "Treatment effects from observational records.", False),
    ("Sparse mixture of experts", "Routing tokens to experts saves compute.", False),
    ("3D reconstruction from photos", "Gaussian splats render novel views.", False),
    ("Math word problems and tutors", "Students learn algebra from hints.", False),
    ("Legal documents summarised", "Contracts are condensed into clauses.", False),
    ("Anomaly detection in factories", "Sensors reveal faulty machines.", False),
]


def write_set(path: Path, rows: list[tuple[str, str, bool]] = PAPERS, *, heldout: bool = False) -> Path:
    """The rows as a labelled JSONL file; with `heldout`, every sixth row is held out."""
    lines = []
    for n, (title, abstract, belongs) in enumerate(rows):
        split = "heldout" if heldout and n % 6 == 5 else "tune"
        lines.append(
            json.dumps(
                {
                    "id": f"2601.{n:05d}",
                    "title": title,
                    "abstract": abstract,
                    "topics": [SPEECH] if belongs else [],
                    "split": split,
                }
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
