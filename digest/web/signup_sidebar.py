"""Today's trending papers for the sign-up page (plugged in by SIGNUP_SIDEBAR_PROVIDER)."""

from __future__ import annotations

from typing import Any

from digest.catalog.ranking import latest_listing_day, ranked_papers
from digest.web.page_cache import cached_value


def signup_sidebar(limit: int = 5) -> list[dict[str, Any]]:
    """Up to `limit` papers of the latest listing day, best first: title, url, upvotes, topics
    (kept for the catalog's generation: the sign-up page is the busiest page)."""
    return cached_value(f"signup-sidebar:{limit}", lambda: _trending(limit))


def _trending(limit: int) -> list[dict[str, Any]]:
    day = latest_listing_day()
    if day is None:
        return []
    return [
        {
            "title": ranked.paper.title,
            "url": ranked.paper.abstract_url or ranked.paper.project_page or ranked.paper.github_repo,
            "upvotes": ranked.paper.upvotes,
            "topics": list(ranked.topic_names),
        }
        for ranked in ranked_papers(days=[day], limit=limit)
    ]
