"""One drill run: a day's digests to N readers through real workers with one fault injected,
healed on a simulated clock until every reader is settled, counted against the stand-in.

The simulated clock. Workers stamp rows with the real time; healing compares those stamps
with the real time. Moving time forward by M minutes therefore means moving the stamps of
every row back by M minutes, except a claim young enough that its sender may still be at
work (claimed within CELERY_TASK_TIME_LIMIT): the system's own invariant (a sender never
outlives its hard time limit) is what makes that safe, and it is what the drill relies on.
The drill moves the clock only when the pipeline is quiet (no row written for a while),
then runs the healing task, as beat would every DIGEST_HEAL_EVERY_MINUTES.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import itertools
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, connections
from django.db.models import Max

from digest.daily.receivers import SETTLED_BY_ESP
from digest.drill.esp import StandIn
from digest.drill.servers import PostgresCluster, RedisServer, start_worker, stop_process, wait_ready
from digest.models import Delivery, Edition
from subscriptions.models import EmailEvent, Subscriber

T = TypeVar("T")
OPEN = (Delivery.Status.QUEUED, Delivery.Status.SENDING, Delivery.Status.UNCERTAIN)
QUIET_SECONDS = 1.5
MAX_QUIET_WAIT = 30.0
MAX_STEPS = 48  # four simulated hours of healing


def with_database(action: Callable[[], T], *, patience: float = 90.0) -> T:
    """Run a database action, reconnecting while the server restarts (a drill fault)."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return action()
        except (OperationalError, InterfaceError):
            if time.monotonic() > deadline:
                raise
            connections.close_all()
            time.sleep(0.5)


@dataclass
class Outcome:
    fault: str
    readers: int
    accepted: int = 0
    lost: int = 0
    duplicated: int = 0
    skipped: int = 0
    settled_by_esp: int = 0
    careful_retries: int = 0
    failed: int = 0
    open_rows: int = 0
    simulated_minutes: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.duplicated == 0


@dataclass
class Drill:
    """The servers, the stand-in, the workers, and the simulated clock of one drill."""

    readers: int
    esp: StandIn
    postgres: PostgresCluster
    redis: RedisServer
    logs: Path
    say: Callable[[str], object] = print
    shifted_minutes: int = 0
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _names: itertools.count[int] = field(default_factory=itertools.count)

    # --- workers ------------------------------------------------------------------

    def start_worker(self) -> None:
        name = f"drill{next(self._names)}"
        self.workers.append(start_worker(name, self.logs))
        wait_ready(self.logs / f"{name}.log")

    def kill_worker(self) -> None:
        """SIGKILL the first worker's whole process group (no goodbye, no acks) and start
        a replacement, as a supervisor would."""
        stop_process(self.workers.pop(0), kill=True)
        self.start_worker()

    def stop_workers(self) -> None:
        for worker in self.workers:
            stop_process(worker)
        self.workers.clear()

    # --- state ----------------------------------------------------------------------

    def reset(self) -> None:
        """A clean day: no deliveries, editions or events; an empty broker and cache."""
        import redis

        def clear() -> None:
            EmailEvent.objects.all().delete()
            Delivery.objects.all().delete()
            Edition.objects.all().delete()

        with_database(clear)
        redis.Redis(host="127.0.0.1", port=self.redis.port).flushall()
        self.esp.reset()
        self.shifted_minutes = 0

    def accepted_share(self) -> float:
        return len(self.esp.accepted) / max(self.readers, 1)

    def wait_for_share(self, share: float, *, timeout: float = 120.0) -> None:
        """Until the stand-in accepted `share` of the readers (the moment a fault strikes)."""
        deadline = time.monotonic() + timeout
        while self.accepted_share() < share and time.monotonic() < deadline:
            time.sleep(0.05)

    # --- the simulated clock --------------------------------------------------------

    def advance(self, minutes: int) -> None:
        """Move time forward: every row's stamps go back `minutes`, but a claim that may
        still have a live sender (younger than the hard time limit) is left alone."""
        table = Delivery._meta.db_table
        live = settings.CELERY_TASK_TIME_LIMIT or 0

        def shift() -> None:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET updated_at = updated_at - make_interval(mins => %s), "  # noqa: S608 - our table name
                    "claimed_at = claimed_at - make_interval(mins => %s) "
                    "WHERE NOT (status = %s AND claimed_at > now() - make_interval(secs => %s))",
                    [minutes, minutes, Delivery.Status.SENDING, live],
                )

        with_database(shift)
        self.shifted_minutes += minutes

    def wait_quiet(self) -> None:
        """Until no row was written and the stand-in took no call for QUIET_SECONDS."""
        deadline = time.monotonic() + MAX_QUIET_WAIT
        last_calls, since = self.esp.calls, time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.25)
            latest = with_database(lambda: Delivery.objects.aggregate(last=Max("updated_at"))["last"])
            calls = self.esp.calls
            if calls != last_calls:
                last_calls, since = calls, time.monotonic()
            written_ago = (dt.datetime.now(dt.UTC) - latest).total_seconds() if latest else 1e9
            if min(written_ago, time.monotonic() - since) >= QUIET_SECONDS:
                return

    def heal(self) -> None:
        """What beat runs every DIGEST_HEAL_EVERY_MINUTES (in this process, sending through
        the broker); a broker or database still coming back is waited for."""
        from digest.tasks import heal_deliveries

        deadline = time.monotonic() + 60
        while True:
            try:
                heal_deliveries()
                return
            except Exception as error:  # broker or database restarting: try again shortly
                if time.monotonic() > deadline:
                    raise
                self.say(f"  heal waits: {type(error).__name__}")
                connections.close_all()
                time.sleep(1)

    def open_rows(self) -> int:
        return with_database(lambda: Delivery.objects.filter(status__in=OPEN).count())

    def heal_until_settled(self) -> None:
        step = settings.DIGEST_HEAL_EVERY_MINUTES
        for _ in range(MAX_STEPS):
            self.wait_quiet()
            if self.open_rows() == 0 and Delivery.objects.exists():
                return
            self.advance(step)
            self.heal()

    # --- counting -------------------------------------------------------------------

    def count(self, fault: str, started: float) -> Outcome:
        time.sleep(1.0)  # the last webhooks
        received = self.esp.per_recipient()
        outcome = Outcome(fault=fault, readers=self.readers)
        outcome.accepted = sum(received.values())
        statuses = dict(
            with_database(
                lambda: list(
                    Delivery.objects.values_list("subscriber__email", "status").order_by("subscriber__email")
                )
            )
        )
        for address in Subscriber.objects.values_list("email", flat=True):
            got = received.get(email.utils.parseaddr(address)[1].lower(), 0)
            if statuses.get(address) == Delivery.Status.SKIPPED and got == 0:
                outcome.skipped += 1
                continue
            outcome.lost += got == 0
            outcome.duplicated += max(got - 1, 0)
        outcome.settled_by_esp = Delivery.objects.filter(note=SETTLED_BY_ESP).count()
        outcome.careful_retries = (
            Delivery.objects.filter(unknown_outcomes__gte=1, status=Delivery.Status.SENT)
            .exclude(note=SETTLED_BY_ESP)
            .count()
        )
        outcome.failed = Delivery.objects.filter(status=Delivery.Status.FAILED).count()
        outcome.open_rows = self.open_rows()
        outcome.simulated_minutes = self.shifted_minutes
        outcome.seconds = time.monotonic() - started
        return outcome
