""" "More like this" / "less like this" from a digest: the signed link of a reader and a paper.

A link scanner opens every link of an email, so a GET changes nothing: it shows the paper,
what the choice will change and one button; the POST (a deliberate click) records it, and
the page that follows offers to undo it.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from digest.models import Feedback, Paper
from digest.readers.feedback import feedback_on, record_feedback, undo_feedback
from subscriptions.links import preferences_url
from subscriptions.models import Subscriber
from subscriptions.tokens import BadToken, Purpose, subscriber_for_token

CHOICES = {"more": Feedback.Value.MORE, "less": Feedback.Value.LESS}
_BAD_TOKEN_STATUS = {"expired": 410, "unknown": 404}


def reader_for(token: str) -> Subscriber | None:
    """The reader a feedback token belongs to, or None (paper pages use it quietly)."""
    try:
        return subscriber_for_token(token, Purpose.FEEDBACK)
    except BadToken:
        return None


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def feedback(request: HttpRequest, token: str, paper: int, choice: str) -> HttpResponse:
    if choice not in CHOICES:
        return render(request, "digest/feedback/gone.html", {"what": "choice"}, status=404)
    try:
        subscriber = subscriber_for_token(token, Purpose.FEEDBACK)
    except BadToken as error:
        status = _BAD_TOKEN_STATUS.get(error.reason, 400)
        return render(request, "subscriptions/bad_link.html", {"reason": error.reason}, status=status)
    found = Paper.objects.filter(pk=paper, withdrawn=False).first()
    if found is None:
        return render(request, "digest/feedback/gone.html", {"what": "paper"}, status=404)
    value = CHOICES[choice]
    state = "recorded" if feedback_on(subscriber=subscriber, paper=found) == value else "asked"
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "record":
            record_feedback(subscriber=subscriber, paper=found, value=value)
            state = "recorded"
        elif action == "undo":
            undo_feedback(subscriber=subscriber, paper=found)
            state = "undone"
        else:
            state, status = "bad", 400
    context = {
        "paper": found,
        "choice": choice,
        "state": state,
        "preferences_url": preferences_url(subscriber),
    }
    return render(request, "digest/feedback/page.html", context, status=status)
