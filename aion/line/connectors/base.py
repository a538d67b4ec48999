"""The connector contract: every source of readings speaks these four verbs.

* ``next_batch(max_items)`` never blocks; it returns what has arrived (maybe nothing).
* ``commit()`` says that everything returned so far is durable (stored or buffered on disk);
  the connector may now release it at the source (MQTT PUBACK, file offset, HTTP reply).
* ``snapshot()`` returns JSON-able resume state; a new connector built with ``state=`` that
  snapshot resumes where the committed data ends.
* ``close()`` releases sockets and threads; it is idempotent.

Sources that push from threads (OPC UA subscriptions, Modbus polling, HTTP ingest) fill a
:class:`BoundedQueue`; when it is full the producer blocks, which is the backpressure. The MQTT
connector reads its socket inside ``next_batch`` instead: what it does not read, TCP and the
broker hold.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aion.line.model import Batch

T = TypeVar("T")


@dataclass
class ConnectorStatus:
    name: str
    kind: str
    connected: bool
    received: int
    rejected: int
    last_error: str = ""


class BoundedQueue(Generic[T]):
    """A thread-safe FIFO with a hard size limit; ``put`` blocks while full."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: deque[T] = deque()
        self._cond = threading.Condition()

    def put(self, item: T, timeout: float | None = None) -> bool:
        """Add ``item``; wait while full. False when ``timeout`` passed without room."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while len(self._items) >= self.maxsize:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left if left is not None else 0.5)
            self._items.append(item)
            return True

    def drain(self, max_items: int) -> list[T]:
        """Take up to ``max_items`` without waiting."""
        with self._cond:
            n = min(max_items, len(self._items))
            out = [self._items.popleft() for _ in range(n)]
            if n:
                self._cond.notify_all()
            return out

    def __len__(self) -> int:
        return len(self._items)


class Connector(ABC):
    """Base of all connectors. Constructor arguments are kept under their own names."""

    kind = "base"

    def __init__(self, name: str) -> None:
        self.name = name
        self.received_ = 0
        self.rejected_ = 0
        self.last_error_ = ""
        self.connected_ = False

    @abstractmethod
    def next_batch(self, max_items: int = 1000) -> Batch:
        """Readings that arrived since the last call; never blocks."""

    def commit(self) -> None:  # noqa: B027 - optional hook, most sources need nothing
        """Everything returned by ``next_batch`` so far is durable."""

    @abstractmethod
    def snapshot(self) -> dict[str, Any]:
        """JSON-able state to resume from after a restart."""

    @abstractmethod
    def close(self) -> None:
        """Stop threads, close sockets; safe to call twice."""

    def _count(self, batch: Batch) -> Batch:
        self.received_ += len(batch.readings)
        self.rejected_ += len(batch.rejects)
        return batch

    def status(self) -> ConnectorStatus:
        return ConnectorStatus(
            self.name, self.kind, self.connected_, self.received_, self.rejected_, self.last_error_
        )


def backoff(attempt: int, base: float = 0.2, cap: float = 5.0) -> float:
    """Capped exponential backoff in seconds.

    >>> [backoff(i) for i in range(6)]
    [0.2, 0.4, 0.8, 1.6, 3.2, 5.0]
    """
    return min(cap, base * (2**attempt))
