from collections.abc import Sequence
from typing import Any

from django.core.mail import EmailMultiAlternatives

class AnymailRecipientStatus:
    message_id: str | None
    status: str | None
    def __init__(self, message_id: str | None, status: str | None) -> None: ...

class AnymailStatus:
    message_id: str | set[str] | None
    status: set[str] | None
    recipients: dict[str, AnymailRecipientStatus]
    esp_response: Any
    def set_recipient_status(self, recipients: dict[str, AnymailRecipientStatus]) -> None: ...

class AnymailMessageMixin:
    esp_extra: dict[str, Any]
    envelope_sender: str | None
    metadata: dict[str, Any]
    merge_metadata: dict[str, dict[str, Any]]
    merge_headers: dict[str, dict[str, str]]
    send_at: Any
    tags: list[str]
    track_clicks: bool | None
    track_opens: bool | None
    template_id: str | None
    merge_data: dict[str, dict[str, Any]]
    merge_global_data: dict[str, Any]
    anymail_status: AnymailStatus

class AnymailMessage(AnymailMessageMixin, EmailMultiAlternatives):
    def __init__(
        self,
        subject: str = "",
        body: str = "",
        from_email: str | None = None,
        to: Sequence[str] | None = None,
        bcc: Sequence[str] | None = None,
        connection: Any = None,
        attachments: Any = None,
        headers: dict[str, str] | None = None,
        alternatives: Any = None,
        cc: Sequence[str] | None = None,
        reply_to: Sequence[str] | None = None,
        *,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        merge_data: dict[str, dict[str, Any]] | None = None,
        merge_metadata: dict[str, dict[str, Any]] | None = None,
        merge_headers: dict[str, dict[str, str]] | None = None,
        **kwargs: Any,
    ) -> None: ...
