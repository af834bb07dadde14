"""Bounded concurrent detail fetches, overlapping the vendor's latency with the loads."""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pipelines.engine.api import DetailTask

DONE = object()  # a task's last item when it ended without an exception


class DetailFetcher:
    """Fetches detail tasks on `workers` threads, at most `buffer` items ahead of the consumer.

    Workers take the next queued task themselves, so they keep fetching while the consumer is
    busy elsewhere (loading an earlier package). Each task's items end with `DONE` or the
    exception that stopped it.
    """

    def __init__(self, fetch: Callable[[DetailTask], Iterable[Any]], workers: int, buffer: int):
        self._fetch = fetch
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._out: queue.Queue = queue.Queue(maxsize=buffer)
        self._stop = threading.Event()
        self._queued = self._finished = 0
        self._threads = [threading.Thread(target=self._work, name=f"callsync-detail-{i}", daemon=True)
                         for i in range(workers)]
        for thread in self._threads:
            thread.start()

    def submit(self, task: DetailTask) -> None:
        self._queued += 1
        self._tasks.put(task)

    @property
    def caught_up(self) -> bool:
        """Nothing fetched is waiting: the vendor, not the consumer, is what the run waits for."""
        return self._out.empty()

    @property
    def outstanding(self) -> int:
        """Submitted tasks whose last item has not been handed over yet."""
        return self._queued - self._finished

    def results(self) -> Iterator[tuple[DetailTask, Any]]:
        """`(task, item)` of every submitted task, in arrival order; call once, after the last submit."""
        while self.outstanding:
            task, item = self._out.get()
            if item is DONE or isinstance(item, BaseException):
                self._finished += 1
            yield task, item

    def close(self) -> None:
        self._stop.set()
        for _ in self._threads:
            self._tasks.put(None)
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> DetailFetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _put(self, item: tuple[DetailTask, Any]) -> bool:
        while not self._stop.is_set():
            try:
                self._out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _work(self) -> None:
        while (task := self._tasks.get()) is not None and not self._stop.is_set():
            try:
                for item in self._fetch(task):
                    if not self._put((task, item)):
                        return
                self._put((task, DONE))
            except Exception as e:  # handed to the consumer, which decides what it means
                self._put((task, e))
