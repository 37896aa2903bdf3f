"""Lazy paging over iMIS ``PagedResult`` envelopes, sync and async.

iMIS pages with ``offset``/``limit``, answers ``Offset``, ``Count``, ``TotalCount``, ``HasNext`` and
``NextOffset``, snaps an offset down to a page boundary and clamps ``limit`` to 500.
:class:`PageCursor` is the pure bookkeeping both pagers share: it numbers every row by its absolute
position, so a snapped or repeated page never yields a row twice, and it follows ``NextOffset`` so
no row is skipped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from imis_tier.client._errors import ImisError
from imis_tier.client._gc import collect_young, gc_paused

T = TypeVar("T")
logger = logging.getLogger("imis_tier.client")

MAX_PAGE_SIZE = 500
"""iMIS serves at most 500 rows a page."""
DEFAULT_PAGE_SIZE = MAX_PAGE_SIZE
READ_AHEAD_MIN_WAIT_S = 0.002
"""Read the next page ahead only when the last page's wait for the server (not the client's own
work reading the answer) took at least this long ..."""
READ_AHEAD_MIN_DECODE_S = 0.010
"""... and its decoding at least this long: handing a page between threads costs about a
millisecond of CPU, so hiding less decoding than this behind the wait is not worth it."""


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results: ``items`` start at absolute row ``offset`` of ``total_count``."""

    items: list[T]
    offset: int
    total_count: int | None
    has_next: bool


def envelope_items(envelope: Any) -> list[Any]:
    """The raw rows of a ``PagedResult`` (``Items.$values``), or of a bare list."""
    if isinstance(envelope, list):
        return envelope
    items = envelope.get("Items", ())
    if isinstance(items, dict):
        return list(items.get("$values", ()))
    return list(items or ())


class PageCursor:
    """Where the next request starts, and which rows of an answer are new.

    ``accept`` takes the envelope answering ``request()`` and returns the rows not yet seen, in
    order. ``done`` turns true on the last page, on an empty page, or once ``max_items`` rows
    have been handed out.
    """

    def __init__(
        self, start: int = 0, limit: int = DEFAULT_PAGE_SIZE, max_items: int | None = None
    ):
        if start < 0:
            raise ValueError(f"offset must not be negative, got {start}")
        if limit < 1:
            raise ValueError(f"limit (the page size) must be at least 1, got {limit}")
        self.limit = min(limit, MAX_PAGE_SIZE)
        self.position = start  # absolute index of the next row to hand out
        self.next_offset = start
        self.max_items = max_items
        self.yielded = 0
        self.done = max_items is not None and max_items <= 0
        self.total_count: int | None = None
        self.page_size: int | None = None  # the server's Limit, after clamping
        self.last_start = start  # absolute index of the first row the last accept returned
        self._stalled = 0

    def request(self) -> tuple[int, int]:
        """``(offset, limit)`` for the next request."""
        return self.next_offset, self.limit

    def accept(
        self, envelope: Mapping[str, Any] | list[Any], requested: int | None = None
    ) -> list[Any]:
        """Record one answer; the rows it adds, in order."""
        requested = self.next_offset if requested is None else requested
        items = envelope_items(envelope)
        meta: Mapping[str, Any] = envelope if isinstance(envelope, Mapping) else {}
        page_offset = int(meta.get("Offset", requested) or 0)
        count = len(items)
        if meta.get("TotalCount") is not None:
            self.total_count = int(meta["TotalCount"])
        if meta.get("Limit"):
            self.page_size = int(meta["Limit"])
        self.last_start = max(self.position, page_offset)
        fresh = items[max(0, self.position - page_offset) :]
        if self.max_items is not None:
            fresh = fresh[: self.max_items - self.yielded]
        self.yielded += len(fresh)
        self.position = max(self.position, page_offset + count)
        self._advance(meta, page_offset, count, fresh_count=len(fresh))
        return fresh

    def _advance(
        self, meta: Mapping[str, Any], page_offset: int, count: int, fresh_count: int
    ) -> None:
        has_next = meta.get("HasNext", count > 0)
        next_offset = meta.get("NextOffset")
        if (
            count == 0
            or not has_next
            or next_offset == 0
            or (self.max_items is not None and self.yielded >= self.max_items)
        ):
            self.done = True
            return
        target = int(next_offset) if next_offset is not None else page_offset + count
        if target <= page_offset:
            # The server did not move forward: ask for the first unseen row instead.
            logger.debug(
                "NextOffset %s does not advance past %s; using %s",
                target,
                page_offset,
                self.position,
            )
            target = self.position
        self._stalled = 0 if fresh_count else self._stalled + 1
        if self._stalled >= 2:
            raise ImisError(
                f"paging made no progress at offset {self.position}: the server keeps answering "
                f"offset {page_offset} (NextOffset {next_offset})"
            )
        self.next_offset = target

    def planned_offsets(self) -> list[int]:
        """Offsets of all remaining pages when ``TotalCount`` and the page size are known."""
        size = self.page_size or self.limit
        if self.done or self.total_count is None or self.next_offset % size:
            return []
        end = self.total_count
        if self.max_items is not None:
            end = min(end, self.position + self.max_items - self.yielded)
        return list(range(self.next_offset, end, size))


