"""Signed tokens: the fast TokenMaker / LinkMaker give exactly what make_token and the link
helpers give, and read_token accepts them for their purpose only."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from subscriptions.links import LinkMaker, preferences_url, unsubscribe_url
from subscriptions.tokens import BadToken, Purpose, TokenMaker, make_token, read_token
from tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 7, 59, 58, 700000, tzinfo=dt.UTC)


@pytest.mark.parametrize("purpose", list(Purpose))
def test_token_maker_makes_make_tokens_token_byte_for_byte(purpose):
    readers = [SubscriberFactory(email=f"t{n}@example.com") for n in range(5)]
    maker = TokenMaker(purpose)
    with time_machine.travel(START, tick=False) as clock:
        for step in range(4):  # across second boundaries: the cached timestamp must follow the clock
            for reader in readers:
                assert maker.token(reader.token_key) == make_token(reader, purpose)
            clock.shift(dt.timedelta(milliseconds=600 * (step + 1)))


def test_tokens_of_the_fast_maker_are_read_back_for_their_purpose_only():
    reader = SubscriberFactory()
    token = TokenMaker(Purpose.UNSUBSCRIBE).token(reader.token_key)
    assert read_token(token, Purpose.UNSUBSCRIBE) == reader.token_key
    with pytest.raises(BadToken):
        read_token(token, Purpose.MANAGE)


def test_the_fast_maker_follows_the_secret_key(settings):
    reader = SubscriberFactory()
    with time_machine.travel(START, tick=False):
        before = TokenMaker(Purpose.MANAGE).token(reader.token_key)
        settings.SECRET_KEY = "another-secret-key-" + "x" * 40
        after = TokenMaker(Purpose.MANAGE).token(reader.token_key)
        assert after != before
        assert after == make_token(reader, Purpose.MANAGE)


def test_link_maker_builds_the_same_links_as_subscriptions_links(settings):
    settings.SITE_URL = "https://paperboy.example"
    readers = [SubscriberFactory(email=f"l{n}@example.com") for n in range(3)]
    links = LinkMaker()
    with time_machine.travel(START, tick=False):
        for reader in readers:
            assert links.links(reader.token_key) == (preferences_url(reader), unsubscribe_url(reader))
