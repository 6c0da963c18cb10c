"""HTTP client for the arXiv API's Atom query endpoint ({ARXIV_API_BASE}/api/query).

arXiv's terms for the API: at most one request every 3 seconds, on one connection, large
results paged with `start` / `max_results`. This client keeps to them: one `requests.Session`,
a pause before every request that comes less than ARXIV_API_DELAY seconds after the previous
one, pages of ARXIV_API_PAGE_SIZE. `Rate exceeded.` (plain text, no feed), 5xx, timeouts and
connection errors are retried with exponential backoff; a feed whose only entry is titled
`Error` is arXiv's way of saying the query is wrong, and is raised as ArxivQueryError.
Feeds are parsed by feedparser.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import feedparser
import requests
from django.conf import settings

logger = logging.getLogger(__name__)

USER_AGENT = "Paperboy/0.1 (daily research digest; one request every 3 s)"
MAX_PAGES = 200  # a server that ignores `start` must not keep us paging forever
MAX_PAGE_BYTES = 50 * 1024 * 1024


class ArxivError(Exception):
    """The arXiv API could not be read."""


class ArxivUnavailable(ArxivError):
    """Rate limited, 5xx, timeouts or connection errors on every attempt."""


class ArxivQueryError(ArxivError):
    """arXiv refused the query (a 4xx, or a feed whose only entry is `Error`)."""


@dataclass
class Page:
    """One page of a query: its raw feedparser entries and the total the feed announces."""

    start: int
    entries: list[Any]
    total: int


class ArxivClient:
    def __init__(
        self,
        *,
        base_url: str | None = None,
        page_size: int | None = None,
        delay: float | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        backoff: float | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = (base_url or settings.ARXIV_API_BASE).rstrip("/")
        self.page_size = page_size or settings.ARXIV_API_PAGE_SIZE
        self.delay = settings.ARXIV_API_DELAY if delay is None else delay
        self.timeout = settings.ARXIV_API_TIMEOUT if timeout is None else timeout
        self.retries = settings.ARXIV_API_RETRIES if retries is None else retries
        self.backoff = settings.ARXIV_API_BACKOFF if backoff is None else backoff
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)
        self._sleep, self._clock = sleep, clock
        self._last_request: float | None = None
        self.requests_made = 0

    @property
    def url(self) -> str:
        return f"{self.base_url}/api/query"

    def pages(self, search_query: str) -> Iterator[Page]:
        """Every page of `search_query`, newest submissions first, until the announced total
        or a short page."""
        start = 0
        for _ in range(MAX_PAGES):
            page = self.get_page(search_query, start=start)
            if page.entries:
                yield page
            start += len(page.entries)
            if len(page.entries) < self.page_size or start >= page.total:
                return
        logger.warning("arXiv API: stopped after %s pages for %s", MAX_PAGES, search_query)

    def get_page(self, search_query: str, *, start: int) -> Page:
        params: dict[str, str | int] = {
            "search_query": search_query,
            "start": start,
            "max_results": self.page_size,
            "sortBy": "submittedDate",
            "sortOrder": "descending",
        }
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(self.backoff * 2 ** (attempt - 1))
            self._keep_pace()
            try:
                response = self.session.get(self.url, params=params, timeout=self.timeout)
            except (requests.Timeout, requests.ConnectionError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                problem = self._transient(response)
                if not problem:
                    return self._page(response, start)
            logger.info("arXiv API start=%s attempt %s: %s", start, attempt + 1, problem)
        raise ArxivUnavailable(
            f"arXiv API unavailable at start={start} after {self.retries + 1} attempts ({problem})"
        )

    def _keep_pace(self) -> None:
        """Wait until `delay` seconds have passed since the previous request began."""
        now = self._clock()
        if self._last_request is not None and now - self._last_request < self.delay:
            self._sleep(self.delay - (now - self._last_request))
        self._last_request = self._clock()
        self.requests_made += 1

    @staticmethod
    def _transient(response: requests.Response) -> str:
        """Why this answer is worth retrying ("" when it is not)."""
        if response.status_code >= 500 or response.status_code == 429:
            return f"HTTP {response.status_code}"
        if response.status_code < 400 and response.content.lstrip()[:14].lower() == b"rate exceeded.":
            return "Rate exceeded."
        return ""

    def _page(self, response: requests.Response, start: int) -> Page:
        if response.status_code >= 400:
            raise ArxivQueryError(f"arXiv API answered {response.status_code}: {response.text[:200]}")
        if len(response.content) > MAX_PAGE_BYTES:
            raise ArxivError(f"arXiv API sent more than {MAX_PAGE_BYTES} bytes for one page")
        feed = feedparser.parse(response.content)
        if feed.bozo:  # not XML, or cut short: nothing on this page can be trusted
            raise ArxivError(f"arXiv API sent a broken feed at start={start} ({feed.bozo_exception})")
        if "opensearch_totalresults" not in feed.feed:
            raise ArxivError(f"arXiv API sent something that is not an arXiv Atom feed at start={start}")
        entries = list(feed.entries)
        if len(entries) == 1 and str(entries[0].get("title", "")).strip() == "Error":
            detail = " ".join(str(entries[0].get("summary", "")).split())
            raise ArxivQueryError(f"arXiv API refused the query: {detail or 'no detail'}")
        try:
            total = int(feed.feed["opensearch_totalresults"])
        except (TypeError, ValueError) as exc:
            raise ArxivError(f"arXiv API sent a feed without a usable total at start={start}") from exc
        return Page(start=start, entries=entries, total=total)
