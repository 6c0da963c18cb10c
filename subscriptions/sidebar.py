"""The list beside the sign-up form, from a provider the digest app plugs in by setting
(subscriptions never imports digest)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def signup_sidebar_items(limit: int = 5) -> list[dict[str, Any]]:
    """Today's trending papers from SIGNUP_SIDEBAR_PROVIDER; an empty list if it fails."""
    try:
        provider = import_string(settings.SIGNUP_SIDEBAR_PROVIDER)
        items = list(provider(limit=limit))
    except Exception:
        logger.exception("Sign-up sidebar provider failed; showing the form alone")
        return []
    return [item for item in items if isinstance(item, dict) and item.get("title")][:limit]
