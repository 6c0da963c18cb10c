"""Argument types shared by the catalog commands."""

from __future__ import annotations

import argparse
import datetime as dt


def iso_day(value: str) -> dt.date:
    """argparse type for YYYY-MM-DD: a bad value is a usage error, not a traceback."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {value!r}") from exc


def positive_int(value: str) -> int:
    """argparse type for a whole number >= 1."""
    try:
        number = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from exc
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {number}")
    return number
