"""The fault tests' readers live where it is midday, so moving the clock on never ends their day."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tests.reliability.conftest import midday_zone


@pytest.mark.parametrize("hour", range(24))
def test_the_readers_zone_is_at_midday_on_the_same_date(hour: int) -> None:
    now = dt.datetime(2026, 12, 4, hour, 50, tzinfo=dt.UTC)
    local = now.astimezone(ZoneInfo(midday_zone(now)))
    assert local.date() == now.date()
    assert local.hour == 12
