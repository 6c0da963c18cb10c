"""The "view in browser" copy of an Edition or a personal list: the email's HTML without
personal links."""

from __future__ import annotations

import re
from functools import partial

from django.urls import reverse
from django.utils.html import escape

from digest.daily.assembly import assemble, edition_url
from digest.daily.lists import PersonalList
from digest.daily.rendering import PLACEHOLDERS
from digest.models import Edition
from subscriptions.links import absolute

# href values that are real links; anything else in an edition is a per-reader placeholder.
_REAL_HREF = re.compile(r"^(https?:|mailto:|/|#)", re.IGNORECASE)
_HREF = re.compile(r"""href=(["'])(.*?)\1""", re.IGNORECASE | re.DOTALL)
_BODY_OPEN = re.compile(r"<body[^>]*>", re.IGNORECASE)
_FEEDBACK = re.compile(r"<p\b[^>]*data-pb=\"feedback\"[^>]*>.*?</p>", re.IGNORECASE | re.DOTALL)
SIGNUP_LINK_TEXT = "Get your own digest"


def _placeholders() -> dict[str, str]:
    """name -> placeholder string that digest.daily.rendering puts where a reader's links go."""
    return {name: str(value) for name, value in PLACEHOLDERS.items() if value}


def _feedback_placeholder() -> str:
    return PLACEHOLDERS["feedback_token"]


def _anchor(href: str) -> re.Pattern[str]:
    """An <a> pointing to `href`, with the " · " separator before it, if any."""
    return re.compile(
        r"(?P<sep>\s*(?:&middot;|&#183;|·)\s*)?(?P<open><a\b[^>]*?href=([\"'])"
        + re.escape(href)
        + r"\3[^>]*>)"
        r".*?</a>",
        re.IGNORECASE | re.DOTALL,
    )


def _signup_anchor(match: re.Match[str], *, placeholder: str, signup: str) -> str:
    opening = match.group("open").replace(placeholder, escape(signup))
    return f"{match.group('sep') or ''}{opening}{SIGNUP_LINK_TEXT}</a>"


def _without_personal_links(html: str, signup: str, own_url: str) -> str:
    html = _anchor(own_url).sub("", html)  # "View in browser" would point to this very page
    for name, placeholder in _placeholders().items():
        if "unsubscribe" in name:
            html = _anchor(placeholder).sub("", html)  # nobody to unsubscribe on the web
        else:
            swap = partial(_signup_anchor, placeholder=placeholder, signup=signup)
            html = _anchor(placeholder).sub(swap, html)
        html = html.replace(placeholder, escape(signup))  # any left outside a link

    def _swap(match: re.Match[str]) -> str:
        quote, value = match.group(1), match.group(2).strip()
        return match.group(0) if _REAL_HREF.match(value) else f"href={quote}{escape(signup)}{quote}"

    return _HREF.sub(_swap, html)


def public_edition_html(edition: Edition | PersonalList) -> str:
    """The edition's (or list's) HTML with no reader's links (preferences become a sign-up
    link, unsubscribe is dropped) and a short banner saying this is the web copy."""
    assemble([edition])
    signup = absolute(reverse("subscriptions:signup"))
    own_url = edition_url(edition.slug)
    html = _FEEDBACK.sub("", edition.html)  # "more / less like this" is a reader's own
    html = html.replace(f"?r={_feedback_placeholder()}", "")  # paper pages: no reader
    html = _without_personal_links(html, signup, own_url)
    banner = (
        '<div role="note" style="font:14px/1.5 system-ui,sans-serif;background:#fff8e1;'
        'color:#3b2f00;padding:10px 16px;text-align:center;border-bottom:1px solid #e8d9a8">'
        "You are reading the web copy of a Paperboy digest. "
        f'<a href="{escape(signup)}" style="color:#0b57d0;font-weight:600">'
        "Get trending papers in your inbox</a></div>"
    )
    if _BODY_OPEN.search(html):
        return _BODY_OPEN.sub(lambda m: m.group(0) + banner, html, count=1)
    return banner + html
