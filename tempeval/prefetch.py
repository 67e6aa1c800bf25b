"""Work prepared ahead of its consumer on every core, in order, bounded in bytes.

The runner's arrow from samples to the adapter: groups of samples (one video each, so each video is decoded in
one planned pass) are prepared by ``workers`` threads at once (PyAV and decord release the GIL while decoding),
and the consumer takes the items in group order, whatever finished first, so what it gets is the same for any
worker count. How far ahead the threads run is bounded by the bytes of what is prepared and not yet taken (the
frames), never by a count: 16 frames of 360p and 32 frames of 720p differ by 8x.

A group is started only while the prepared bytes, plus the expected size of the groups being prepared, stay
under the budget; one group is always allowed when nothing is prepared, so a group larger than the budget still
runs (alone). After :meth:`Prefetcher.close` no group is started: work the consumer will not take is never done.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Group = TypeVar("Group")
Item = TypeVar("Item")


class Prefetcher(Generic[Group, Item]):
    """Prepares ``groups`` on ``workers`` threads ahead of the consumer; :meth:`take` returns their items in order.

    ``prepare(group)`` returns ``(item, bytes)`` pairs: the item and the memory it holds until it is taken. An
    exception raised by ``prepare`` is raised by the :meth:`take` that reaches its group.
    """

    def __init__(
        self,
        groups: Sequence[Group],
        prepare: Callable[[Group], list[tuple[Item, int]]],
        *,
        workers: int,
        max_bytes: int,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}.")
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be at least 1, got {max_bytes}.")
        self._prepare = prepare
        self._workers = workers
        self._max_bytes = max_bytes
        self._waiting: deque[Group] = deque(groups)
        self._started: deque[concurrent.futures.Future[list[tuple[Item, int]]]] = deque()
        self._current: deque[tuple[Item, int]] = deque()
        self._lock = threading.RLock()
        self._running = 0
        self._held = 0
        self._finished_groups = 0
        self._finished_bytes = 0
        self._closed = False
        self.peak_bytes = 0
        """The most bytes prepared and not yet taken at any moment (the budget is kept up to one group)."""
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tempeval-decode")
        with self._lock:
            self._fill()

    def _expected_group_bytes(self) -> int:
        return self._finished_bytes // self._finished_groups if self._finished_groups else 0

    def _fill(self) -> None:
        """Start groups while a worker is free and the budget allows (called with the lock held)."""
        while self._waiting and not self._closed and self._running < self._workers:
            ahead = self._held + self._running * self._expected_group_bytes()
            if ahead >= self._max_bytes and (self._held or self._running):
                return
            group = self._waiting.popleft()
            self._running += 1
            self._started.append(self._pool.submit(self._prepared, group))

    def _prepared(self, group: Group) -> list[tuple[Item, int]]:
        """A worker's job: prepare one group, and count it (and start the next) before its future completes, so
        that a consumer who sees the result never sees a stale count of running groups (it would take the samples
        for done while groups still wait)."""
        try:
            items = self._prepare(group)
        except BaseException:
            with self._lock:
                self._running -= 1
            raise
        with self._lock:
            self._running -= 1
            size = sum(nbytes for _, nbytes in items)
            self._held += size
            self.peak_bytes = max(self.peak_bytes, self._held)
            self._finished_groups += 1
            self._finished_bytes += size
            self._fill()
        return items

    def ready(self) -> bool:
        """Whether :meth:`take` would return (or raise) now, without waiting for a worker."""
        while not self._current and self._started and self._started[0].done():
            if self._started[0].exception() is not None:
                return True
            self._current.extend(self._started.popleft().result())
        with self._lock:
            exhausted = not self._started and not self._waiting
        return bool(self._current) or exhausted

    def take(self) -> Item:
        """The next item in group order, waiting for its group if needed.

        Raises:
            StopIteration: every item has been taken, or the prefetcher is closed.
            Exception: whatever ``prepare`` raised for the group this item would come from.
        """
        while not self._current:
            with self._lock:
                self._fill()  # a group is always started when nothing is prepared or being prepared
                if not self._started:
                    raise StopIteration
                head = self._started[0]
            self._current.extend(head.result())
            self._started.popleft()
        item, nbytes = self._current.popleft()
        with self._lock:
            self._held -= nbytes
            self._fill()
        return item

    def close(self) -> None:
        """Start nothing more, drop what was not started, and wait for the groups being prepared."""
        with self._lock:
            self._closed = True
            self._waiting.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._started.clear()
        self._current.clear()
