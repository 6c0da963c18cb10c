"""Editors teach matching: confirm or reject one paper's match with one topic.

The paper's change page lists its matches (and its closest misses) with Confirm / Reject
buttons; they post, with the change form's CSRF token, to the paper admin's `decide` URL
(`formaction`, so no form is nested in the change form). The topic preview posts the same
verdicts through its own form (digest.desk.topics). Every verdict goes through
digest.catalog.curation.decide_match / undo_decision, which keep it and retrain the model.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString

from digest.catalog import curation
from digest.catalog.learning import current_model
from digest.catalog.matcher import Matcher
from digest.models import Paper, PaperTopic
from subscriptions.models import Topic

VERDICTS = ("confirm", "reject", "undo")
CLOSE_CALLS = 3
CLOSE_CALL_SCORE = 0.15


class VerdictForm(forms.Form):
    """`verdict` is "<confirm|reject|undo>:<topic id>" (one button each)."""

    verdict = forms.RegexField(regex=r"^(confirm|reject|undo):\d{1,10}$")

    def parsed(self) -> tuple[str, int]:
        action, topic_id = self.cleaned_data["verdict"].split(":")
        return action, int(topic_id)


def apply_verdict(request: HttpRequest, paper: Paper, value: str) -> str | None:
    """Record "<action>:<topic id>" for this paper; returns the message shown, None if refused."""
    form = VerdictForm({"verdict": value})
    if not form.is_valid():
        return None
    action, topic_id = form.parsed()
    topic = Topic.objects.filter(pk=topic_id).first()
    if topic is None:
        return None
    if action == "undo":
        curation.undo_decision(paper=paper, topic=topic, user=request.user)
        return f"“{topic.name}” is back to automatic matching for this paper."
    curation.decide_match(paper=paper, topic=topic, belongs=action == "confirm", user=request.user)
    verdict = "belongs to" if action == "confirm" else "does not belong to"
    return f"Kept: this paper {verdict} “{topic.name}”. The matcher learns from it."


def decide_view(request: HttpRequest, paper: Paper) -> HttpResponse:
    """POST a verdict for one of the paper's topics; back to `next` (or the paper)."""
    back = request.POST.get("next") or reverse("admin:digest_paper_change", args=[paper.pk])
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("admin:digest_paper_change", args=[paper.pk])
    if request.method != "POST":
        return HttpResponseRedirect(back)
    message = apply_verdict(request, paper, request.POST.get("verdict", ""))
    if message is None:
        messages.error(request, "That verdict was not understood; nothing changed.")
    else:
        messages.success(request, message)
    return HttpResponseRedirect(back)


@dataclass(frozen=True)
class MatchRow:
    topic: Topic
    state: str  # "matched", "confirmed", "rejected" or "close call"
    score: float
    reason: str


def match_rows(paper: Paper) -> list[MatchRow]:
    """The paper's stored matches and editors' verdicts, then its closest misses (live)."""
    stored = {row.topic_id: row for row in PaperTopic.objects.filter(paper=paper).select_related("topic")}
    rows = []
    for row in sorted(stored.values(), key=lambda r: (-r.score, r.topic.name)):
        if row.manual:
            rows.append(
                MatchRow(row.topic, "rejected" if row.excluded else "confirmed", row.score, row.reason)
            )
        elif not row.excluded:
            rows.append(MatchRow(row.topic, "matched", row.score, row.reason))
    others = [t for t in Topic.objects.order_by("position", "name") if t.pk not in stored]
    if others:
        (decisions,) = Matcher(others, current_model()).decisions([paper])
        by_id = {t.pk: t for t in others}
        near = sorted((d for d in decisions if d.score >= CLOSE_CALL_SCORE), key=lambda d: -d.score)
        rows += [MatchRow(by_id[d.topic_id], "close call", d.score, d.reason) for d in near[:CLOSE_CALLS]]
    return rows


def match_table(paper: Paper) -> SafeString:
    """The change page's table of matches with verdict buttons (posting to `decide`)."""
    if not paper.pk:
        return format_html("{}", "-")
    url = reverse("admin:digest_paper_decide", args=[paper.pk])
    body = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        ((r.topic.name, r.state, f"{r.score:.2f}", r.reason, _buttons(url, r)) for r in match_rows(paper)),
    )
    return format_html(
        '<table class="pb-matches"><thead><tr><th>Topic</th><th>State</th><th>Score</th>'
        "<th>Why</th><th>Verdict</th></tr></thead><tbody>{}</tbody></table>",
        body or format_html('<tr><td colspan="5">{}</td></tr>', "No topic matches this paper."),
    )


def _buttons(url: str, row: MatchRow) -> SafeString:
    button = (
        '<button type="submit" class="button" formaction="{}" formmethod="post" formnovalidate '
        'name="verdict" value="{}:{}">{}</button>'
    )
    choices = {
        "matched": (("confirm", "Confirm"), ("reject", "Reject")),
        "close call": (("confirm", "Add: it belongs"), ("reject", "Reject")),
        "confirmed": (("undo", "Undo"),),
        "rejected": (("undo", "Undo"),),
    }[row.state]
    return format_html_join(" ", button, ((url, action, row.topic.pk, label) for action, label in choices))
