import datetime as dt
from typing import Any

from django.dispatch import Signal

tracking: Signal
inbound: Signal

class EventType:
    QUEUED: str
    SENT: str
    REJECTED: str
    FAILED: str
    BOUNCED: str
    DEFERRED: str
    DELIVERED: str
    AUTORESPONDED: str
    OPENED: str
    CLICKED: str
    COMPLAINED: str
    UNSUBSCRIBED: str
    SUBSCRIBED: str
    INBOUND: str
    INBOUND_FAILED: str
    UNKNOWN: str

class RejectReason:
    INVALID: str
    BOUNCED: str
    TIMED_OUT: str
    BLOCKED: str
    SPAM: str
    UNSUBSCRIBED: str
    OTHER: str

class AnymailEvent:
    event_type: str | None
    timestamp: dt.datetime | None
    event_id: str | None
    esp_event: Any
    def __init__(
        self, event_type: str | None, timestamp: dt.datetime | None = None, **kwargs: Any
    ) -> None: ...

class AnymailTrackingEvent(AnymailEvent):
    click_url: str | None
    description: str | None
    message_id: str | None
    metadata: dict[str, Any]
    mta_response: str | None
    recipient: str | None
    reject_reason: str | None
    tags: list[str]
    user_agent: str | None
    def __init__(self, **kwargs: Any) -> None: ...
