"""The admin site: Django's, plus the editor's desk pages (digest preview, delivery
health, schedules) and a banner on every admin page while sending is paused."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import URLPattern, URLResolver, path


class PaperboyAdminSite(admin.AdminSite):
    site_header = "Paperboy editor's desk"
    site_title = "Paperboy admin"
    index_title = "Today's desk"

    def get_urls(self) -> list[URLResolver | URLPattern]:
        from digest.desk import views as admin_views

        desk = [
            path("desk/preview/", self.admin_view(admin_views.preview), name="digest_preview"),
            path("desk/preview/send/", self.admin_view(admin_views.preview_send), name="digest_preview_send"),
            path("desk/health/", self.admin_view(admin_views.dashboard), name="digest_dashboard"),
            path("desk/schedules/", self.admin_view(admin_views.schedules), name="digest_schedules"),
        ]
        return desk + super().get_urls()

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        from digest.models import SendingSettings

        context = super().each_context(request)
        if getattr(request.user, "is_staff", False):
            context["sending_settings"] = SendingSettings.load()
        return context
