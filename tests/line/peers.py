"""Real peers for the line tests: Mosquitto processes, pymodbus and asyncua servers in threads."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from aion.line.broker import free_port, wait_port


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class MosquittoProcess:
    """Our own ``mosquitto`` on a free port, with persistence and unlimited queues (never the system one)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {workdir}/\nmax_queued_messages 0\nmax_inflight_messages 0\n"
            "log_dest none\n" + ("user root\n" if os.geteuid() == 0 else "")
            # as root, mosquitto drops to user 'mosquitto', which cannot write its persistence
            # file into our temporary folder: the restart would silently forget every session
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> MosquittoProcess:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen(
            [binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        assert wait_port("127.0.0.1", self.port, 10), "mosquitto did not start"
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # a clean stop writes the persistence file
            self.proc.wait(10)
        self.proc = None


def mosquitto_available() -> bool:
    return bool(shutil.which("mosquitto") or os.path.exists("/usr/sbin/mosquitto"))


class ThreadServer:
    """Runs an asyncio server factory in a thread; ``stop``/``start`` simulate a device going away."""

    def __init__(self) -> None:
        self.port = free_port()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None
        self.ready = threading.Event()

    async def serve(self, stopped: asyncio.Event) -> None:
        raise NotImplementedError

    def start(self) -> Any:
        self.ready.clear()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._stopped = asyncio.Event()
            loop.run_until_complete(self.serve(self._stopped))
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        assert self.ready.wait(20), "server did not start"
        assert wait_port("127.0.0.1", self.port, 10)
        return self

    def call(self, coro: Any, timeout: float = 10.0) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def stop(self) -> None:
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(15)
        self._loop = None


class ModbusDevice(ThreadServer):
    """A pymodbus TCP server: 200 holding and 200 input registers (input ones preset at start)."""

    def __init__(self, inputs: list[int] | None = None) -> None:
        super().__init__()
        self.inputs = inputs or [0] * 200

    async def serve(self, stopped: asyncio.Event) -> None:
        from pymodbus.server import ModbusTcpServer
        from pymodbus.simulator import DataType, SimData, SimDevice

        bits = [SimData(0, count=8, values=False, datatype=DataType.BITS)]
        dev = SimDevice(
            id=1,
            simdata=(
                bits,
                list(bits),
                [SimData(0, count=200, values=0, datatype=DataType.REGISTERS)],
                [SimData(0, values=self.inputs, datatype=DataType.REGISTERS)],
            ),
        )
        server = ModbusTcpServer(dev, address=("127.0.0.1", self.port))
        await server.listen()
        self.ready.set()
        await stopped.wait()
        await server.shutdown()

    def write(self, address: int, registers: list[int]) -> None:
        from pymodbus.client import ModbusTcpClient

        c = ModbusTcpClient("127.0.0.1", port=self.port, timeout=2, retries=1)
        assert c.connect()
        try:
            assert not c.write_registers(address, registers, device_id=1).isError()
        finally:
            c.close()

    def read(self, address: int, count: int) -> list[int]:
        from pymodbus.client import ModbusTcpClient

        c = ModbusTcpClient("127.0.0.1", port=self.port, timeout=2, retries=1)
        assert c.connect()
        try:
            return list(c.read_holding_registers(address, count=count, device_id=1).registers)
        finally:
            c.close()


class OpcUaDevice(ThreadServer):
    """An asyncua server with object ``Pump`` holding variables ``Flow`` and ``Temp`` (doubles)."""

    def __init__(self) -> None:
        super().__init__()
        self.nodes: dict[str, Any] = {}
        self.node_ids: dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"opc.tcp://127.0.0.1:{self.port}/aion/"

    async def serve(self, stopped: asyncio.Event) -> None:
        from asyncua import Server, ua

        server = Server()
        await server.init()
        server.set_endpoint(self.url)
        idx = await server.register_namespace("urn:aion:test")
        pump = await server.nodes.objects.add_object(ua.NodeId("Pump", idx), f"{idx}:Pump")
        for name in ("Flow", "Temp"):
            var = await pump.add_variable(ua.NodeId(f"Pump.{name}", idx), f"{idx}:{name}", 0.0)
            await var.set_writable()
            self.nodes[name] = var
            self.node_ids[name] = var.nodeid.to_string()
        async with server:
            self.ready.set()
            await stopped.wait()

    def write(self, name: str, value: float) -> None:
        self.call(self.nodes[name].write_value(float(value)))


def wait_for(pred: Any, timeout: float = 10.0, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return bool(pred())