Fetch = Callable[[int, int], Any]
AsyncFetch = Callable[[int, int], Awaitable[Any]]
Decode = Callable[[list[Any]], list[T]]


def _timed(fetch: Fetch, offset: int, limit: int) -> tuple[Any, float]:
    """The answer, and how long the fetch waited: its wall time less this thread's CPU time
    (reading a large answer from a nearby server is mostly the client's own work)."""
    started, cpu = time.perf_counter(), time.thread_time()
    answer = fetch(offset, limit)
    return answer, (time.perf_counter() - started) - (time.thread_time() - cpu)


def _decoded(decode: Decode[T], rows: list[Any]) -> list[T]:
    with gc_paused():  # see imis_tier.client._gc: a page allocates in one burst
        return decode(rows)


class SyncPager(Generic[T]):
    """A lazy iterator over every row of a paged endpoint; pages are fetched as you iterate.

    Iterate it for rows, or call :meth:`pages` for one :class:`Page` at a time. Each iteration
    starts again from the first page.
    """

    def __init__(
        self,
        fetch: Fetch,
        decode: Decode[T],
        *,
        offset: int = 0,
        limit: int = DEFAULT_PAGE_SIZE,
        max_items: int | None = None,
        prefetch: bool = True,
    ) -> None:
        self._fetch = fetch
        self._decode = decode
        self._offset, self._limit, self._max_items = offset, limit, max_items
        self._prefetch = prefetch

    def _cursor(self) -> PageCursor:
        return PageCursor(self._offset, self._limit, self._max_items)

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.items
            del page  # let the rows go before the next page is fetched and decoded

    def pages(self, concurrency: int = 1) -> Iterator[Page[T]]:
        """Pages in order. With ``concurrency`` > 1 and a known ``TotalCount``, up to that many
        later pages are fetched at once (bounded as well by the client's ``max_in_flight``)."""
        cursor = self._cursor()
        if concurrency > 1:
            while not cursor.done:
                offset, limit = cursor.request()
                yield self._page(cursor, self._fetch(offset, limit), offset)
                if planned := cursor.planned_offsets():
                    yield from self._concurrent(cursor, planned, concurrency)
            return
        yield from self._sequential(cursor)

    def _sequential(self, cursor: PageCursor) -> Iterator[Page[T]]:
        # Read-ahead: the next page is requested before this one is decoded and consumed, so
        # decoding overlaps the network wait; still one request in flight at a time. Handing
        # pages between threads costs CPU, so it is only done while both the wait and the
        # decoding of the last page were long enough for the overlap to pay (READ_AHEAD_MIN_*).
        # At no latency it would only make two threads take turns at the same CPU-bound work.
        pool: ThreadPoolExecutor | None = None
        pending: Future[tuple[Any, float]] | None = None
        wait_s = decode_s = 0.0
        try:
            while not cursor.done:
                offset, limit = cursor.request()
                collect_young()  # the last page is let go: see imis_tier.client._gc
                if pending is not None:
                    envelope, wait_s = pending.result()
                else:
                    envelope, wait_s = _timed(self._fetch, offset, limit)
                pending = None
                rows = cursor.accept(envelope, offset)
                del envelope  # the rows alone are decoded; let the rest go now
                start = cursor.last_start
                if (
                    self._prefetch
                    and not cursor.done
                    and wait_s >= READ_AHEAD_MIN_WAIT_S
                    and decode_s >= READ_AHEAD_MIN_DECODE_S
                ):
                    if pool is None:
                        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imis-page")
                    pending = pool.submit(_timed, self._fetch, *cursor.request())
                    # Give the helper the GIL now, so the request is on the wire before the
                    # decoding below holds the GIL for its whole switch interval.
                    time.sleep(0)
                started = time.perf_counter()
                page = Page(
                    _decoded(self._decode, rows), start, cursor.total_count, not cursor.done
                )
                decode_s = time.perf_counter() - started
                del rows  # the raw rows die here, before the consumer's code runs
                yield page
                del page
        finally:
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)

    def _page(self, cursor: PageCursor, envelope: Any, requested: int) -> Page[T]:
        rows = cursor.accept(envelope, requested)
        return Page(
            _decoded(self._decode, rows), cursor.last_start, cursor.total_count, not cursor.done
        )

    def _concurrent(
        self, cursor: PageCursor, planned: list[int], concurrency: int
    ) -> Iterator[Page[T]]:
        size = cursor.page_size or cursor.limit
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="imis-page") as pool:
            window: deque[tuple[int, Future[Any]]] = deque()
            todo = iter(planned)
            try:
                for offset in todo:
                    window.append((offset, pool.submit(self._fetch, offset, size)))
                    if len(window) >= concurrency:
                        break
                while window and not cursor.done:
                    offset, future = window.popleft()
                    if cursor.next_offset != offset:
                        break  # the data moved under us: finish sequentially from the cursor
                    yield self._page(cursor, future.result(), offset)
                    for more in todo:
                        window.append((more, pool.submit(self._fetch, more, size)))
                        break
            finally:
                for _, future in window:
                    future.cancel()

    def to_list(self) -> list[T]:
        """Every row, fetched now."""
        return list(self)


