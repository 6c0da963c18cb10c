"""Tests run inside a transaction that never commits, so `transaction.on_commit` callbacks
(account emails) wait forever; `committed()` runs them as the block's commit would."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from django.test import TestCase


def committed() -> AbstractContextManager[list[Callable[[], object]]]:
    """Run the on_commit callbacks registered inside the block when it ends."""
    return TestCase.captureOnCommitCallbacks(execute=True)
