"""Topics in admin: rules edited one per line, a "preview changes" button that shows what the
new rules would match, gain and lose before saving, and a background re-match on save.

Registered here, not in subscriptions/admin.py, because matching lives in `digest`.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from digest.catalog import curation
from digest.catalog.evaluation import TopicFigures, topic_figures
from digest.catalog.learning import current_model
from digest.catalog.matching import (
    RULE_KEYS,
    RulesPreview,
    model_for_rules,
    preview_topic_rules,
    topic_with_rules,
    validate_rules,
)
from digest.models import Paper
from subscriptions.models import Subscriber, Topic

PREVIEW_SHOWN = 25


class RulesField(forms.Field):
    """A list of strings edited as a textarea, one per line (commas also separate)."""

    widget = forms.Textarea(attrs={"rows": 7, "cols": 60})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return "\n".join(str(v) for v in value)
        return value

    def to_python(self, value: Any) -> list[str]:
        if isinstance(value, list | tuple):
            return [str(v) for v in value]
        text = "" if value in self.empty_values else str(value)
        return [item.strip() for line in text.splitlines() for item in line.split(",") if item.strip()]


class TopicAdminForm(forms.ModelForm[Topic]):
    terms = RulesField(
        required=False,
        help_text="Specific words or phrases, one per line (one mention counts); 'a + b' needs both in "
        "one sentence; 'robot*' is a prefix; 'TTS ! test-time scaling' is TTS unless the guard occurs.",
    )
    weak_terms = RulesField(
        required=False,
        help_text="Generic words that count only in the title or beside another hit (e.g. 'speech').",
    )
    exclude_terms = RulesField(required=False, help_text="A paper mentioning any of these is no match.")
    categories = RulesField(required=False, help_text="arXiv categories such as cs.CL, one per line.")
    hf_keywords = RulesField(required=False, help_text="Hugging Face ai_keywords, one per line.")

    class Meta:
        model = Topic
        fields = ["name", "slug", "description", *RULE_KEYS, "is_active", "position"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            data.update(validate_rules({key: data.get(key) or [] for key in RULE_KEYS}))
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return data

    def rules(self) -> dict[str, list[str]]:
        return {key: self.cleaned_data.get(key) or [] for key in RULE_KEYS}


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin[Topic]):
    form = TopicAdminForm
    change_form_template = "admin/digest/topic/change_form.html"
    list_display = ["name", "slug", "subscriber_count", "paper_count", "is_active", "position"]
    list_editable = ["is_active", "position"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug", "description"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Topic]:
        active = Q(subscribers__status=Subscriber.Status.ACTIVE)
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_readers=Count("subscribers", filter=active, distinct=True),
                n_papers=Count("paper_matches", filter=Q(paper_matches__excluded=False), distinct=True),
            )
        )

    @admin.display(description="active readers", ordering="n_readers")
    def subscriber_count(self, obj: Topic) -> int:
        count: int = getattr(obj, "n_readers", 0)
        return count

    @admin.display(description="papers matched", ordering="n_papers")
    def paper_count(self, obj: Topic) -> int:
        count: int = getattr(obj, "n_papers", 0)
        return count

    def save_model(
        self, request: HttpRequest, obj: Topic, form: forms.ModelForm[Topic], change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        if not change or set(form.changed_data) & set(RULE_KEYS):
            from digest.tasks import rematch_topic

            topic_id = obj.pk
            transaction.on_commit(lambda: rematch_topic.delay(topic_id))
            self.message_user(request, "Papers are being re-matched to the new rules in the background.")

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "POST" and ("_preview" in request.POST or "_decide" in request.POST):
            return self._preview_response(request, object_id)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _preview_response(self, request: HttpRequest, object_id: str | None) -> HttpResponse:
        """Re-render the change form with the posted values and what they would match; saves nothing."""
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        if object_id and obj is None:
            self.message_user(
                request, f"No topic with ID “{object_id}”: perhaps it was deleted.", messages.WARNING
            )
            return HttpResponseRedirect(reverse("admin:subscriptions_topic_changelist"))
        if not (self.has_change_permission(request, obj) if obj else self.has_add_permission(request)):
            return HttpResponse("You may not change topics.", status=403)
        form = self.get_form(request, obj, change=obj is not None)(request.POST, instance=obj)
        if not isinstance(form, TopicAdminForm):
            raise TypeError("TopicAdmin.form must be a TopicAdminForm")
        verdict = request.POST.get("_decide", "")
        if obj is not None and verdict:
            self._decide(request, obj, verdict)
        preview: RulesPreview | None = None
        figures: TopicFigures | None = None
        if form.is_valid():
            preview = preview_topic_rules(rules=form.rules(), topic_id=obj.pk if obj else None)
            if obj is not None:
                stored = Topic.objects.get(pk=obj.pk)  # the form wrote the posted rules onto obj
                candidate = topic_with_rules(form.rules(), stored)
                figures = topic_figures(
                    stored=stored, candidate=candidate, now=current_model(), after=model_for_rules(candidate)
                )
        fieldsets = self.get_fieldsets(request, obj)
        admin_form = helpers.AdminForm(
            form,
            cast(list[tuple[str | None, dict[str, list[str]]]], list(fieldsets)),
            self.get_prepopulated_fields(request, obj),
            self.get_readonly_fields(request, obj),
            model_admin=self,
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Preview: {obj}" if obj else "Preview: new topic",
            "subtitle": None,
            "adminform": admin_form,
            "object_id": object_id,
            "original": obj,
            "is_popup": False,
            "to_field": None,
            "media": self.media + admin_form.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            "preview": preview,
            "preview_matches": preview.matches[:PREVIEW_SHOWN] if preview else [],
            "preview_shown": PREVIEW_SHOWN,
            "figures": figures,
        }
        return self.render_change_form(request, context, add=obj is None, change=obj is not None, obj=obj)

    def _decide(self, request: HttpRequest, topic: Topic, value: str) -> None:
        """A Confirm / Reject button of the preview: "<confirm|reject>:<paper pk>" for this topic."""
        action, _, paper_pk = value.partition(":")
        paper = Paper.objects.filter(pk=int(paper_pk)).first() if paper_pk.isdigit() else None
        if paper is None or action not in ("confirm", "reject"):
            self.message_user(request, "That verdict was not understood; nothing changed.", messages.ERROR)
            return
        curation.decide_match(paper=paper, topic=topic, belongs=action == "confirm", user=request.user)
        verdict = "belongs" if action == "confirm" else "does not belong"
        self.message_user(request, f"Kept: “{paper.title[:80]}” {verdict} here. The matcher learns from it.")
