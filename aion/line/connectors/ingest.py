"""HTTP ingest for gateways: the web route hands posted JSON to :meth:`IngestConnector.submit`.

``submit`` decodes and validates at once (the caller learns what was refused and why), queues
the readings in a bounded queue, and with ``wait=True`` returns only after the pipeline made
them durable, so a gateway that gets a 200 may drop its copy. A full queue raises
:class:`~aion.line.errors.Backpressure` (answer 503 with Retry-After).

>>> c = IngestConnector("http")
>>> r = c.submit(b'{"machine": "m", "ts": 1700000000, "values": {"a": 1, "b": "x"}}')
>>> r.accepted, [j.reason for j in r.rejects]
(1, ['wrong_type'])
>>> [x.tag for x in c.next_batch().readings]
['m.a']
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aion.line.codec import PayloadDecoder
from aion.line.connectors.base import Connector
from aion.line.errors import Backpressure
from aion.line.model import Batch, Reading, Reject


@dataclass
class IngestResult:
    accepted: int
    rejects: list[Reject] = field(default_factory=list)
    durable: bool = False


class IngestConnector(Connector):
    kind = "ingest"

    def __init__(
        self,
        name: str,
        known_tags: Iterable[str] = (),
        queue_size: int = 50000,
        state: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(name)
        self.known_tags = list(known_tags)
        self.queue_size = queue_size
        self.decoder_ = PayloadDecoder(self.known_tags)
        self._lock = threading.Lock()
        self._queue: list[tuple[list[Reading], threading.Event]] = []
        self._queued = 0
        self._taken: list[threading.Event] = []
        self.connected_ = True

    def submit(
        self, payload: bytes | str, machine: str = "", wait: bool = False, timeout: float = 10.0
    ) -> IngestResult:
        """Validate and queue one posted body; see the module doc for ``wait``."""
        batch = self.decoder_.decode(payload, machine, self.name)
        self.rejected_ += len(batch.rejects)
        done = threading.Event()
        with self._lock:
            if self._queued + len(batch.readings) > self.queue_size:
                raise Backpressure(
                    f"수집 대기열이 가득 참 ({self._queued}) / Ingest queue full ({self._queued} readings); retry later"  # noqa: E501
                )
            if batch.readings:
                self._queue.append((batch.readings, done))
                self._queued += len(batch.readings)
            else:
                done.set()
        durable = done.wait(timeout) if wait else False
        return IngestResult(len(batch.readings), batch.rejects, durable)

    def next_batch(self, max_items: int = 1000) -> Batch:
        out = Batch()
        with self._lock:
            while self._queue and len(out.readings) < max_items:
                readings, done = self._queue.pop(0)
                out.readings.extend(readings)
                self._queued -= len(readings)
                self._taken.append(done)
        self.received_ += len(out.readings)
        return out

    def commit(self) -> None:
        taken, self._taken = self._taken, []
        for done in taken:
            done.set()

    def snapshot(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        self.connected_ = False