class AsyncPager(Generic[T]):
    """The ``async for`` twin of :class:`SyncPager`."""

    def __init__(
        self,
        fetch: AsyncFetch,
        decode: Decode[T],
        *,
        offset: int = 0,
        limit: int = DEFAULT_PAGE_SIZE,
        max_items: int | None = None,
        prefetch: bool = True,
    ) -> None:
        self._fetch = fetch
        self._decode = decode
        self._offset, self._limit, self._max_items = offset, limit, max_items
        self._prefetch = prefetch

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item
            del page  # let the rows go before the next page is decoded

    async def pages(self, concurrency: int = 1) -> AsyncIterator[Page[T]]:
        """Pages in order; see :meth:`SyncPager.pages`."""
        cursor = PageCursor(self._offset, self._limit, self._max_items)
        if concurrency > 1:
            while not cursor.done:
                offset, limit = cursor.request()
                yield self._page(cursor, await self._fetch(offset, limit), offset)
                if planned := cursor.planned_offsets():
                    async for page in self._concurrent(cursor, planned, concurrency):
                        yield page
            return
        pending: asyncio.Future[Any] | None = None
        try:
            while not cursor.done:
                offset, limit = cursor.request()
                collect_young()
                envelope = (
                    await pending if pending is not None else await self._fetch(offset, limit)
                )
                pending = None
                rows = cursor.accept(envelope, offset)
                start = cursor.last_start
                if self._prefetch and not cursor.done:
                    pending = asyncio.ensure_future(self._fetch(*cursor.request()))
                yield Page(_decoded(self._decode, rows), start, cursor.total_count, not cursor.done)
        finally:
            if pending is not None:
                pending.cancel()
                await asyncio.gather(pending, return_exceptions=True)

    def _page(self, cursor: PageCursor, envelope: Any, requested: int) -> Page[T]:
        rows = cursor.accept(envelope, requested)
        return Page(
            _decoded(self._decode, rows), cursor.last_start, cursor.total_count, not cursor.done
        )

    async def _concurrent(
        self, cursor: PageCursor, planned: list[int], concurrency: int
    ) -> AsyncIterator[Page[T]]:
        size = cursor.page_size or cursor.limit
        window: deque[tuple[int, asyncio.Task[Any]]] = deque()
        todo = iter(planned)
        try:
            for offset in todo:
                window.append((offset, asyncio.ensure_future(self._fetch(offset, size))))
                if len(window) >= concurrency:
                    break
            while window and not cursor.done:
                offset, task = window.popleft()
                if cursor.next_offset != offset:
                    break
                yield self._page(cursor, await task, offset)
                for more in todo:
                    window.append((more, asyncio.ensure_future(self._fetch(more, size))))
                    break
        finally:
            for _, task in window:
                task.cancel()
            # Let cancelled fetches unwind so no request outlives the pager.
            await asyncio.gather(*(t for _, t in window), return_exceptions=True)

    async def to_list(self) -> list[T]:
        """Every row, fetched now."""
        return [item async for item in self]
