"""/healthz/ (readiness, JSON) and /metrics (Prometheus). /health/ (config.urls) stays the
plain liveness answer."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST

from digest.ops.health import cached_check
from digest.ops.metrics import exposition
from subscriptions.clientip import parse_networks

FORWARDING_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")
FORBIDDEN = "Metrics need a token (Authorization: Bearer …) or a peer in METRICS_ALLOWED_NETWORKS.\n"


@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when healthy, 503 otherwise; what was checked in the JSON body."""
    answer = cached_check()
    response = JsonResponse(answer, status=200 if answer["status"] == "ok" else 503)
    patch_cache_control(response, no_store=True)
    return response


def _allowed(request: HttpRequest) -> bool:
    """A matching `Authorization: Bearer METRICS_TOKEN`, or a direct connection from
    METRICS_ALLOWED_NETWORKS. A request that came through a proxy (it carries a forwarding
    header) needs the token: the proxy's own address says nothing of who is behind it."""
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    if any(name in request.headers for name in FORWARDING_HEADERS):
        return False
    try:
        peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(peer in network for network in parse_networks(settings.METRICS_ALLOWED_NETWORKS))


@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        response = HttpResponse(
            "metrics need a token (Authorization: Bearer …)\n", status=403, content_type="text/plain"
        )
    else:
        response = HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
    patch_cache_control(response, no_store=True)
    return response
