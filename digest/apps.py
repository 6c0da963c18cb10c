from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class DigestConfig(AppConfig):
    name = "digest"
    verbose_name = "Digest"

    def ready(self) -> None:
        from config import checks as config_checks  # noqa: F401 - registers production's checks
        from digest import checks  # noqa: F401 - registers the settings checks
        from digest.catalog.freshness import catalog_changed
        from digest.daily import (
            plain_addresses,
            plain_merge_data,
            receivers,  # noqa: F401 - connects the ESP event receiver
        )
        from digest.models import Paper, PaperTopic
        from digest.readers import (
            export,  # noqa: F401 - adds feedback and deliveries to data exports
            forget,  # noqa: F401 - takes a deleted reader's personal lists out of their rows
            history,  # noqa: F401 - lists past digests in the preference center
        )
        from subscriptions.models import Topic

        plain_addresses.install()
        plain_merge_data.install()
        for model in (Paper, PaperTopic, Topic):
            post_save.connect(catalog_changed, sender=model, dispatch_uid=f"catalog-saved-{model.__name__}")
            post_delete.connect(catalog_changed, sender=model, dispatch_uid=f"catalog-gone-{model.__name__}")
