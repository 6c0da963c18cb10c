from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

def is_ratelimited(
    request: HttpRequest,
    group: str | None = None,
    fn: Callable[..., Any] | None = None,
    key: str | Callable[[str, HttpRequest], str] | None = None,
    rate: str | Callable[[str, HttpRequest], str | tuple[int, int] | None] | None = None,
    method: str | tuple[str, ...] | None = ...,
    increment: bool = False,
) -> bool: ...
