"""Per-recipient merge data copied without anymail's lazy-string walk when it is plain text.

anymail reads a batch message's `merge_data` and `merge_metadata` ({recipient: {name: value}})
through `force_non_lazy_dict`, which copies them with a recursive walk that learns a value is
not a dict by catching the AttributeError of `value.items()`: one exception per merge value,
about 6 us a recipient of a digest (a dozen values each), every recipient of every batch.

The senders' merge values are plain `str` (links, tokens, a personal digest's cards). `values`
checks that (exact types: a lazy translation string is not a `str`) and copies the two levels;
anything else goes through `force_non_lazy_dict` unchanged. Both give equal, fresh dicts
(`tests/digest/daily/test_plain_merge_data.py` compares them). Installed like
`plain_addresses`, only where anymail's entries are still the pinned release's.
"""

from __future__ import annotations

from typing import Any

from anymail.utils import force_non_lazy_dict, merge_dicts_one_level

from digest.daily import anymail_converters

_ANYMAIL = (
    ("merge_data", merge_dicts_one_level, force_non_lazy_dict),
    ("merge_metadata", merge_dicts_one_level, force_non_lazy_dict),
)


def values(value: Any) -> Any:
    """`force_non_lazy_dict(value)`, copied level by level when `value` is a dict of dicts of
    `str`."""
    if type(value) is dict:
        copied = {}
        for recipient, merge in value.items():
            if type(merge) is not dict or any(type(v) is not str for v in merge.values()):
                break
            copied[recipient] = merge.copy()
        else:
            return copied
    return force_non_lazy_dict(value)


def install() -> bool:
    """Put `values` in anymail's payloads for merge_data and merge_metadata (idempotent).
    False when this anymail reads either otherwise (that one is left as it is)."""
    done = [
        anymail_converters.replace(
            "anymail_message_attrs",
            entry,
            values,
            warning=f"anymail reads {entry[0]} differently: it keeps its own lazy-string walk",
        )
        for entry in _ANYMAIL
    ]
    return all(done)


def uninstall() -> None:
    """anymail's own converters again (tests)."""
    for entry in _ANYMAIL:
        anymail_converters.restore("anymail_message_attrs", entry, values)
