"""Filters and forms of the papers admin: the listing-day and topic filters, the pin-range,
note and topic-fix forms. The services they feed live in digest.catalog.curation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest

from digest.catalog import curation
from digest.catalog.ranking import latest_listing_day
from digest.models import Paper, PaperTopic
from subscriptions.models import Topic

EDITOR_FIELDS = ("pinned", "pinned_from", "pinned_until", "hidden", "editor_note")
ALL_DAYS = "all"


def chosen_day(request: HttpRequest) -> dt.date | None:
    """The listing day the list shows: ?day=YYYY-MM-DD, 'all' (None), default the latest."""
    if not hasattr(request, "_paperboy_day"):
        raw = request.GET.get(ListingDayFilter.parameter_name)
        day = None
        if raw and raw != ALL_DAYS:
            try:
                day = dt.date.fromisoformat(raw)
            except ValueError as exc:
                raise IncorrectLookupParameters(f"bad listing day {raw!r}") from exc
        elif not raw:
            day = latest_listing_day()
        request._paperboy_day = day  # type: ignore[attr-defined]
    chosen: dt.date | None = request._paperboy_day  # type: ignore[attr-defined]
    return chosen


class ListingDayFilter(admin.SimpleListFilter):
    title = "listing day"
    parameter_name = "day"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        days = Paper.objects.order_by("-listed_on").values_list("listed_on", flat=True).distinct()[:14]
        return [(d.isoformat(), f"{d:%a %b %-d}") for d in days] + [(ALL_DAYS, "All days")]

    def value(self) -> str | None:
        return super().value() or self._default

    def __init__(self, request: HttpRequest, params: dict[str, Any], model: Any, model_admin: Any) -> None:
        day = chosen_day(request)
        self._default = day.isoformat() if day else ALL_DAYS
        super().__init__(request, params, model, model_admin)

    def choices(self, changelist: Any) -> Any:
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Paper]) -> QuerySet[Paper]:
        value = self.value()
        if not value or value == ALL_DAYS:
            return queryset
        return queryset.filter(listed_on=value)


class TopicFilter(admin.SimpleListFilter):
    title = "topic"
    parameter_name = "topic"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(pk), name) for pk, name in Topic.objects.values_list("pk", "name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Paper]) -> QuerySet[Paper]:
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            raise IncorrectLookupParameters("bad topic")
        matched = PaperTopic.objects.filter(paper=OuterRef("pk"), topic_id=int(value), excluded=False)
        return queryset.filter(Exists(matched))


class PinRangeForm(forms.Form):
    start = forms.DateField(required=False, help_text="First digest day of the pin (empty: from now).")
    end = forms.DateField(required=False, help_text="Last digest day of the pin (empty: until unpinned).")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise forms.ValidationError("The pin must end on or after the day it starts.")
        return data


class NoteForm(forms.Form):
    note = forms.CharField(
        required=False,
        max_length=curation.EDITOR_NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="Shown in the email under the paper. Leave empty to remove the note.",
    )


class TopicsForm(forms.Form):
    topics = forms.ModelMultipleChoiceField(
        queryset=Topic.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Exactly these topics, by hand: automatic matching will not change them.",
    )


# The paper's fields as the change form groups them; the form and the admin's fieldsets
# are both built from these, so a field added here shows up in both.
PAPER_FIELDS = ("paper_id", "title", "authors", "abstract", "ai_summary", "listed_on", "source")
DETAIL_FIELDS = (
    "published_at", "upvotes", "comments", "github_repo", "github_stars", "project_page",
    "ai_keywords", "categories", "thumbnail", "withdrawn", "withdrawn_at", "organization",
    "arxiv_version", "primary_category", "arxiv_comment", "journal_ref", "doi", "abs_link", "pdf_link",
)  # fmt: skip
# What ingest brings: an editor's change to one of these is kept (Paper.locked_fields).
SOURCE_FIELDS = frozenset(PAPER_FIELDS + DETAIL_FIELDS) - {"paper_id", "listed_on", "source"}
PAPER_FORM_FIELDS = [*PAPER_FIELDS, *EDITOR_FIELDS, *DETAIL_FIELDS]


class PaperAdminForm(forms.ModelForm[Paper]):
    class Meta:
        model = Paper
        fields = PAPER_FORM_FIELDS

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("pinned_from"), data.get("pinned_until")
        if start and end and end < start:
            raise forms.ValidationError("The pin must end on or after the day it starts.")
        return data
