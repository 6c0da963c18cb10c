"""Shared fixtures. Tests run on SQLite by default and on PostgreSQL / Redis when
DATABASE_URL / REDIS_URL are set (as CI sets them)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (CI=true) a skipped test is a failure: PostgreSQL, Redis and chromium must be there."""
    outcome = yield
    report = outcome.get_result()
    if (
        os.environ.get("CI", "").lower() in {"1", "true", "yes"}
        and report.skipped
        and not hasattr(report, "wasxfail")
    ):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where nothing may be skipped: {reason}"


@pytest.fixture(autouse=True)
def _outbox_in_tmp(settings, tmp_path: Path) -> Path:
    """Never write test emails into the real var/outbox/."""
    outbox_dir = tmp_path / "outbox"
    settings.EMAIL_OUTBOX_DIR = outbox_dir
    return outbox_dir


@pytest.fixture(scope="session")
def _evaluation_set_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped labelled set without its `train` part: the `tune` and `heldout` papers."""
    import json

    from digest.catalog.labelled import DEFAULT_SET

    lines = DEFAULT_SET.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if line.strip() and json.loads(line).get("split") != "train"]
    path = tmp_path_factory.mktemp("labelled") / "papers.jsonl"
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _matcher_learns_from_the_tune_part(settings, monkeypatch, _evaluation_set_only: Path) -> None:
    """Tests that train the matcher (load_seeds, an editor's decision, a topic edit) learn from
    the 2,729 `tune` papers (15-60 s a model here); the `train` papers (two to three minutes
    a model) are for the shipped matcher, measured by evaluate_matching. The environment says
    so too, for the commands and workers a test starts in processes of their own."""
    settings.MATCHING_LABELLED_SET = _evaluation_set_only
    monkeypatch.setenv("MATCHING_LABELLED_SET", str(_evaluation_set_only))


@pytest.fixture
def anymail_backend(settings):
    """Route mail through anymail's test backend (records what the ESP would receive)."""
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.ANYMAIL = {**settings.ANYMAIL, "TEST_SEND_DEFAULTS": {}}


@pytest.fixture(autouse=True)
def _eager_celery_and_clean_cache():
    """Tasks run in-process unless a test starts a real worker (see tests/celery_worker.py);
    the cache (rate limits) starts empty, also when it is a shared Redis."""
    from django.core.cache import cache, caches

    from config.celery_app import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    cache.clear()
    caches["near"].clear()
    yield
    app.conf.task_always_eager = previous


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    """Headless Debian chromium driven by Playwright (never `playwright install`)."""
    if not CHROMIUM.exists():
        pytest.skip("browser test needs Debian chromium at /usr/bin/chromium (make browser)")

    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the
    # tests make between page actions are still synchronous and safe.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            instance = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield instance
            instance.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    """A fresh browser context and page per test (no shared cookies)."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()
