from __future__ import annotations

from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = "Subscriptions"

    def ready(self) -> None:
        from anymail.signals import tracking
        from django.db.models.signals import post_delete, post_save

        from subscriptions.models import Topic
        from subscriptions.signup_page import topics_changed
        from subscriptions.webhooks import handle_tracking

        tracking.connect(handle_tracking, dispatch_uid="subscriptions.webhooks.handle_tracking")
        post_save.connect(topics_changed, sender=Topic, dispatch_uid="signup-page-topic-saved")
        post_delete.connect(topics_changed, sender=Topic, dispatch_uid="signup-page-topic-deleted")
