"""HTTP ingest for gateways, across processes: the web app's ``POST /api/lines/{id}/ingest``
appends to the line's :class:`~aion.line.inbox.Inbox`; this connector feeds it to the pipeline.

``commit`` deletes what was returned (it is stored or buffered by then); ``snapshot`` keeps the
last committed id, so a restarted pipeline never re-reads what it already committed.
"""

from __future__ import annotations

from typing import Any

from aion.line.connectors.base import Connector
from aion.line.inbox import Inbox
from aion.line.model import Batch


class HttpInboxConnector(Connector):
    kind = "http"

    def __init__(self, name: str, inbox: str = "", state: dict[str, Any] | None = None) -> None:
        super().__init__(name)
        self.inbox = inbox
        self.box_ = Inbox(inbox)
        self.committed_ = self.pending_ = int((state or {}).get("offset", 0))
        self.connected_ = True

    def next_batch(self, max_items: int = 1000) -> Batch:
        out = Batch()
        while len(out.readings) < max_items:
            posts = self.box_.read(self.pending_, 64)
            if not posts:
                break
            for i, readings, rejects in posts:
                out.readings.extend(readings)
                out.rejects.extend(rejects)
                self.pending_ = i
        return self._count(out)

    def commit(self) -> None:
        if self.pending_ > self.committed_:
            self.box_.delete_upto(self.pending_)
            self.committed_ = self.pending_

    def snapshot(self) -> dict[str, Any]:
        return {"offset": self.committed_}

    def close(self) -> None:
        if self.connected_:
            self.connected_ = False
            self.box_.close()
