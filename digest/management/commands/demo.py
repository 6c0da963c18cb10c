"""`make demo`: the whole story in a few lines — seeds, demo readers, yesterday's and today's
digests for each reader's own local date (as production sends them), and the email to open.

-v 2 also shows the trending papers per topic and every log line.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone
from tqdm import tqdm

from digest.catalog.seeds import SeedPaper, load_seeds
from digest.daily.shell_send import count_due, send_from_shell
from digest.models import Paper
from digest.ops.schedules import install_default_schedules
from subscriptions.models import Subscriber, Topic


def _shown(path: object) -> str:
    """A path relative to the working directory when it lies under it."""
    text = str(path)
    try:
        return str(Path(text).resolve().relative_to(Path.cwd()))
    except ValueError:
        return text


class Command(BaseCommand):
    help = "Load the seeds and demo readers, send their digests for yesterday and today, say where they are."

    def handle(self, *args: Any, **options: Any) -> None:
        verbose = options["verbosity"] >= 2
        quiet = options["verbosity"] < 1
        root = logging.getLogger()
        level = root.level
        if not verbose:
            root.setLevel(logging.WARNING)  # the story, not the log
        try:
            self._story(verbose, quiet)
        finally:
            root.setLevel(level)

    def _story(self, verbose: bool, quiet: bool) -> None:
        self._say(
            f"Paperboy demo: database {_shown(settings.DATABASES['default']['NAME'])}, Celery in-process, "
            f"emails written to {_shown(settings.EMAIL_OUTBOX_DIR)}/"
        )
        self._seeds(quiet)
        if verbose:
            call_command("show_trending", stdout=self.stdout)
        readers = Subscriber.objects.filter(status=Subscriber.Status.ACTIVE)
        before = readers.count()
        call_command("load_demo_readers", stdout=io.StringIO())
        zones = sorted(set(readers.values_list("timezone", flat=True)))
        count = readers.count()
        self._say(f"2/4 Readers: {count} ({count - before} new), in {', '.join(zones)}")
        now = timezone.now()
        self._send(
            "3/4 Yesterday's digests (each reader's local yesterday)", now - dt.timedelta(days=1), quiet
        )
        self._send("4/4 Today's digests (each reader's local today)", now, quiet)
        self._finish()

    def _say(self, line: str) -> None:
        self.stdout.write(line)

    def _bar(self, quiet: bool) -> dict[str, Any]:
        """Progress bars on stderr that leave no line behind once done."""
        return {"file": self.stderr, "disable": quiet, "leave": False}

    def _seeds(self, quiet: bool) -> None:
        def progress(papers: list[SeedPaper]) -> tqdm[SeedPaper]:
            return tqdm(
                papers, desc="    seed papers", unit=" papers", file=self.stderr, disable=quiet, leave=False
            )

        report = load_seeds(progress=progress)
        install_default_schedules()
        days = sorted(set(Paper.objects.values_list("listed_on", flat=True)))
        listed = ", ".join(day.isoformat() for day in days[-2:])
        topics = Topic.objects.filter(is_active=True).count()
        model = "trained" if report.model_trained else "up to date"
        self._say(
            f"1/4 Seeds: {topics} topics, {report.papers} papers listed on {listed} "
            f"({report.papers_created} new; matching model {model})"
        )

    def _send(self, title: str, now: dt.datetime, quiet: bool) -> None:
        due = count_due(now=now, digest_date=None, send_all=True, email=None)
        with tqdm(total=due, desc="    sending", unit=" readers", **self._bar(quiet)) as bar:
            done = send_from_shell(now=now, send_all=True, on_chunk=bar.update)
        if not done.report.due:
            self._say(f"{title}: already sent, nothing to do")
            return
        self._say(f"{title}: {done.sent} sent, {done.report.skipped} with nothing new, {done.failed} failed")

    def _finish(self) -> None:
        outbox = Path(settings.EMAIL_OUTBOX_DIR)
        emails = sorted(outbox.glob("*.eml"), key=lambda path: path.stat().st_mtime)
        self._say(f"Done: {len(emails)} emails in {_shown(outbox)}/")
        if emails:
            self._say(f"Open one in a mail client or a browser: {_shown(emails[-1])}")
        self._say("Browse the site: make run, then http://127.0.0.1:8000/ (papers, search, sign-up)")
        self._say(
            "A second `manage.py send_digests --all` now sends nothing: every reader has today's digest."
        )
