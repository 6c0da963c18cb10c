"""ANYMAIL_* environment variables → Django's ANYMAIL dict, typed as anymail expects.

Every ANYMAIL_<NAME> variable becomes ANYMAIL["<NAME>"]. Environment values are text, but
anymail tests some settings for truth (`ANYMAIL_IGNORE_RECIPIENT_STATUS=false` would be the
non-empty, true string "false"), takes numbers for others and dicts for a few; those are
converted here, and a value that does not convert stops the start with a message naming it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

PREFIX = "ANYMAIL_"
# Setting names (after any ESP prefix, e.g. POSTMARK_USE_BULK_API) anymail reads as booleans.
BOOLEAN_NAMES = (
    "IGNORE_RECIPIENT_STATUS",
    "IGNORE_UNSUPPORTED_FEATURES",
    "DEBUG_API_REQUESTS",
    "USE_BULK_API",
    "GENERATE_MESSAGE_ID",
    "WORKAROUND_DISPLAY_NAME_BUGS",
    "PREVENT_HEADER_ENCODING_BUGS",
    "VERIFY_ATTACHMENT_EXTENSIONS",
    "AUTO_CONFIRM_SNS_SUBSCRIPTIONS",
    "TRACK_INITIAL_OPEN_AS_OPENED",
)
INTEGER_NAMES = ("DOWNLOAD_CHUNK_SIZE",)
# Seconds, or "connect,read" seconds.
TIMEOUT_NAMES = ("REQUESTS_TIMEOUT",)
# JSON objects.
MAPPING_NAMES = ("SEND_DEFAULTS", "CLIENT_PARAMS", "SESSION_PARAMS")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _boolean(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{PREFIX}{name}={value!r}: use true or false.")


def _integer(name: str, value: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        number = 0
    if number <= 0:
        raise ImproperlyConfigured(f"{PREFIX}{name}={value!r}: use a whole number above 0.")
    return number


def _timeout(name: str, value: str) -> float | tuple[float, float]:
    try:
        parts = tuple(float(part) for part in value.split(","))
    except ValueError:
        parts = ()
    if len(parts) not in (1, 2) or any(not 0 < part < 3600 for part in parts):
        raise ImproperlyConfigured(
            f"{PREFIX}{name}={value!r}: use seconds (e.g. 30) or connect,read seconds (e.g. 3.05,27)."
        )
    return parts[0] if len(parts) == 1 else (parts[0], parts[1])


def _mapping(name: str, value: str) -> dict[str, Any]:
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise ImproperlyConfigured(f'{PREFIX}{name}={value!r}: use a JSON object, e.g. {{"key": "value"}}.')
    return parsed


def _typed(name: str, value: str) -> Any:
    if name.endswith(BOOLEAN_NAMES):
        return _boolean(name, value)
    if name.endswith(INTEGER_NAMES):
        return _integer(name, value)
    if name.endswith(TIMEOUT_NAMES):
        return _timeout(name, value)
    if name.endswith(MAPPING_NAMES):
        return _mapping(name, value)
    return value


def anymail_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """The ANYMAIL dict for `environ` (empty variables are left out)."""
    return {
        key.removeprefix(PREFIX): _typed(key.removeprefix(PREFIX), value)
        for key, value in environ.items()
        if key.startswith(PREFIX) and value
    }
