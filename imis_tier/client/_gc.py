"""Pausing Python's cyclic garbage collector while a page is parsed and decoded.

A page of 500 parties allocates tens of thousands of containers in a few milliseconds, and none of
them can form a reference cycle. With the collector running, each burst sets off collections that
walk the page's still-live rows, promote them, and soon after trigger full collections of the
whole heap: on a large extraction that costs more CPU than the decoding itself. Pausing for the
length of one page defers that work to a single pass over whatever survives the page.

Pauses nest and may overlap across threads: the collector is switched back on when the last one
ends, and only if it was on when the first one began.

Even paused, the collector counts the page's allocations, so it runs as soon as it is back on,
while the page is still in use: that collection moves the page's objects to the middle
generation, and a collection of the middle generation before the consumer lets go of them would
move them on to the oldest, whose growth sets off full collections of the whole heap (tens of
milliseconds each on a large process). :func:`collect_young` is called at each page boundary,
when the previous page has been let go: the young generations are then nearly empty and cheap to
collect, and their counts start again, so pages that are not kept never reach the oldest one.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_resume = False


def collect_young() -> None:
    """Collect the two young generations now (when little in them is still in use), unless the
    collector is off."""
    if gc.isenabled():
        gc.collect(1)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the block with the cyclic garbage collector off (reference counting still frees)."""
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            if _resume:
                gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
