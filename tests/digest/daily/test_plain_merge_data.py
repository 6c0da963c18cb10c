"""Plain merge data is copied without anymail's lazy-string walk, with the same result."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from anymail.backends.base import BasePayload
from anymail.message import AnymailMessage
from anymail.utils import force_non_lazy_dict, merge_dicts_one_level
from django.core import mail
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.daily import plain_merge_data
from digest.daily.plain_merge_data import install, uninstall, values
from tests.sent_mail import esp_params

text = st.text(max_size=8)
leaf = st.one_of(text, text.map(gettext_lazy), st.integers(), st.none(), st.lists(text, max_size=2))
merge = st.dictionaries(text, st.one_of(text, leaf, st.dictionaries(text, leaf, max_size=2)), max_size=4)
plain_merge = st.dictionaries(text, text, max_size=6)


def _no_lazy(obj: Any) -> bool:
    if isinstance(obj, dict):
        return all(_no_lazy(v) for v in obj.values())
    return not isinstance(obj, Promise)


def _same(value: Any) -> None:
    expected = force_non_lazy_dict(value)
    got = values(value)
    assert got == expected
    assert _no_lazy(got)
    if isinstance(value, dict):
        assert got is not value
        for recipient, inner in got.items():
            if isinstance(inner, dict):
                assert inner is not value[recipient]  # a copy: the message's own dicts stay its own


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(text, plain_merge, max_size=5))
def test_plain_merge_data_is_what_anymail_makes_of_it(value: dict[str, dict[str, str]]) -> None:
    _same(value)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.dictionaries(text, st.one_of(merge, leaf), max_size=4), leaf))
def test_any_merge_data_is_what_anymail_makes_of_it(value: Any) -> None:
    _same(value)


def test_a_lazy_value_sends_the_whole_dict_through_anymail(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []

    def spy(value: Any) -> Any:
        calls.append(value)
        return force_non_lazy_dict(value)

    monkeypatch.setattr(plain_merge_data, "force_non_lazy_dict", spy)
    assert values({"ada@example.com": {"x": "1"}}) == {"ada@example.com": {"x": "1"}}
    assert calls == []
    lazy = {"ada@example.com": {"x": "1"}, "bob@example.com": {"x": gettext_lazy("Hello")}}
    assert values(lazy) == {"ada@example.com": {"x": "1"}, "bob@example.com": {"x": "Hello"}}
    assert type(values(lazy)["bob@example.com"]["x"]) is str
    assert len(calls) == 2


@pytest.mark.usefixtures("anymail_backend")
def test_the_app_installs_it_and_the_esp_gets_every_recipients_merge_values() -> None:
    fields = [e[0] for e in BasePayload.anymail_message_attrs if e[2] is values]
    assert fields == ["merge_data", "merge_metadata"]
    message = AnymailMessage(
        subject="s", body="b", from_email="digest@example.com", to=["ada@example.com", "bob@example.com"]
    )
    message.merge_data = {"ada@example.com": {"x": "1"}, "bob@example.com": {"x": gettext_lazy("Hello")}}
    ids = {"ada@example.com": {"delivery_id": "7"}, "bob@example.com": {"delivery_id": "8"}}
    message.merge_metadata = ids
    message.send()
    params = esp_params(mail.outbox[0])
    assert params["merge_data"] == {"ada@example.com": {"x": "1"}, "bob@example.com": {"x": "Hello"}}
    assert type(params["merge_data"]["bob@example.com"]["x"]) is str
    assert params["merge_metadata"] == ids


def test_install_leaves_an_anymail_that_reads_merge_data_otherwise_alone(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    uninstall()
    try:
        theirs = BasePayload.anymail_message_attrs
        assert ("merge_data", merge_dicts_one_level, force_non_lazy_dict) in theirs
        other = tuple(("merge_data", None, None) if e[0] == "merge_data" else e for e in theirs)
        monkeypatch.setattr(BasePayload, "anymail_message_attrs", other)
        with caplog.at_level(logging.WARNING, logger="digest.daily.anymail_converters"):
            assert install() is False
        assert "reads merge_data differently" in caplog.text
        now = BasePayload.anymail_message_attrs
        assert ("merge_data", None, None) in now  # left alone
        assert ("merge_metadata", merge_dicts_one_level, values) in now  # the other one still fits
    finally:
        monkeypatch.undo()
        uninstall()
        assert install() is True
    assert install() is True  # idempotent
    assert sum(1 for e in BasePayload.anymail_message_attrs if e[0] == "merge_data") == 1
