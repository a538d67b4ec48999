"""OPC UA connector (asyncua): subscriptions for fast values, polling for slow ones.

Tag addresses are node ids (``ns=2;i=2``, ``ns=2;s=Pump.Flow``) or browse paths from the
Objects folder (``2:Pump/2:Flow``). Each value carries the server's source timestamp, so a
value seen again after a reconnect (the initial notification of a new subscription) has the
same identity and is stored once. ``security`` is an asyncua security string, e.g.
``Basic256Sha256,SignAndEncrypt,client_cert.der,client_key.pem``; empty means None.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Iterable
from typing import Any

from aion.line.config import TagConfig
from aion.line.connectors.base import BoundedQueue, Connector, backoff
from aion.line.model import Batch, Reading


def _ts(data_value: Any) -> float:
    src = getattr(data_value, "SourceTimestamp", None) or getattr(data_value, "ServerTimestamp", None)
    return src.timestamp() if src is not None else time.time()


async def browse(url: str, max_depth: int = 3, timeout: float = 4.0) -> list[tuple[str, str]]:
    """``(node id, browse path)`` of the variables under Objects, for building a tag list."""
    from asyncua import Client, ua

    out: list[tuple[str, str]] = []
    async with Client(url, timeout=timeout) as client:

        async def walk(node: Any, path: str, depth: int) -> None:
            for child in await node.get_children():
                name = (await child.read_browse_name()).to_string()
                here = f"{path}/{name}" if path else name
                if await child.read_node_class() == ua.NodeClass.Variable:
                    out.append((child.nodeid.to_string(), here))
                elif depth < max_depth:
                    await walk(child, here, depth + 1)

        await walk(client.nodes.objects, "", 1)
    return out


class OpcUaConnector(Connector):
    kind = "opcua"

    def __init__(
        self,
        name: str,
        tags: Iterable[TagConfig],
        url: str = "opc.tcp://127.0.0.1:4840/",
        publishing_ms: int = 100,
        poll_interval: float = 5.0,
        security: str = "",
        timeout: float = 4.0,
        queue_size: int = 10000,
        state: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(name)
        self.tags = list(tags)
        self.url = url
        self.publishing_ms = publishing_ms
        self.poll_interval = poll_interval
        self.security = security
        self.timeout = timeout
        self.queue_size = queue_size
        self.queue_: BoundedQueue[Reading] = BoundedQueue(queue_size)
        self.sessions_ = int((state or {}).get("sessions", 0))
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._main()), name=f"opcua-{name}", daemon=True
        )
        self._thread.start()

    def _put(self, tag: TagConfig, value: Any, data_value: Any) -> None:
        try:
            v = float(value) * tag.scale + tag.offset
        except (TypeError, ValueError):
            self.rejected_ += 1
            return
        if math.isfinite(v):
            while not self.queue_.put(Reading(tag.name, _ts(data_value), v, 0, self.name), timeout=0.5):
                if self._stop.is_set():
                    return

    async def _node(self, client: Any, address: str) -> Any:
        if address.startswith(("ns=", "i=", "s=", "g=")):
            return client.get_node(address)
        return await client.nodes.objects.get_child(address.split("/"))

    async def _session(self) -> None:
        from asyncua import Client

        client = Client(self.url, timeout=self.timeout)
        if self.security:
            await client.set_security_string(self.security)
        async with client:
            self.sessions_ += 1
            nodes = {t.name: await self._node(client, t.address) for t in self.tags}
            subscribed = [t for t in self.tags if t.mode == "subscribe"]
            polled = [t for t in self.tags if t.mode == "poll"]
            by_node = {nodes[t.name].nodeid.to_string(): t for t in subscribed}
            connector = self

            class Handler:
                def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
                    tag = by_node.get(node.nodeid.to_string())
                    if tag is not None:
                        connector._put(tag, val, data.monitored_item.Value)

            if subscribed:
                sub = await client.create_subscription(self.publishing_ms, Handler())
                await sub.subscribe_data_change([nodes[t.name] for t in subscribed])
            self.connected_ = True
            next_poll = 0.0
            while not self._stop.is_set():
                if polled and time.monotonic() >= next_poll:
                    for t in polled:
                        dv = await nodes[t.name].read_data_value()
                        self._put(t, dv.Value.Value, dv)
                    next_poll = time.monotonic() + self.poll_interval
                # heartbeat: raises when the server is gone, and we reconnect from the top
                await asyncio.wait_for(client.nodes.server_state.read_value(), timeout=self.timeout)
                await asyncio.sleep(0.5)

    async def _main(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                await self._session()
                attempt = 0
            except Exception as e:  # top of a long-running loop: log, back off, retry
                self.connected_ = False
                self.last_error_ = f"{type(e).__name__}: {e}"[:200]
                await asyncio.sleep(backoff(attempt))
                attempt += 1

    def next_batch(self, max_items: int = 1000) -> Batch:
        return self._count(Batch(self.queue_.drain(max_items)))

    def snapshot(self) -> dict[str, Any]:
        return {"sessions": self.sessions_}

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
