"""Editor's desk pages in admin: digest preview and test send, delivery health, schedules.

Thin: each view reads a form or the query string, calls a selector or service, renders.
The admin site wraps them with `admin_view` (staff only).
"""

from __future__ import annotations

import logging

from anymail.message import AnymailMessage
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from digest.desk.charts import Series, line_chart
from digest.desk.dashboard import Health, delivery_health
from digest.desk.preview import DigestPreview, NothingToSend, PreviewForm, preview_digest, send_test_digest
from digest.desk.schedules import beat_schedule

DASHBOARD_DAYS = 30
logger = logging.getLogger(__name__)


def _context(request: HttpRequest, title: str, **extra: object) -> dict[str, object]:
    from django.contrib import admin

    return {**admin.site.each_context(request), "title": title, **extra}


def dashboard(request: HttpRequest) -> HttpResponse:
    health = delivery_health(days=DASHBOARD_DAYS)
    days = [row.day for row in health.days]
    charts = [line_chart(title=title, days=days, series=series) for title, series in _chart_series(health)]
    last = health.days[-1]
    totals = [
        ("sent in 30 days", health.total("sent")),
        ("failed", health.total("failed")),
        ("bounced", health.total("bounced")),
        ("complaints", health.total("complained")),
        ("opens", health.total("opened")),
        ("clicks", health.total("clicked")),
        ("active readers now", last.active),
        ("sign-ups", health.total("signups")),
    ]
    context = _context(
        request, "Delivery health", health=health, charts=charts, totals=totals, rows=health.days[::-1]
    )
    return TemplateResponse(request, "admin/digest/dashboard.html", context)


def _percent(part: list[int], whole: list[int]) -> list[int]:
    return [round(100 * p / w) if w else 0 for p, w in zip(part, whole, strict=True)]


def _chart_series(health: Health) -> list[tuple[str, list[Series]]]:
    sent = health.series("sent")
    return [
        (
            "Deliveries",
            [Series("Queued", "#9ca3af", health.series("queued")), Series("Sent", "#16a34a", sent)],
        ),
        (
            "Problems",
            [
                Series("Failed", "#dc2626", health.series("failed"), bars=True),
                Series("Bounced", "#f59e0b", health.series("bounced"), bars=True),
                Series("Complained", "#7f1d1d", health.series("complained"), bars=True),
            ],
        ),
        (
            "Opens and clicks",
            [
                Series("Opened", "#2563eb", health.series("opened")),
                Series("Clicked", "#7c3aed", health.series("clicked")),
            ],
        ),
        (
            "Open and click rate (% of sent)",
            [
                Series("Open rate", "#2563eb", _percent(health.series("opened"), sent)),
                Series("Click rate", "#7c3aed", _percent(health.series("clicked"), sent)),
            ],
        ),
        ("Active readers", [Series("Active readers", "#4f46e5", health.series("active"))]),
        ("Sign-ups", [Series("Sign-ups", "#0d9488", health.series("signups"), bars=True)]),
    ]


def schedules(request: HttpRequest) -> HttpResponse:
    context = _context(request, "Periodic schedules", rows=beat_schedule())
    return TemplateResponse(request, "admin/digest/schedules.html", context)


def _editor_email(request: HttpRequest) -> str:
    """The signed-in editor's address (desk pages are for staff only: never anonymous)."""
    return getattr(request.user, "email", "") or ""


def _preview_form(data: object) -> PreviewForm:
    initial = {"digest_date": timezone.now().date()}
    return PreviewForm(data or None, initial=initial)  # type: ignore[arg-type]


def preview(request: HttpRequest) -> HttpResponse:
    """GET with a date and a reader or topics: the digest exactly as it would be sent."""
    form = _preview_form(request.GET if "digest_date" in request.GET else None)
    result, problem = None, ""
    if form.is_bound and form.is_valid():
        try:
            result, _ = _build(form)
        except NothingToSend as exc:
            problem = f"No digest: {exc}."
    context = _context(
        request, "Digest preview", form=form, preview=result, problem=problem, query=request.GET.urlencode()
    )
    return TemplateResponse(request, "admin/digest/preview.html", context)


@require_POST
def preview_send(request: HttpRequest) -> HttpResponse:
    """POST: mail the previewed digest to the staff user, marked as a test; no Delivery."""
    form = _preview_form(request.POST)
    back = reverse("admin:digest_preview")
    if not form.is_valid():
        messages.error(request, "Choose a date and either a reader or a set of topics.")
        return HttpResponseRedirect(back)
    try:
        result, _ = _build(form)
        send_test_digest(preview=result, to_email=_editor_email(request))
    except (ValueError, NothingToSend) as exc:
        messages.error(request, f"Not sent: {exc}.")
    except Exception as exc:  # the ESP said no: show it, never a 500
        logger.warning("test digest to %s failed: %s", _editor_email(request), exc)
        messages.error(request, f"Not sent: the email service refused it ({exc.__class__.__name__}).")
    else:
        messages.success(request, f"Test digest sent to {_editor_email(request)}.")
    query = request.POST.get("query", "")
    return HttpResponseRedirect(f"{back}?{query}" if query else back)


def _build(form: PreviewForm) -> tuple[DigestPreview, AnymailMessage]:
    data = form.cleaned_data
    return preview_digest(
        digest_date=data["digest_date"], reader=data.get("reader"), topics=list(data.get("topics") or [])
    )
