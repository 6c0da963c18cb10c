"""Editions (read-only), deliveries (filter, see errors, retry) and the sending kill switch."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from digest.catalog import curation
from digest.models import Delivery, Edition, PaperSnapshot, SendingSettings


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Edition)
class EditionAdmin(ReadOnlyAdmin):
    list_display = ["digest_date", "subject", "frequency", "topic_key", "paper_count", "web_view"]
    list_filter = ["digest_date", "frequency"]
    search_fields = ["subject", "slug"]
    date_hierarchy = "digest_date"
    exclude = ["papers", "html"]
    readonly_fields = ["web_view", "paper_count"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Edition]:
        # A row of personal lists holds hundreds of lists: the list page reads none of them.
        return super().get_queryset(request).defer("html", "text", "reasons")

    @admin.display(description="papers")
    def paper_count(self, obj: Edition) -> int:
        return len(obj.paper_ids or [])

    @admin.display(description="web view")
    def web_view(self, obj: Edition) -> str:
        if obj.personal:  # each list has its own address (digest.daily.lists), not the row
            return "-"
        try:
            url = reverse("digest:edition", args=[obj.slug])
        except NoReverseMatch:
            return "-"
        return format_html('<a href="{}" target="_blank" rel="noopener">open</a>', url)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "subscriber",
        "digest_date",
        "status",
        "attempts",
        "edition_link",
        "short_error",
        "sent_at",
    ]
    list_filter = ["digest_date", "status", ("edition", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["subscriber", "edition"]
    search_fields = ["subscriber__email", "esp_message_id"]
    date_hierarchy = "digest_date"
    actions = ["retry"]
    readonly_fields = [
        "subscriber",
        "digest_date",
        "edition",
        "status",
        "esp_message_id",
        "attempts",
        "error",
        "note",
        "created_at",
        "updated_at",
        "claimed_at",
        "sent_at",
        "opened_at",
        "clicked_at",
    ]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Actions need change permission; the form itself stays read-only (readonly_fields).
        return request.user.has_perm("digest.change_delivery")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        # The list shows an edition's subject, not its HTML or a row of personal lists.
        return (
            super()
            .get_queryset(request)
            .defer("edition__html", "edition__text", "edition__reasons", "edition__paper_ids")
        )

    @admin.display(description="edition")
    def edition_link(self, obj: Delivery) -> str:
        if obj.edition is None:
            return "-"
        url = reverse("admin:digest_edition_change", args=[obj.edition_id])
        return format_html('<a href="{}">{}</a>', url, obj.edition.subject[:50])

    @admin.display(description="error")
    def short_error(self, obj: Delivery) -> str:
        return (obj.error[:100] + "…") if len(obj.error) > 100 else (obj.error or "")

    @admin.action(description="Retry failed deliveries")
    def retry(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        try:
            requeued = curation.retry_deliveries(delivery_ids=ids)
        except curation.CurationError as exc:
            self.message_user(request, f"Nothing retried: {exc}.", messages.ERROR)
            return
        skipped = len(ids) - len(requeued)
        level = messages.SUCCESS if requeued else messages.WARNING
        text = f"Re-queued {len(requeued)} failed deliver{'y' if len(requeued) == 1 else 'ies'}."
        if skipped:
            text += f" {skipped} not failed, left alone."
        self.message_user(request, text, level)


@admin.register(PaperSnapshot)
class PaperSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["paper", "taken_at", "upvotes", "comments", "github_stars"]
    list_select_related = ["paper"]
    search_fields = ["paper__paper_id", "paper__title"]


@admin.register(SendingSettings)
class SendingSettingsAdmin(admin.ModelAdmin[SendingSettings]):
    """The singleton kill switch: the list goes straight to its one row."""

    fields = ["sending_paused", "paused_reason", "updated_at"]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        SendingSettings.load()
        return HttpResponseRedirect(reverse("admin:digest_sendingsettings_change", args=[1]))

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        return SendingSettings.load() if str(object_id) == "1" else None

    def response_change(self, request: HttpRequest, obj: SendingSettings) -> HttpResponse:
        state = "PAUSED: no digests go out until you switch it back" if obj.sending_paused else "on"
        self.message_user(
            request, f"Sending is {state}.", messages.WARNING if obj.sending_paused else messages.SUCCESS
        )
        return HttpResponseRedirect(reverse("admin:index"))
