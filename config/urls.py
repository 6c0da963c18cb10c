"""URL routes: the sign-up side (subscriptions), the public pages (digest), admin, webhooks."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("health/", health, name="health"),
    path("admin/", admin.site.urls),
    path("anymail/", include("subscriptions.esp_urls")),  # anymail webhooks, malformed bodies → 400
    path("", include("digest.urls")),
    path("", include("subscriptions.urls")),
]
