"""Recipient addresses read without anymail's full parser when they are plain.

anymail turns every `to` address of a message into an `EmailAddress` with two passes of the
standard library's RFC 5322 parsers (`email.utils.getaddresses`, then `email.headerregistry`):
about 40-60 us an address here, a third of a batch sender's time at a million readers, for
addresses that are all of the form `local@domain` (what sign-up stores; no display name, no
quoting, no comments).

`install()` puts a converter in front of anymail's for the `to` field: when every address of
a message is plain (a dot-atom local part at an ASCII host name), it builds the same
`EmailAddress` objects from their two parts, which needs no parsing; any other address sends
the whole list through anymail's own parser, unchanged, with its error messages. Both give
equal objects (`tests/digest/daily/test_plain_addresses.py` compares them on generated
addresses). The converter goes in only where anymail's payload still lists
`("to", concat_lists, parse_address_list)`: an anymail release that reads recipients
differently is left alone, with a warning.
"""

from __future__ import annotations

import re
from typing import Any

from anymail.utils import EmailAddress, concat_lists, parse_address_list

from digest.daily import anymail_converters

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
PLAIN = re.compile(rf"({_ATOM}(?:\.{_ATOM})*)@({_LABEL}(?:\.{_LABEL})+)")


def recipients(value: Any) -> list[EmailAddress]:
    """anymail's `parse_address_list(value, field="to")`, made from parts when every address
    in `value` (a list of strings) is plain."""
    if type(value) is list:
        parsed = []
        for address in value:
            match = PLAIN.fullmatch(address) if type(address) is str else None
            if match is None:
                break
            parsed.append(EmailAddress(username=match[1], domain=match[2]))
        else:
            return parsed
    return parse_address_list(value, field="to")


_ANYMAIL_TO = ("to", concat_lists, parse_address_list)


def install() -> bool:
    """Put `recipients` in anymail's payloads for `to` (idempotent). False when this anymail
    does not read recipients the way it was written for (nothing is changed then)."""
    return anymail_converters.replace(
        "base_message_attrs",
        _ANYMAIL_TO,
        recipients,
        warning="anymail reads recipients differently: plain addresses go through its parser",
    )


def uninstall() -> None:
    """anymail's own parser for `to` again (tests)."""
    anymail_converters.restore("base_message_attrs", _ANYMAIL_TO, recipients)
