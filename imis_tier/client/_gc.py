"""Pausing Python's cyclic garbage collector while a page is parsed and decoded.

A page of 500 parties allocates tens of thousands of containers in a few milliseconds, and none of
them can form a reference cycle. With the collector running, each burst sets off collections that
walk the page's still-live rows, promote them, and soon after trigger full collections of the
whole heap: on a large extraction that costs more CPU than the decoding itself. Pausing for the
length of one page defers that work to a single pass over whatever survives the page.

Pauses nest and may overlap across threads: the collector is switched back on when the last one
ends, and only if it was on when the first one began.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_resume = False


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
