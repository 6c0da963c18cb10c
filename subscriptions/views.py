"""Sign-up, confirm, preferences and unsubscribe pages: a form validates, a service acts."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from subscriptions import services
from subscriptions.clientip import client_ip
from subscriptions.forms import DeleteForm, PauseForm, PreferencesForm, SignupForm
from subscriptions.links import preferences_url, unsubscribe_url
from subscriptions.models import Subscriber
from subscriptions.ratelimits import signup_email_limited, signup_ip_limited
from subscriptions.selectors import past_digests
from subscriptions.sidebar import signup_sidebar_items
from subscriptions.signup_page import blank_signup_page
from subscriptions.tokens import BadToken, Purpose, subscriber_for_token

_BAD_TOKEN_STATUS = {"expired": 410, "unknown": 404}


def _client(request: HttpRequest) -> tuple[str | None, str]:
    return client_ip(request), request.META.get("HTTP_USER_AGENT", "")[:400]


def _bad_link(request: HttpRequest, error: BadToken) -> HttpResponse:
    status = _BAD_TOKEN_STATUS.get(error.reason, 400)
    return render(request, "subscriptions/bad_link.html", {"reason": error.reason}, status=status)


def rate_limited(request: HttpRequest) -> HttpResponse:
    return render(request, "429.html", status=429)


def _signup_page(request: HttpRequest, form: SignupForm, status: int = 200) -> HttpResponse:
    context = {"form": form, "papers": signup_sidebar_items(limit=5)}
    return render(request, "subscriptions/signup.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        if request.GET:  # e.g. ?q= from the header's search box: rendered as it is
            return _signup_page(request, SignupForm())
        papers = signup_sidebar_items(limit=5)
        return blank_signup_page(request, lambda: {"form": SignupForm(), "papers": papers}, papers)
    if signup_ip_limited(request):
        return rate_limited(request)
    form = SignupForm(request.POST)
    if form.is_bot():
        return redirect("subscriptions:check_inbox")
    if not form.is_valid():
        return _signup_page(request, form, status=400)
    if signup_email_limited(request, form.cleaned_data["email"]):
        return rate_limited(request)
    ip, user_agent = _client(request)
    services.queue_signup(
        email=form.cleaned_data["email"], preferences=form.preferences(), ip=ip, user_agent=user_agent
    )
    return redirect("subscriptions:check_inbox")


@require_GET
def check_inbox(request: HttpRequest) -> HttpResponse:
    return render(request, "subscriptions/check_inbox.html")


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows one button (a mail scanner opening the link confirms nothing: double opt-in
    means the owner clicks); POST confirms and records consent."""
    try:
        subscriber = subscriber_for_token(token, Purpose.CONFIRM)
    except BadToken as error:
        return _bad_link(request, error)
    if subscriber.status not in (Subscriber.Status.PENDING, Subscriber.Status.ACTIVE):
        return render(request, "subscriptions/bad_link.html", {"reason": "inactive"}, status=409)
    if request.method != "POST" and subscriber.status == Subscriber.Status.PENDING:
        return render(request, "subscriptions/confirm.html", {"subscriber": subscriber})
    ip, user_agent = _client(request)
    if not services.confirm_subscription(subscriber=subscriber, ip=ip, user_agent=user_agent):
        return render(request, "subscriptions/bad_link.html", {"reason": "inactive"}, status=409)
    context = {"subscriber": subscriber, "preferences_url": preferences_url(subscriber)}
    return render(request, "subscriptions/confirmed.html", context)


def _preferences_path(token: str, saved: str) -> str:
    return reverse("subscriptions:preferences", args=[token]) + f"?saved={saved}"


def _manage_subscriber(token: str) -> Subscriber:
    return subscriber_for_token(token, Purpose.MANAGE)


