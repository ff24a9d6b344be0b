"""Holding the cyclic garbage collector off while an export or a parse builds its objects."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_gc_lock = threading.Lock()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector off while building a large, acyclic tree of objects.

    Building an instance allocates some 10^5 containers, each allocation counting towards the next
    collection, and the full collections that follow walk the whole (service-sized) heap: that took
    about half of an export or a parse. What is built is a tree, freed by reference counting; any
    cyclic garbage is simply collected after the block. The lock keeps the state consistent across
    threads: whoever found the collector enabled turns it back on, so it is never left off once all
    blocks have finished.
    """
    with _gc_lock:
        was_enabled = gc.isenabled()
        gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            with _gc_lock:
                gc.enable()
