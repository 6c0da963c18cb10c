"""Papers in admin: today's candidates by trending score, and the editor's controls.

Every control calls a service in digest.catalog.curation (the same ones tasks use). The list
runs a fixed number of queries whatever the page size. Filters and forms:
digest/desk/paper_forms.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import (
    Case,
    FloatField,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from digest.catalog import curation
from digest.catalog.ranking import ranked_papers
from digest.desk import decisions
from digest.desk.paper_forms import (
    DETAIL_FIELDS,
    EDITOR_FIELDS,
    PAPER_FIELDS,
    SOURCE_FIELDS,
    ListingDayFilter,
    NoteForm,
    PaperAdminForm,
    PinRangeForm,
    TopicFilter,
    TopicsForm,
    chosen_day,
)
from digest.models import Paper, PaperSnapshot, PaperTopic
from subscriptions.models import Topic


def _growth_subquery(offset: int) -> Subquery:
    snapshots = PaperSnapshot.objects.filter(paper=OuterRef("pk")).order_by("-taken_at", "-id")
    return Subquery(snapshots.values("upvotes")[offset : offset + 1], output_field=IntegerField())


def _ranking_annotations(day: dt.date | None) -> dict[str, Any]:
    """trend_rank / trend_score for the papers of `day` (3 queries); constants for all days."""
    if day is None:
        return {"trend_rank": Value(0, IntegerField()), "trend_score": Value(None, FloatField())}
    ranked = ranked_papers(days=[day], include_hidden=True)
    if not ranked:
        return {"trend_rank": Value(0, IntegerField()), "trend_score": Value(None, FloatField())}
    rank = Case(
        *[When(pk=r.paper.pk, then=Value(i)) for i, r in enumerate(ranked)],
        default=Value(len(ranked)),
        output_field=IntegerField(),
    )
    score = Case(
        *[When(pk=r.paper.pk, then=Value(round(r.score, 3))) for r in ranked],
        default=Value(None),
        output_field=FloatField(),
    )
    return {"trend_rank": rank, "trend_score": score}


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin[Paper]):
    form = PaperAdminForm
    change_list_template = "admin/digest/paper/change_list.html"
    list_display = [
        "title_short",
        "score",
        "upvotes_growth",
        "matched_topics",
        "pin_state",
        "hidden_state",
        "source",
        "listed_on",
    ]
    list_display_links = ["title_short"]
    list_filter = [ListingDayFilter, "source", TopicFilter, "pinned", "hidden"]
    search_fields = ["title", "authors", "paper_id"]
    list_per_page = 50
    show_full_result_count = False
    actions = ["pin", "pin_range", "unpin", "hide", "unhide", "editor_note", "fix_topics"]
    readonly_fields = [
        "created_at",
        "updated_at",
        "topic_list",
        "topic_matching",
        "on_hf",
        "on_arxiv",
        "locked_fields",
    ]
    fieldsets = [
        (None, {"fields": PAPER_FIELDS}),
        ("Editor", {"fields": [*EDITOR_FIELDS, "topic_list", "locked_fields"]}),
        (
            "Topic matching",
            {
                "fields": ["topic_matching"],
                "description": "Confirm or reject a match: your verdict is kept when papers are "
                "re-matched, and the matcher learns from it.",
            },
        ),
        (
            "Details",
            {
                "classes": ["collapse"],
                "fields": [*DETAIL_FIELDS, "on_hf", "on_arxiv", "created_at", "updated_at"],
            },
        ),
    ]

    # --- list -------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[Paper]:
        match = getattr(request, "resolver_match", None)
        if not match or match.url_name != "digest_paper_changelist":
            return super().get_queryset(request)
        matches = PaperTopic.objects.filter(excluded=False).select_related("topic").order_by("-score")
        return (
            Paper.objects.annotate(
                latest_upvotes=_growth_subquery(0),
                previous_upvotes=_growth_subquery(1),
                **_ranking_annotations(chosen_day(request)),
            )
            .prefetch_related(Prefetch("topic_matches", queryset=matches, to_attr="shown_matches"))
            .order_by(*self.get_ordering(request))
        )

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        match = getattr(request, "resolver_match", None)
        if match and match.url_name == "digest_paper_changelist":
            return ["trend_rank", "-listed_on", "-upvotes"]
        return ["-listed_on", "-upvotes"]

    @admin.display(description="title", ordering="title")
    def title_short(self, obj: Paper) -> str:
        title = obj.title if len(obj.title) <= 90 else obj.title[:88] + "…"
        if obj.editor_note:
            return format_html('{}<br><small class="quiet">Note: {}</small>', title, obj.editor_note[:120])
        return title

    @admin.display(description="trending score", ordering="trend_rank")
    def score(self, obj: Paper) -> str:
        """Three significant digits: scores are small (0.0213, 0.00874), two decimals hid them."""
        value = getattr(obj, "trend_score", None)
        return "-" if value is None else f"{value:#.3g}"

    @admin.display(description="hidden", ordering="hidden")
    def hidden_state(self, obj: Paper) -> str:
        """Only hidden papers are marked (a red cross on every visible one was noise)."""
        return "hidden" if obj.hidden else ""

    @admin.display(description="upvotes (growth)", ordering="upvotes")
    def upvotes_growth(self, obj: Paper) -> str:
        latest, previous = getattr(obj, "latest_upvotes", None), getattr(obj, "previous_upvotes", None)
        if latest is None or previous is None:
            return str(obj.upvotes)
        return f"{obj.upvotes} ({latest - previous:+d})"

    @admin.display(description="topics")
    def matched_topics(self, obj: Paper) -> str:
        found = getattr(obj, "shown_matches", [])
        if not found:
            return "-"
        return format_html_join(
            ", ", "{}{}", ((m.topic.name, " (by hand)" if m.manual else "") for m in found)
        )

    @admin.display(description="pinned", ordering="pinned")
    def pin_state(self, obj: Paper) -> str:
        if not obj.pinned:
            return "-"
        if obj.pinned_from or obj.pinned_until:
            start = f"{obj.pinned_from:%b %-d}" if obj.pinned_from else "now"
            end = f"{obj.pinned_until:%b %-d}" if obj.pinned_until else "unpinned"
            return f"{start} to {end}"
        return "yes"

    @admin.display(description="topics")
    def topic_list(self, obj: Paper) -> str:
        if not obj.pk:
            return "-"
        rows = obj.topic_matches.filter(excluded=False).select_related("topic").order_by("-score")
        names = format_html_join(
            ", ", "{}{}", ((r.topic.name, " (by hand)" if r.manual else "") for r in rows)
        )
        link = reverse("admin:digest_paper_topics", args=[obj.pk])
        return format_html('{} &nbsp; <a href="{}">Fix topics by hand</a>', names or "none", link)

    @admin.display(description="matches")
    def topic_matching(self, obj: Paper) -> str:
        return decisions.match_table(obj)

    # --- change form: editor fields go through the services ---------------------------

    def save_model(
        self, request: HttpRequest, obj: Paper, form: forms.ModelForm[Paper], change: bool
    ) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        wanted = {name: getattr(obj, name) for name in EDITOR_FIELDS}
        for name in EDITOR_FIELDS:
            setattr(obj, name, form.initial.get(name))
        changed = set(form.changed_data)
        obj.locked_fields = sorted(set(obj.locked_fields or []) | (changed & SOURCE_FIELDS))
        super().save_model(request, obj, form, change)
        if changed & {"pinned", "pinned_from", "pinned_until"}:
            if wanted["pinned"]:
                curation.pin_papers(
                    papers=[obj], start=wanted["pinned_from"], end=wanted["pinned_until"], user=request.user
                )
            else:
                curation.unpin_papers(papers=[obj], user=request.user)
        if "hidden" in changed:
            service = curation.hide_papers if wanted["hidden"] else curation.unhide_papers
            service(papers=[obj], user=request.user)
        if "editor_note" in changed:
            curation.set_editor_note(paper=obj, note=wanted["editor_note"], user=request.user)

    # --- actions ----------------------------------------------------------------------

    @admin.action(description="Pin (from now on)")
    def pin(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        n = curation.pin_papers(papers=queryset, user=request.user)
        self.message_user(request, f"Pinned {n} paper(s).", messages.SUCCESS)

    @admin.action(description="Pin for a date range…")
    def pin_range(self, request: HttpRequest, queryset: QuerySet[Paper]) -> HttpResponse | None:
        form = PinRangeForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
            n = curation.pin_papers(papers=queryset, start=start, end=end, user=request.user)
            self.message_user(request, f"Pinned {n} paper(s) from {start or 'now'} to {end or 'unpinned'}.")
            return None
        return self._intermediate(request, queryset, form, "Pin for a date range", "pin_range")

    @admin.action(description="Unpin")
    def unpin(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        n = curation.unpin_papers(papers=queryset, user=request.user)
        self.message_user(request, f"Unpinned {n} paper(s).", messages.SUCCESS)

    @admin.action(description="Hide from digests")
    def hide(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        n = curation.hide_papers(papers=queryset, user=request.user)
        self.message_user(request, f"Hid {n} paper(s).", messages.SUCCESS)

    @admin.action(description="Unhide")
    def unhide(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        n = curation.unhide_papers(papers=queryset, user=request.user)
        self.message_user(request, f"Unhid {n} paper(s).", messages.SUCCESS)

    @admin.action(description="Set editor's note…")
    def editor_note(self, request: HttpRequest, queryset: QuerySet[Paper]) -> HttpResponse | None:
        form = NoteForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            for paper in queryset:
                curation.set_editor_note(paper=paper, note=form.cleaned_data["note"], user=request.user)
            self.message_user(request, f"Note saved on {queryset.count()} paper(s).", messages.SUCCESS)
            return None
        return self._intermediate(request, queryset, form, "Editor's note", "editor_note")

    @admin.action(description="Fix topics by hand…")
    def fix_topics(self, request: HttpRequest, queryset: QuerySet[Paper]) -> HttpResponse | None:
        chosen = list(queryset[:2])
        if len(chosen) != 1:
            self.message_user(request, "Choose exactly one paper to fix its topics.", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:digest_paper_topics", args=[chosen[0].pk]))

    def _intermediate(
        self, request: HttpRequest, queryset: QuerySet[Paper], form: forms.Form, title: str, action: str
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "papers": list(queryset),
            "form": form,
            "action": action,
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        }
        return TemplateResponse(request, "admin/digest/paper/action_form.html", context)

    # --- fix topics page --------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.topics_view)
        decide = self.admin_site.admin_view(self.decide_view)
        return [
            path("<int:pk>/topics/", view, name="digest_paper_topics"),
            path("<int:pk>/decide/", decide, name="digest_paper_decide"),
            *super().get_urls(),
        ]

    def decide_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        paper = get_object_or_404(Paper, pk=pk)
        if not self.has_change_permission(request, paper):
            return HttpResponse("You may not change papers.", status=403)
        return decisions.decide_view(request, paper)

    def topics_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        paper = get_object_or_404(Paper, pk=pk)
        if not self.has_change_permission(request, paper):
            return HttpResponse("You may not change papers.", status=403)
        current = Topic.objects.filter(paper_matches__paper=paper, paper_matches__excluded=False)
        form = TopicsForm(request.POST or None, initial={"topics": list(current)})
        if request.method == "POST" and "reset" in request.POST:
            curation.clear_manual_topics(paper=paper, user=request.user)
            self.message_user(request, "Topics are back to automatic matching.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:digest_paper_change", args=[paper.pk]))
        if request.method == "POST" and form.is_valid():
            curation.set_manual_topics(paper=paper, topics=form.cleaned_data["topics"], user=request.user)
            self.message_user(
                request, "Topics set by hand; matching will leave them alone.", messages.SUCCESS
            )
            return HttpResponseRedirect(reverse("admin:digest_paper_change", args=[paper.pk]))
        rows = paper.topic_matches.select_related("topic").order_by("topic__position", "topic__name")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Topics of “{paper.title[:80]}”",
            "opts": self.model._meta,
            "original": paper,
            "form": form,
            "rows": rows,
            "has_manual": rows.filter(manual=True).exists(),
        }
        return TemplateResponse(request, "admin/digest/paper/topics.html", context)
