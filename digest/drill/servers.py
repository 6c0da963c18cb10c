"""Servers the drill owns: a PostgreSQL cluster and a Redis of its own (on free loopback
ports, in a temporary directory, removed after), Celery workers and a web server.

The machine's shared PostgreSQL and Redis are never touched: restarting a server is one of
the faults, so the drill restarts only its own.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from django.core.management.base import CommandError

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_listening(port: int, *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise CommandError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def postgres_bindir() -> Path:
    """Where initdb and pg_ctl are: on PATH, or Debian's /usr/lib/postgresql/N/bin (newest)."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise CommandError("the fault drill needs PostgreSQL's server binaries (initdb, pg_ctl)")
    return Path(found[-1]).parent


def _as_postgres() -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres user then."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("runuser"):
        raise CommandError("running as root needs runuser to start PostgreSQL as the postgres user")
    return ["runuser", "-u", "postgres", "--"]


@dataclass
class PostgresCluster:
    """A throwaway cluster: trust auth on 127.0.0.1, fsync off (a drill, not a store)."""

    data: Path
    port: int
    bindir: Path

    @classmethod
    def create(cls, root: Path) -> PostgresCluster:
        data = root / "pg"
        data.mkdir(mode=0o700)
        if os.geteuid() == 0:
            shutil.chown(root, "postgres")
            shutil.chown(data, "postgres")
        cluster = cls(data=data, port=free_port(), bindir=postgres_bindir())
        cluster._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        cluster.start()
        return cluster

    def _run(self, tool: str, *args: str) -> None:
        command = [*_as_postgres(), str(self.bindir / tool), *args]
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - fixed tools
        if result.returncode != 0:
            raise CommandError(f"{tool} failed: {result.stderr.strip() or result.stdout.strip()}")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data} -c fsync=off -c max_connections=200"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.data / "server.log"), "-o", options, "-w", "start"
        )

    def stop(self, *, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, *, down_for: float) -> None:
        """Stop (fast: open connections are cut), stay down `down_for` seconds, start."""
        self.stop()
        time.sleep(down_for)
        self.start()

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def remove(self) -> None:
        with contextlib.suppress(CommandError):
            self.stop(mode="immediate")


@dataclass
class RedisServer:
    """A Redis without persistence: a restart loses everything, as such a production one would."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def create(cls, root: Path) -> RedisServer:
        if not shutil.which("redis-server"):
            raise CommandError("the fault drill needs redis-server on PATH")
        server = cls(port=free_port(), directory=root)
        server.start()
        return server

    def start(self) -> None:
        command = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self.directory),
        ]  # fmt: skip
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # noqa: S603 - fixed command
        wait_listening(self.port)

    def stop(self) -> None:
        """SHUTDOWN NOSAVE (whoever started it), then wait until the port is free."""
        import redis

        with contextlib.suppress(redis.RedisError):
            redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5).shutdown(nosave=True)
        if self.process is not None:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.3).close()
            except OSError:
                return
            time.sleep(0.1)

    def restart(self, *, down_for: float) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()

    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def stop_process(process: subprocess.Popen[bytes], *, kill: bool = False, timeout: float = 20.0) -> None:
    """SIGTERM (or SIGKILL) a process group; SIGKILL if it outlives `timeout`."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def start_worker(name: str, logs: Path, *, concurrency: int = 2) -> subprocess.Popen[bytes]:
    """A Celery worker on the drill's broker and database (the environment says which)."""
    command = [
        str(BIN / "celery"), "-A", "config", "worker", "--pool=prefork", f"--concurrency={concurrency}",
        f"--hostname={name}@%h", "--without-gossip", "--without-mingle", "--loglevel=INFO",
    ]  # fmt: skip
    log = (logs / f"{name}.log").open("ab")
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # noqa: S603 - fixed command


def wait_ready(log: Path, *, timeout: float = 60.0) -> None:
    """Until a worker's log says it is ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and " ready." in log.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise CommandError(f"a Celery worker did not start (see {log})")


def start_web(port: int, logs: Path) -> subprocess.Popen[bytes]:
    """gunicorn serving the site (the ESP stand-in posts its tracking webhooks here)."""
    command = [str(BIN / "gunicorn"), "config.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "2"]
    log = (logs / "web.log").open("ab")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # noqa: S603 - fixed command
    wait_listening(port)
    return process
