"""Readers in admin: filter, search, resend confirmation, unsubscribe, export CSV.

Status changes and topic edits go through subscriptions.services; the consent record is
read-only. Topics are registered in digest/desk/topics.py (matching lives in `digest`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone

from subscriptions import services
from subscriptions.models import EmailEvent, Subscriber, Suppression, Topic

CSV_COLUMNS = [
    "email",
    "status",
    "topics",
    "frequency",
    "weekday",
    "delivery_hour",
    "timezone",
    "papers_per_email",
    "created_at",
    "confirmed_at",
    "unsubscribed_at",
    "unsubscribe_reason",
    "paused_until",
    "consent_at",
    "consent_form_version",
]
CONSENT_FIELDS = (
    "consent_at",
    "consent_ip",
    "consent_user_agent",
    "consent_form_version",
    "consent_topics",
)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = value.isoformat() if hasattr(value, "isoformat") else ("" if value is None else str(value))
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def subscriber_csv_rows(queryset: QuerySet[Subscriber]) -> Iterator[list[str]]:
    """The export: a header, then one row per reader (status, topics, dates); never tokens."""
    yield CSV_COLUMNS
    topics = Prefetch("topics", queryset=Topic.objects.only("slug").order_by("slug"))
    readers = queryset.prefetch_related(None).order_by("pk").prefetch_related(topics)
    for reader in readers.iterator(chunk_size=1000):
        row = {name: getattr(reader, name) for name in CSV_COLUMNS if name != "topics"}
        row["topics"] = ";".join(t.slug for t in reader.topics.all())
        yield [_cell(row[name]) for name in CSV_COLUMNS]


class SubscriberAdminForm(forms.ModelForm[Subscriber]):
    topics = forms.ModelMultipleChoiceField(
        queryset=Topic.objects.all(), widget=FilteredSelectMultiple("topics", False)
    )

    class Meta:
        model = Subscriber
        fields = [
            "topics",
            "frequency",
            "weekday",
            "delivery_hour",
            "timezone",
            "papers_per_email",
            "paused_until",
        ]

    def clean_timezone(self) -> str:
        from subscriptions.localtime import is_valid_timezone

        value: str = self.cleaned_data["timezone"]
        if not is_valid_timezone(value):
            raise forms.ValidationError(f"Unknown time zone {value!r}.")
        return value


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin[Subscriber]):
    form = SubscriberAdminForm
    list_display = ["email", "status", "topic_names", "frequency", "delivery_hour", "timezone", "created_at"]
    list_filter = ["status", "topics", "frequency", "timezone"]
    search_fields = ["email"]
    actions = ["resend_confirmation", "unsubscribe", "export_csv"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "email",
        "status",
        "created_at",
        "confirmed_at",
        "unsubscribed_at",
        "unsubscribe_reason",
        "soft_bounce_count",
        *CONSENT_FIELDS,
    ]
    fieldsets = [
        (None, {"fields": ["email", "status", "topics"]}),
        (
            "Delivery",
            {
                "fields": [
                    "frequency",
                    "weekday",
                    "delivery_hour",
                    "timezone",
                    "papers_per_email",
                    "paused_until",
                ]
            },
        ),
        (
            "History",
            {
                "fields": [
                    "created_at",
                    "confirmed_at",
                    "unsubscribed_at",
                    "unsubscribe_reason",
                    "soft_bounce_count",
                ]
            },
        ),
        ("Consent record (read-only)", {"fields": CONSENT_FIELDS}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Subscriber]:
        return super().get_queryset(request).prefetch_related("topics")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # readers sign up themselves: double opt-in records their consent

    @admin.display(description="topics")
    def topic_names(self, obj: Subscriber) -> str:
        return ", ".join(t.name for t in obj.topics.all())

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm[Subscriber], formsets: Any, change: bool
    ) -> None:
        services.set_topics(subscriber=form.instance, topics=form.cleaned_data["topics"])
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    @admin.action(description="Resend confirmation email")
    def resend_confirmation(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        sent = sum(services.resend_confirmation(subscriber=reader) for reader in queryset)
        skipped = queryset.count() - sent
        note = f" {skipped} not pending (or suppressed), nothing sent to them." if skipped else ""
        self.message_user(request, f"Sent {sent} confirmation email(s).{note}", messages.SUCCESS)

    @admin.action(description="Unsubscribe")
    def unsubscribe(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        changed = 0
        for reader in queryset:
            if services.unsubscribe(subscriber=reader, reason="admin"):
                changed += 1
                self.log_change(request, reader, "Unsubscribed by an editor.")
        self.message_user(request, f"Unsubscribed {changed} reader(s).", messages.SUCCESS)

    @admin.action(description="Export CSV (no tokens)")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> StreamingHttpResponse:
        writer = csv.writer(_Echo())
        rows = (writer.writerow(row) for row in subscriber_csv_rows(queryset))
        response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="paperboy-readers-{stamp}.csv"'
        return response


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin[Suppression]):
    list_display = ["email_hash", "reason", "created_at"]
    list_filter = ["reason"]
    search_fields = ["email_hash"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(EmailEvent)
class EmailEventAdmin(admin.ModelAdmin[EmailEvent]):
    list_display = [
        "received_at",
        "event_type",
        "bounce",
        "recipient",
        "esp_name",
        "delivery_id",
        "reject_reason",
    ]
    list_filter = ["event_type", "bounce", "esp_name"]
    search_fields = ["recipient", "message_id"]
    date_hierarchy = "received_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
