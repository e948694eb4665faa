"""Overlapping a producer with its consumer: DuckDB converts the next batches while the current ones are written."""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Iterate `items` on a background thread, at most `depth` ahead; its exceptions surface here.

    Closing the returned generator early stops the producer at its next item.
    """
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                buffer.put(item)
            buffer.put(_DONE)
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, which re-raises it
            buffer.put(error)

    # The producer runs in a copy of the caller's context: context variables the caller set (e.g. who listens to
    # a reader's progress) hold there too.
    thread = threading.Thread(target=contextvars.copy_context().run, args=(produce,), name="prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                buffer.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)
