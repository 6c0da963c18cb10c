"""A synthetic arXiv announcement served from 127.0.0.1 for `bench_ingest`: Atom pages of the
real shape (versioned ids, hard-wrapped titles and abstracts, categories, comments, DOIs),
answering `start` / `max_results` like the arXiv API."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from digest.bench.data import WORDS

CATEGORIES = ("cs.CL", "cs.LG", "cs.CV", "cs.AI", "stat.ML", "cs.IR", "eess.AS", "cs.SD")
FILLER = [
    "we", "propose", "a", "method", "that", "improves", "results", "on", "standard", "benchmarks",
    "while", "using", "fewer", "resources", "and", "we", "release", "code", "and", "models", "to",
    "support", "further", "work", "on", "this", "problem",
]  # fmt: skip


def entries(count: int, *, seed: int = 7) -> list[str]:
    """`count` Atom entries, each about two to four of the bench topics' words."""
    rng = random.Random(seed)
    found = []
    for n in range(count):
        topic_words = rng.sample(WORDS, rng.randint(2, 4))
        title = f"{topic_words[0].title()} {topic_words[1]} for\n  {' '.join(rng.sample(FILLER, 4))} {n}"
        abstract = " ".join(rng.sample(FILLER, 20) + topic_words + rng.sample(FILLER, 12))
        wrapped = "\n".join(abstract[i : i + 78] for i in range(0, len(abstract), 78))
        primary, *cross = rng.sample(CATEGORIES, rng.randint(1, 3))
        categories = "".join(
            f'<category term="{c}" scheme="http://arxiv.org/schemas/atom"/>' for c in (primary, *cross)
        )
        found.append(
            f"""<entry><id>http://arxiv.org/abs/2612.{n:05d}v{rng.randint(1, 2)}</id>
<updated>2026-12-01T10:00:00Z</updated><published>2026-11-30T17:{n % 60:02d}:00Z</published>
<title>{escape(title)}</title><summary>{escape(wrapped)}</summary>
<author><name>Author {n} One</name></author><author><name>Author {n} Two</name></author>
<arxiv:comment>{rng.randint(5, 40)} pages</arxiv:comment><arxiv:doi>10.5555/bench.{n}</arxiv:doi>
<link href="http://arxiv.org/abs/2612.{n:05d}" rel="alternate" type="text/html"/>
<link title="pdf" href="http://arxiv.org/pdf/2612.{n:05d}" rel="related" type="application/pdf"/>
<arxiv:primary_category term="{primary}" scheme="http://arxiv.org/schemas/atom"/>{categories}</entry>"""
        )
    return found


def page(all_entries: list[str], start: int, size: int) -> bytes:
    chunk = all_entries[start : start + size]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom">'
        f"<title>ArXiv Query: bench</title><id>http://arxiv.org/api/bench</id>"
        f"<updated>2026-12-01T00:00:00-05:00</updated>"
        f"<opensearch:totalResults>{len(all_entries)}</opensearch:totalResults>"
        f"<opensearch:startIndex>{start}</opensearch:startIndex>"
        f"<opensearch:itemsPerPage>{len(chunk)}</opensearch:itemsPerPage>{''.join(chunk)}</feed>"
    ).encode()


@contextmanager
def serving(all_entries: list[str]) -> Iterator[str]:
    """A loopback HTTP server answering /api/query from `all_entries`; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlparse(self.path).query)
            start = int(query.get("start", ["0"])[0])
            size = int(query.get("max_results", ["10"])[0])
            body = page(all_entries, start, size)
            self.send_response(200)
            self.send_header("Content-Type", "application/atom+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
