"""Break the daily run on purpose and count: one row per fault, `lost` and `duplicated`
against what the ESP stand-in accepted; exit 1 unless both are 0 everywhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from digest.drill.faults import BY_NAME, FAULTS, run
from digest.drill.report import table
from digest.drill.runner import Drill, Outcome
from digest.drill.servers import PostgresCluster, RedisServer, free_port, start_web, stop_process
from digest.drill.setup import CHILD, DATABASE, child_environment, make_readers
from digest.management.commands._args import positive_int


def fault_names(value: str) -> list[str]:
    names = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [name for name in names if name not in BY_NAME]
    if unknown or not names:
        raise ValueError(f"unknown faults {unknown}; choose from {', '.join(BY_NAME)}")
    return names


class Command(BaseCommand):
    help = (
        "Run the day's digests on real Celery workers, a PostgreSQL cluster and a Redis of the "
        "drill's own, and a loopback ESP stand-in; inject each fault, heal on a simulated clock, "
        "print lost and duplicated digests per fault. Exit 1 if any is not 0."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--readers", type=positive_int, default=300)
        parser.add_argument(
            "--faults",
            type=fault_names,
            default=[fault.name for fault in FAULTS],
            help="comma-separated, from: " + ", ".join(BY_NAME),
        )
        parser.add_argument("--logs", type=Path, help="keep the servers' and workers' logs in this folder")

    def handle(self, *args: Any, readers: int, faults: list[str], logs: Path | None, **options: Any) -> None:
        if os.environ.get(CHILD):
            self._drill(readers, faults)
            return
        root = Path(tempfile.mkdtemp(prefix="paperboy-drill-"))
        root.chmod(0o755)
        postgres: PostgresCluster | None = None
        redis: RedisServer | None = None
        code = 1
        try:
            self.stderr.write("Starting a PostgreSQL cluster and a Redis of the drill's own…")
            postgres = PostgresCluster.create(root)
            redis = RedisServer.create(root)
            _create_database(postgres)
            env = {
                **os.environ,
                **child_environment(postgres, redis, root=root, esp_port=free_port(), web_port=free_port()),
            }
            command = [sys.executable, "manage.py", "fault_drill", "--readers", str(readers)]
            command += ["--faults", ",".join(faults)]
            code = subprocess.call(command, cwd=settings.BASE_DIR, env=env)  # noqa: S603 - this command
        finally:
            if redis is not None:
                redis.stop()
            if postgres is not None:
                postgres.remove()
            if logs is not None:
                logs.mkdir(parents=True, exist_ok=True)
                for log in [*root.glob("logs/*.log"), root / "redis.log", root / "pg" / "server.log"]:
                    if log.exists():
                        shutil.copy(log, logs / log.name)
            shutil.rmtree(root, ignore_errors=True)
        if code:
            raise SystemExit(code)

    def _drill(self, readers: int, names: list[str]) -> None:
        from digest.drill.esp import StandIn, serve

        pg_port, pg_data, pg_bin, redis_port, web_port, esp_port, root = os.environ[CHILD].split(",")
        logs = Path(root) / "logs"
        logs.mkdir(exist_ok=True)
        call_command("migrate", verbosity=0)
        zone = make_readers(readers)
        self.stderr.write(f"{readers} readers due now (zone {zone}); logs in {logs}")
        state = StandIn(
            webhook_url=f"http://127.0.0.1:{web_port}/anymail/postmark/tracking/",
            webhook_auth=settings.ANYMAIL["WEBHOOK_SECRET"],
        )
        server, stop = serve(state, int(esp_port))
        web = start_web(int(web_port), logs)
        drill = Drill(
            readers=readers,
            esp=state,
            postgres=PostgresCluster(data=Path(pg_data), port=int(pg_port), bindir=Path(pg_bin)),
            redis=RedisServer(port=int(redis_port), directory=Path(root)),
            logs=logs,
            say=lambda line: tqdm.write(line, file=sys.stderr),
        )
        outcomes: list[Outcome] = []
        try:
            for name in tqdm(names, desc="faults", unit="fault", file=sys.stderr):
                outcome = run(drill, BY_NAME[name])
                outcomes.append(outcome)
                counts = f"lost {outcome.lost}, duplicated {outcome.duplicated}"
                tqdm.write(f"  {name}: {counts} ({outcome.seconds:.0f} s)", file=sys.stderr)
        finally:
            drill.stop_workers()
            stop_process(web)
            stop.set()
            server.shutdown()
        for line in table(outcomes, {fault.name: fault.what for fault in FAULTS}):
            self.stdout.write(line)
        bad = [o.fault for o in outcomes if not o.ok]
        lost = sum(o.lost for o in outcomes)
        duplicated = sum(o.duplicated for o in outcomes)
        counts = f"lost {lost}, duplicated {duplicated}"
        summary = f"fault drill: {len(outcomes)} faults, {readers} readers each: {counts}"
        self.stdout.write(summary + (f" — FAILED: {', '.join(bad)}" if bad else ""))
        if bad:
            raise SystemExit(1)


def _create_database(postgres: PostgresCluster) -> None:
    import psycopg

    try:
        with psycopg.connect(
            host="127.0.0.1", port=postgres.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
    except psycopg.Error as error:
        raise CommandError(f"could not create the drill's database: {error}") from error
