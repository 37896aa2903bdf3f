"""Paging against a model of iMIS's paging: snapped offsets, the 500 clamp, NextOffset."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imis_tier.client import AsyncPager, ImisError, PageCursor, SyncPager
from imis_tier.client._paging import _timed


class PagingModel:
    """iMIS paging as described in imis-api.md §2, with knobs for its quirks."""

    def __init__(
        self, total: int, clamp: int = 500, next_offset: bool = True, default: int = 100
    ) -> None:
        self.rows = [f"row{i}" for i in range(total)]
        self.clamp, self.next_offset, self.default = clamp, next_offset, default
        self.requests: list[tuple[int, int]] = []

    def fetch(self, offset: int, limit: int) -> dict[str, Any]:
        self.requests.append((offset, limit))
        limit = min(limit or self.default, self.clamp)
        start = (offset // limit) * limit  # the server snaps to a page boundary
        items = self.rows[start : start + limit]
        has_next = start + len(items) < len(self.rows)
        envelope: dict[str, Any] = {
            "$type": "Asi.Soa.Core.DataContracts.PagedResult, Asi.Contracts",
            "Items": {"$type": "List", "$values": items},
            "Offset": start,
            "Limit": limit,
            "Count": len(items),
            "TotalCount": len(self.rows),
            "HasNext": has_next,
        }
        if self.next_offset:
            envelope["NextOffset"] = start + len(items) if has_next else 0
        return envelope


@settings(max_examples=150, deadline=None)
@given(
    total=st.integers(0, 120),
    start=st.integers(0, 130),
    limit=st.integers(1, 40),
    clamp=st.integers(1, 25),
    max_items=st.one_of(st.none(), st.integers(0, 130)),
    next_offset=st.booleans(),
)
def test_pager_yields_every_row_once_in_order(total, start, limit, clamp, max_items, next_offset):
    server = PagingModel(total, clamp=clamp, next_offset=next_offset)
    pager = SyncPager(server.fetch, list, offset=start, limit=limit, max_items=max_items)
    expected = server.rows[start:]
    if max_items is not None:
        expected = expected[:max_items]
    assert list(pager) == expected


@settings(max_examples=60, deadline=None)
@given(total=st.integers(0, 3000), limit=st.integers(1, 1000))
def test_requests_are_the_minimum_the_page_size_allows(total, limit):
    server = PagingModel(total)
    assert len(list(SyncPager(server.fetch, list, limit=limit))) == total
    page = min(limit, 500)
    assert len(server.requests) == max(1, -(-total // page))
    assert all(req_limit <= 500 for _, req_limit in server.requests)


@settings(max_examples=60, deadline=None)
@given(total=st.integers(0, 200), limit=st.integers(1, 30), concurrency=st.integers(2, 5))
def test_concurrent_pages_match_sequential(total, limit, concurrency):
    server = PagingModel(total, clamp=20)
    pages = list(SyncPager(server.fetch, list, limit=limit).pages(concurrency=concurrency))
    assert [row for page in pages for row in page.items] == server.rows
    assert [p.offset for p in pages if p.items] == list(range(0, total, min(limit, 20)))


def test_pages_report_offsets_and_totals():
    server = PagingModel(7, clamp=3)
    pages = list(SyncPager(server.fetch, list, limit=3).pages())
    assert [(p.offset, p.items, p.total_count, p.has_next) for p in pages] == [
        (0, ["row0", "row1", "row2"], 7, True),
        (3, ["row3", "row4", "row5"], 7, True),
        (6, ["row6"], 7, False),
    ]


def test_pager_is_lazy_reads_one_page_ahead_and_restarts():
    server = PagingModel(1000)
    iterator = iter(SyncPager(server.fetch, list, limit=100, prefetch=False))
    assert next(iterator) == "row0"
    assert len(server.requests) == 1

    def slow_fetch(offset: int, limit: int) -> dict[str, Any]:
        time.sleep(0.01)  # a network wait worth hiding
        return server.fetch(offset, limit)

    def slow_decode(rows: list[Any]) -> list[Any]:
        time.sleep(0.02)  # and decoding worth overlapping with it
        return list(rows)

    pager = SyncPager(slow_fetch, slow_decode, limit=100)
    server.requests.clear()
    iterator = iter(pager)
    for _ in range(251):
        next(iterator)  # into page 3: read-ahead starts once a page has been timed
    time.sleep(0.05)
    assert len(server.requests) == 4  # the page being read and one ahead, never more
    assert list(pager)[:2] == ["row0", "row1"]


def test_fast_pages_are_not_read_ahead_on_another_thread():
    server = PagingModel(2000)
    threads: set[str] = set()

    def fetch(offset: int, limit: int) -> dict[str, Any]:
        threads.add(threading.current_thread().name)
        return server.fetch(offset, limit)

    assert len(list(SyncPager(fetch, list, limit=100))) == 2000
    assert threads == {threading.current_thread().name}  # nothing to hide: no hand-offs


def test_a_fetch_is_timed_by_its_wait_not_by_its_own_work() -> None:
    """Reading a big answer from a nearby server takes the client's CPU, not a wait."""

    def busy(offset: int, limit: int) -> str:
        deadline = time.thread_time() + 0.03
        while time.thread_time() < deadline:  # 30 ms of this thread's own CPU
            pass
        return "answer"

    def waiting(offset: int, limit: int) -> str:
        time.sleep(0.03)
        return "answer"

    assert _timed(busy, 0, 1) == ("answer", pytest.approx(0.0, abs=0.015))
    assert _timed(waiting, 0, 1)[1] >= 0.025


