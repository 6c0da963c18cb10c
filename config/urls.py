"""URL routes: the sign-up side (subscriptions), the public pages (digest), admin, webhooks."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from digest.ops import views as ops_views


def health(request: HttpRequest) -> HttpResponse:
    """Liveness: the web process answers (no database, no broker)."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("health/", health, name="health"),
    path("healthz/", ops_views.healthz, name="healthz"),
    path("metrics", ops_views.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("anymail/", include("subscriptions.esp_urls")),  # anymail webhooks, malformed bodies → 400
    path("", include("subscriptions.urls")),  # first: "/" (the busiest) resolves fastest
    path("", include("digest.urls")),
]