def _preferences_page(
    request: HttpRequest,
    subscriber: Subscriber,
    *,
    form: PreferencesForm | None = None,
    pause_form: PauseForm | None = None,
    delete_form: DeleteForm | None = None,
    saved: str = "",
    status: int = 200,
) -> HttpResponse:
    initial = {
        "topics": list(subscriber.topics.all()),
        "frequency": subscriber.frequency,
        "weekday": subscriber.weekday,
        "delivery_hour": subscriber.delivery_hour,
        "timezone": subscriber.timezone,
        "papers_per_email": subscriber.papers_per_email,
        "keywords": "\n".join(subscriber.keywords or []),
        "authors": "\n".join(subscriber.authors or []),
        "exclude_words": "\n".join(subscriber.exclude_words or []),
    }
    context = {
        "subscriber": subscriber,
        "form": form or PreferencesForm(initial=initial),
        "pause_form": pause_form or PauseForm(),
        "delete_form": delete_form or DeleteForm(),
        "saved": saved or request.GET.get("saved", "")[:20],
        "token": request.resolver_match.kwargs["token"] if request.resolver_match else "",
        "unsubscribe_url": unsubscribe_url(subscriber),
        "past_digests": past_digests(subscriber),
    }
    return render(request, "subscriptions/preferences.html", context, status=status)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = _manage_subscriber(token)
    except BadToken as error:
        return _bad_link(request, error)
    if request.method != "POST":
        return _preferences_page(request, subscriber)
    form = PreferencesForm(request.POST)
    if not form.is_valid():
        return _preferences_page(request, subscriber, form=form, status=400)
    services.update_preferences(subscriber=subscriber, preferences=form.preferences())
    return redirect(_preferences_path(token, "preferences"))


@never_cache
@require_POST
def pause(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = _manage_subscriber(token)
    except BadToken as error:
        return _bad_link(request, error)
    form = PauseForm(request.POST)
    if not form.is_valid():
        return _preferences_page(request, subscriber, pause_form=form, status=400)
    services.pause(subscriber=subscriber, weeks=form.cleaned_data["weeks"])
    return redirect(_preferences_path(token, "pause"))


@never_cache
@require_POST
def resume(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = _manage_subscriber(token)
    except BadToken as error:
        return _bad_link(request, error)
    services.pause(subscriber=subscriber, weeks=0)
    return redirect(_preferences_path(token, "resume"))


@never_cache
@require_GET
def export(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = _manage_subscriber(token)
    except BadToken as error:
        return _bad_link(request, error)
    response = JsonResponse(services.export_data(subscriber=subscriber), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = 'attachment; filename="paperboy-my-data.json"'
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@require_POST
def delete(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = _manage_subscriber(token)
    except BadToken as error:
        return _bad_link(request, error)
    form = DeleteForm(request.POST)
    if not form.is_valid():
        return _preferences_page(request, subscriber, delete_form=form, status=400)
    services.delete_subscriber(subscriber=subscriber)
    return render(request, "subscriptions/deleted.html")


def _is_one_click(request: HttpRequest) -> bool:
    """RFC 8058: the mailbox provider POSTs exactly `List-Unsubscribe=One-Click`."""
    return request.POST.get("List-Unsubscribe") == "One-Click"


def _one_click_done() -> HttpResponse:
    return HttpResponse(json.dumps({"unsubscribed": True}), content_type="application/json")


def _csrf_rejection(request: HttpRequest) -> HttpResponse | None:
    """The CSRF middleware's verdict for this request (the view itself is csrf_exempt)."""
    return CsrfViewMiddleware(lambda _request: HttpResponse()).process_view(request, _one_click_done, (), {})


@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows one button (link scanners change nothing); POST unsubscribes. Only the RFC 8058
    one-click body acts without the button's CSRF token."""
    try:
        subscriber = subscriber_for_token(token, Purpose.UNSUBSCRIBE)
    except BadToken as error:
        if error.reason == "unknown" and request.method == "POST" and _is_one_click(request):
            # A genuine link of a reader who deleted their data: they get no mail, say so.
            return _one_click_done()
        return _bad_link(request, error)
    if request.method != "POST":
        return render(request, "subscriptions/unsubscribe.html", {"subscriber": subscriber})
    if _is_one_click(request):
        services.unsubscribe(subscriber=subscriber, reason="one-click")
        return _one_click_done()
    rejection = _csrf_rejection(request)
    if rejection is not None:
        return rejection
    services.unsubscribe(subscriber=subscriber, reason="link")
    context = {"subscriber": subscriber, "preferences_url": preferences_url(subscriber)}
    return render(request, "subscriptions/unsubscribed.html", context)
