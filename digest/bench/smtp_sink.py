"""The benchmark's SMTP sink: aiosmtpd's SMTP server with its Sink handler (accepts and
drops every message), listening on 127.0.0.1:PORT.

`bench_digest --workers W` starts one per worker, as a mail relay serves concurrent sessions
in parallel, so the sink is not one single-threaded process that every worker waits on.

    python -m digest.bench.smtp_sink PORT
"""

from __future__ import annotations

import asyncio
import sys

from aiosmtpd.handlers import Sink
from aiosmtpd.smtp import SMTP


async def serve(port: int, host: str = "127.0.0.1") -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Sink(), hostname="sink.localhost"), host=host, port=port)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        raise SystemExit("usage: python -m digest.bench.smtp_sink PORT")
    asyncio.run(serve(int(args[0])))


if __name__ == "__main__":
    main()
