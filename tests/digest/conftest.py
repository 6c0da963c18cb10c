"""Fixtures shared across the digest tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def hf(settings, httpserver):
    """The real Hugging Face client pointed at a local server; no waiting between retries."""
    settings.HF_API_BASE = httpserver.url_for("/").rstrip("/")
    settings.HF_API_BACKOFF = 0
    settings.HF_API_RETRIES = 2
    settings.HF_API_TIMEOUT = 2.0
    settings.HF_API_PAGE_SIZE = 100
    return httpserver
