"""System checks (`manage.py check`, run at every start) for the catalog's settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Warning, register


@register()
def hf_page_size(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """HF_API_PAGE_SIZE above the API's limit is capped, and said so."""
    wanted, limit = settings.HF_API_PAGE_SIZE_WANTED, settings.HF_API_PAGE_SIZE_LIMIT
    if wanted <= limit and wanted >= 1:
        return []
    return [
        Warning(
            f"HF_API_PAGE_SIZE={wanted} is outside 1 to {limit} (the daily-papers API answers 400 above "
            f"{limit}): using {settings.HF_API_PAGE_SIZE}.",
            hint=f"Set HF_API_PAGE_SIZE to {limit} or less.",
            id="paperboy.W001",
        )
    ]
