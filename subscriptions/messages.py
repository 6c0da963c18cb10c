"""The one helper that builds every email: subject/text/html triplet from
`<name>_subject.txt`, `<name>_body.txt`, `<name>_body.html`, CSS inlined,
unsubscribe headers, anymail tags and metadata."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import css_inline
from anymail.message import AnymailMessage
from django.conf import settings
from django.template.loader import render_to_string

_inliner = css_inline.CSSInliner(keep_style_tags=True)


def unsubscribe_headers(unsubscribe_url: str, *, list_id: str = "") -> dict[str, str]:
    """RFC 2369 / RFC 8058 headers for one-click unsubscribe, plus List-Id (LIST_ID unless
    another list's is given)."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": list_id or settings.LIST_ID,
    }


def inline_css(html: str) -> str:
    """Inline <style> rules into style attributes (email clients drop <style>)."""
    return _inliner.inline(html)


def render_parts(template: str, context: Mapping[str, Any]) -> tuple[str, str, str]:
    """Render (subject, text, html) for `template` (e.g. "subscriptions/email/confirm")."""
    subject = render_to_string(f"{template}_subject.txt", context).strip()
    subject = " ".join(subject.split())  # never a CR/LF in a header
    text = render_to_string(f"{template}_body.txt", context)
    html = inline_css(render_to_string(f"{template}_body.html", context))
    return subject, text, html


def build_message(
    *,
    subject: str,
    text: str,
    html: str,
    to: str | Sequence[str],
    from_email: str,
    unsubscribe_url: str | None = None,
    tags: Sequence[str] = (),
    metadata: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    connection: Any = None,
    list_id: str = "",
) -> AnymailMessage:
    """An AnymailMessage with both parts, unsubscribe headers, tags and metadata."""
    all_headers = dict(headers or {})
    if unsubscribe_url:
        all_headers.update(unsubscribe_headers(unsubscribe_url, list_id=list_id))
    message = AnymailMessage(
        subject=subject,
        body=text,
        from_email=from_email,
        to=[to] if isinstance(to, str) else list(to),
        headers=all_headers,
        tags=list(tags),
        metadata=dict(metadata or {}),
        connection=connection,
    )
    message.attach_alternative(html, "text/html")
    return message
