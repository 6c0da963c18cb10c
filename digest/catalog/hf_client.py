"""HTTP client for the Hugging Face daily-papers JSON API.

GET {HF_API_BASE}/api/daily_papers?date=YYYY-MM-DD&p=<page>&limit=<size> returns a
JSON list of items (at most 100 a page: the API answers 400 to a larger `limit`).
Timeouts, connection errors, 429 and 5xx are retried with exponential backoff; a 400 for
today or a later day means HF has not opened that day yet (HFDayNotOpen); any other 4xx
is a clear HFClientError, never retried.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import requests
from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)

MAX_PAGES = 100  # a server that ignores `p` must not keep us paging forever
# A page of 100 items is well under 1 MB; a bigger answer is broken, not data.
MAX_PAGE_BYTES = 5 * 1024 * 1024
USER_AGENT = "Paperboy/0.1 (daily research digest)"


class HFError(Exception):
    """The daily-papers API could not be read."""


class HFClientError(HFError):
    """The API refused the request (4xx): retrying will not help."""

    def __init__(self, status: int, url: str, detail: str = "") -> None:
        self.status = status
        super().__init__(f"daily-papers API answered {status} for {url}" + (f": {detail}" if detail else ""))


class HFDayNotOpen(HFError):
    """HF answered 400 for today or a later day: it has not opened that day yet."""


class HFUnavailable(HFError):
    """Timeouts, connection errors or 5xx on every attempt."""


class HFClient:
    def __init__(
        self,
        *,
        base_url: str | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        page_size: int | None = None,
        backoff: float | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = (base_url or settings.HF_API_BASE).rstrip("/")
        self.timeout = settings.HF_API_TIMEOUT if timeout is None else timeout
        self.retries = settings.HF_API_RETRIES if retries is None else retries
        self.page_size = min(page_size or settings.HF_API_PAGE_SIZE, settings.HF_API_PAGE_SIZE_LIMIT)
        self.backoff = getattr(settings, "HF_API_BACKOFF", 1.0) if backoff is None else backoff
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)

    @property
    def url(self) -> str:
        return f"{self.base_url}/api/daily_papers"

    def pages(self, day: dt.date) -> Iterator[list[Any]]:
        """Yield the day's items page by page (p=0, 1, ...) until a short or empty page."""
        previous: list[Any] | None = None
        for page in range(MAX_PAGES):
            items = self.get_page(day, page)
            if items == previous:
                logger.warning("daily-papers API repeated page %s for %s; stopping", page, day)
                return
            if items:
                yield items
            if len(items) < self.page_size:
                return
            previous = items
        logger.warning("daily-papers API: stopped after %s pages for %s", MAX_PAGES, day)

    def get_page(self, day: dt.date, page: int) -> list[Any]:
        """One page of raw items; retries transient failures, raises HFError otherwise."""
        params: dict[str, str | int] = {"date": day.isoformat(), "p": page, "limit": self.page_size}
        last_problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self.session.get(self.url, params=params, timeout=self.timeout, stream=True)
                body = self._read(response) if response.status_code < 400 else b""
            except (requests.Timeout, requests.ConnectionError) as exc:
                last_problem = f"{type(exc).__name__}: {exc}"
                logger.info("daily-papers %s page %s attempt %s: %s", day, page, attempt + 1, last_problem)
                continue
            if response.status_code >= 500 or response.status_code == 429:
                last_problem = f"HTTP {response.status_code}"
                logger.info("daily-papers %s page %s attempt %s: %s", day, page, attempt + 1, last_problem)
                continue
            if response.status_code == 400 and day >= timezone.now().date():
                raise HFDayNotOpen(f"daily-papers API has not opened {day} yet (400)")
            if response.status_code >= 400:
                raise HFClientError(response.status_code, response.url, response.text[:200])
            return self._items(response, body)
        raise HFUnavailable(
            f"daily-papers API unavailable for {day} page {page} after {self.retries + 1} attempts "
            f"({last_problem})"
        )

    def _read(self, response: requests.Response) -> bytes:
        """The whole body within `timeout` seconds and MAX_PAGE_BYTES: a slow drip is a
        timeout (retried), a flood a clear HFError (not retried)."""
        deadline = time.monotonic() + self.timeout
        chunks, size = [], 0
        try:
            while chunk := response.raw.read1(64 * 1024, decode_content=True):
                size += len(chunk)
                if size > MAX_PAGE_BYTES:
                    raise HFError(
                        f"daily-papers API sent more than {MAX_PAGE_BYTES} bytes for one page "
                        f"from {response.url}"
                    )
                if time.monotonic() > deadline:
                    raise requests.Timeout(f"the page took longer than {self.timeout}s to arrive")
                chunks.append(chunk)
        finally:
            response.close()
        return b"".join(chunks)

    @staticmethod
    def _items(response: requests.Response, body: bytes) -> list[Any]:
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise HFError(f"daily-papers API sent something that is not JSON from {response.url}") from exc
        if not isinstance(data, list):
            raise HFError(
                f"daily-papers API sent a {type(data).__name__}, expected a list, from {response.url}"
            )
        return data
