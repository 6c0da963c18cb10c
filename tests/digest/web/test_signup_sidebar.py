from __future__ import annotations

import datetime as dt

import pytest

from digest.web.signup_sidebar import signup_sidebar
from subscriptions.sidebar import signup_sidebar_items
from tests.factories import PaperFactory, PaperTopicFactory, TopicFactory

pytestmark = pytest.mark.django_db


def test_sidebar_lists_the_latest_days_top_papers_with_their_topics():
    today = dt.date(2026, 3, 2)
    topic = TopicFactory(name="Diffusion models", slug="diffusion")
    top = PaperFactory(paper_id="2603.00001", title="Top paper", upvotes=90, listed_on=today)
    PaperTopicFactory(paper=top, topic=topic)
    PaperFactory(title="Second paper", upvotes=10, listed_on=today)
    PaperFactory(title="Yesterday's paper", upvotes=500, listed_on=today - dt.timedelta(days=1))
    PaperFactory(title="Hidden paper", upvotes=900, listed_on=today, hidden=True)

    items = signup_sidebar(limit=5)

    assert [item["title"] for item in items] == ["Top paper", "Second paper"]
    assert items[0] == {
        "title": "Top paper",
        "url": "https://arxiv.org/abs/2603.00001",
        "upvotes": 90,
        "topics": ["Diffusion models"],
    }
    assert len(signup_sidebar(limit=1)) == 1


def test_sidebar_is_empty_without_papers():
    assert signup_sidebar() == []


def test_the_default_setting_points_the_signup_page_at_this_provider(settings):
    PaperFactory(title="Only paper")

    assert settings.SIGNUP_SIDEBAR_PROVIDER == "digest.web.signup_sidebar.signup_sidebar"
    assert [item["title"] for item in signup_sidebar_items()] == ["Only paper"]
