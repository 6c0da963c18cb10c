"""Fixtures for the subscriptions tests."""

from __future__ import annotations

import pytest

from tests.factories import TopicFactory


@pytest.fixture
def topics(db):
    """Two active topics and one inactive one."""
    return [
        TopicFactory(name="Diffusion models", slug="diffusion"),
        TopicFactory(name="Language models", slug="llm"),
        TopicFactory(name="Retired topic", slug="retired", is_active=False),
    ]


@pytest.fixture
def signup_data(topics):
    """A valid sign-up POST body."""
    return {
        "email": "  Reader@Example.COM ",
        "topics": [str(topics[0].pk), str(topics[1].pk)],
        "frequency": "weekly",
        "weekday": "2",
        "delivery_hour": "8",
        "timezone": "Europe/Paris",
        "papers_per_email": "5",
        "website": "",
    }
