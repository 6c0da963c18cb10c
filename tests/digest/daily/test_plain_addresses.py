"""Plain recipient addresses are read from their parts, with the same result as anymail's parser."""

from __future__ import annotations

import logging
import re
import string

import pytest
from anymail.backends.base import BasePayload
from anymail.exceptions import AnymailInvalidAddress
from anymail.message import AnymailMessage
from anymail.utils import parse_address_list
from django.core import mail
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.daily import plain_addresses
from digest.daily.plain_addresses import PLAIN, install, recipients, uninstall
from tests.sent_mail import anymail_message, esp_params

ATEXT = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"
atom = st.text(alphabet=ATEXT, min_size=1, max_size=12)
label = st.from_regex(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,10}[A-Za-z0-9])?", fullmatch=True)
plain = st.builds(
    lambda local, labels: f"{'.'.join(local)}@{'.'.join(labels)}",
    st.lists(atom, min_size=1, max_size=3),
    st.lists(label, min_size=2, max_size=4),
)
# Anything a reader's address field could hold, plain or not: quotes, names, commas, spaces,
# non-ASCII, double dots, a domain without a dot.
messy = st.text(alphabet=ATEXT + ' .@"<>(),;:[]\\éü\u00a0', max_size=30)


def _same(addresses: list[str]) -> None:
    """recipients() gives what anymail's parser gives, or raises what it raises."""
    try:
        expected = parse_address_list(addresses, field="to")
    except AnymailInvalidAddress as error:
        with pytest.raises(AnymailInvalidAddress, match=f"^{re.escape(str(error))}$"):
            recipients(addresses)
        return
    got = recipients(addresses)
    assert got == expected
    assert [(a.display_name, a.addr_spec, a.address) for a in got] == [
        (a.display_name, a.addr_spec, a.address) for a in expected
    ]


@settings(max_examples=400, deadline=None)
@given(st.lists(plain, min_size=1, max_size=5))
def test_plain_addresses_match_anymails_parser(addresses: list[str]) -> None:
    assert all(PLAIN.fullmatch(a) for a in addresses)
    _same(addresses)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(plain, messy), min_size=0, max_size=4))
def test_any_address_list_matches_anymails_parser(addresses: list[str]) -> None:
    _same(addresses)


@pytest.mark.parametrize(
    "addresses",
    [
        ["Ada Lovelace <ada@example.com>"],
        ["ada@example.com", '"quoted local"@example.com'],
        ["a..b@example.com"],
        ["a.@example.com"],
        [".a@example.com"],
        ["ada@example.com."],
        ["ada@-example.com"],
        ["ADA@EXAMPLE.COM", "o'neil@x.io"],
        ["ada@localhost"],
        ["ada@exämple.com"],
        ["ada@example.com, bob@example.com"],
        ["not an address"],
        [""],
        [],
    ],
)
def test_edge_cases_give_what_anymail_gives(addresses: list[str]) -> None:
    _same(addresses)


def test_a_not_plain_address_in_the_list_sends_the_whole_list_through_anymail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[list[str]] = []

    def spy(value: list[str], field: str | None = None) -> object:
        calls.append(value)
        return parse_address_list(value, field=field)

    monkeypatch.setattr(plain_addresses, "parse_address_list", spy)
    assert [a.addr_spec for a in recipients(["ada@example.com", "bob@example.com"])] == [
        "ada@example.com",
        "bob@example.com",
    ]
    assert calls == []
    named = recipients(["ada@example.com", "Bob <bob@example.com>"])
    assert calls == [["ada@example.com", "Bob <bob@example.com>"]]
    assert [a.display_name for a in named] == ["", "Bob"]


def test_an_invalid_address_keeps_anymails_error_naming_the_field() -> None:
    with pytest.raises(AnymailInvalidAddress, match="in `to`"):
        recipients(["ada@example.com", "not@valid@address"])


@pytest.mark.usefixtures("anymail_backend")
def test_the_app_installs_it_and_a_batch_send_reaches_the_esp_with_every_recipient() -> None:
    assert tuple(e[0] for e in BasePayload.base_message_attrs if e[2] is recipients) == ("to",)
    message = AnymailMessage(
        subject="s", body="b", from_email="Paperboy <digest@example.com>",
        to=["ada@example.com", "bob.b+tag@mail.example.org"],
    )  # fmt: skip
    message.merge_data = {"ada@example.com": {"x": "1"}, "bob.b+tag@mail.example.org": {"x": "2"}}
    message.send()
    both = ["ada@example.com", "bob.b+tag@mail.example.org"]
    assert [a.addr_spec for a in esp_params(mail.outbox[0])["to"]] == both
    assert set(anymail_message(mail.outbox[0]).anymail_status.recipients) == set(both)


def test_install_leaves_an_anymail_that_reads_recipients_otherwise_alone(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    uninstall()
    try:
        other = (*(e for e in BasePayload.base_message_attrs if e[0] != "to"), ("to", None, None))
        monkeypatch.setattr(BasePayload, "base_message_attrs", other)
        with caplog.at_level(logging.WARNING, logger="digest.daily.anymail_converters"):
            assert install() is False
        assert BasePayload.base_message_attrs == other
        assert "reads recipients differently" in caplog.text
    finally:
        monkeypatch.undo()
        assert install() is True
    assert install() is True  # idempotent
    assert sum(1 for e in BasePayload.base_message_attrs if e[0] == "to") == 1
