from typing import Any

from django.core.mail.backends.base import BaseEmailBackend

class AnymailBaseBackend(BaseEmailBackend):
    esp_name: str
    def __init__(self, *args: Any, **kwargs: Any) -> None: ...

class BasePayload:
    base_message_attrs: tuple[tuple[Any, ...], ...]
    anymail_message_attrs: tuple[tuple[Any, ...], ...]