def test_a_fetch_busy_with_its_own_work_is_not_read_ahead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Handing CPU-bound reading to another thread would only make two threads take turns."""
    server = PagingModel(1000)
    threads: set[str] = set()
    own_work_only = 0.0

    def timed(fetch: Any, offset: int, limit: int) -> tuple[Any, float]:
        threads.add(threading.current_thread().name)
        return fetch(offset, limit), own_work_only

    def slow_decode(rows: list[Any]) -> list[Any]:
        time.sleep(0.02)  # decoding that would be worth hiding behind a real wait
        return list(rows)

    monkeypatch.setattr("imis_tier.client._paging._timed", timed)
    assert len(list(SyncPager(server.fetch, slow_decode, limit=100))) == 1000
    assert threads == {threading.current_thread().name}
    own_work_only = 0.01  # the same fetches, now waiting 10 ms on the server
    assert len(list(SyncPager(server.fetch, slow_decode, limit=100))) == 1000
    assert len(threads) == 2  # read ahead on the helper thread


def test_a_server_that_never_advances_is_an_error_not_a_hang():
    def stuck(offset: int, limit: int) -> dict[str, Any]:
        return {
            "Items": {"$values": ["a", "b"]},
            "Offset": 0,
            "Count": 2,
            "HasNext": True,
            "NextOffset": 0 + 1,
        }

    with pytest.raises(ImisError, match="no progress"):
        list(SyncPager(stuck, list, limit=2))


def test_cursor_validates_arguments():
    with pytest.raises(ValueError, match="limit"):
        PageCursor(limit=0)
    with pytest.raises(ValueError, match="offset"):
        PageCursor(start=-1)


@settings(max_examples=60, deadline=None)
@given(
    total=st.integers(0, 150),
    start=st.integers(0, 40),
    limit=st.integers(1, 30),
    concurrency=st.integers(1, 4),
)
def test_async_pager_matches_the_model(total, start, limit, concurrency):
    server = PagingModel(total, clamp=17)

    async def fetch(offset: int, page_limit: int) -> dict[str, Any]:
        await asyncio.sleep(0)
        return server.fetch(offset, page_limit)

    async def collect() -> list[str]:
        pager = AsyncPager(fetch, list, offset=start, limit=limit)
        rows = []
        async for page in pager.pages(concurrency=concurrency):
            rows.extend(page.items)
        return rows

    assert asyncio.run(collect()) == server.rows[start:]


def _full_collections_while_streaming(pages: int) -> int:
    """How many full collections of the heap set off while streaming ``pages`` pages of rows
    that each hold containers (as decoded models do), none of them kept."""
    server = PagingModel(pages * 500)
    full = 0

    def count(phase: str, info: dict[str, Any]) -> None:
        nonlocal full
        full += phase == "start" and info["generation"] == 2

    def decode(rows: list[Any]) -> list[Any]:
        return [{"row": row, "parts": [[i], [i], [i], [i]]} for i, row in enumerate(rows)]

    gc.collect()
    gc.callbacks.append(count)
    try:
        for _ in SyncPager(server.fetch, decode):
            pass
    finally:
        gc.callbacks.remove(count)
    return full


def test_streamed_pages_never_reach_the_oldest_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Young generations are collected at page boundaries, when the last page is let go, so a
    long extraction sets off no full collection of the heap; without that it does."""
    # Enough pages for the promoted rows to outgrow a quarter of this process's heap.
    pages = max(600, len(gc.get_objects()) // 500)
    assert _full_collections_while_streaming(pages) == 0
    monkeypatch.setattr("imis_tier.client._paging.collect_young", lambda: None)
    assert _full_collections_while_streaming(pages) > 0
