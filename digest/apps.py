from __future__ import annotations

from django.apps import AppConfig


class DigestConfig(AppConfig):
    name = "digest"
    verbose_name = "Digest"

    def ready(self) -> None:
        from config import checks as config_checks  # noqa: F401 - registers production's checks
        from digest import checks  # noqa: F401 - registers the settings checks
        from digest.daily import receivers  # noqa: F401 - connects the ESP event receiver
        from digest.readers import (
            export,  # noqa: F401 - adds feedback and deliveries to data exports
            history,  # noqa: F401 - lists past digests in the preference center
        )
