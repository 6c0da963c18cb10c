from __future__ import annotations

from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = "Subscriptions"

    def ready(self) -> None:
        from anymail.signals import tracking

        from subscriptions.webhooks import handle_tracking

        tracking.connect(handle_tracking, dispatch_uid="subscriptions.webhooks.handle_tracking")
