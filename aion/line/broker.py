"""The embedded MQTT broker (amqtt): no install, started by the app on a configurable port.

It runs in a child process (``python -m aion.line.broker --port N``) so that its Python work
does not compete with the pipeline for one interpreter lock. An external broker (Mosquitto)
is used instead by configuration: ``mqtt://HOST:PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time

from aion.line.errors import LineError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(host: str, port: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def broker_config(host: str, port: int) -> dict:
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}", "max_connections": 200}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }


async def serve(host: str, port: int) -> None:
    from amqtt.broker import Broker

    broker = Broker(broker_config(host, port))
    await broker.start()
    while True:
        await asyncio.sleep(3600)


class EmbeddedBroker:
    """Start/stop the embedded broker; ``url`` is what connectors and publishers use."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port or free_port()
        self.proc_: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"embedded://{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> EmbeddedBroker:
        self.proc_ = subprocess.Popen(
            [sys.executable, "-m", "aion.line.broker", "--host", self.host, "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not wait_port(self.host, self.port, timeout):
            self.stop()
            raise LineError(
                f"내장 브로커 시작 실패 / Embedded broker did not start on {self.host}:{self.port}"
            )
        return self

    def stop(self) -> None:
        if self.proc_ is not None and self.proc_.poll() is None:
            self.proc_.terminate()
            try:
                self.proc_.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc_.kill()
                self.proc_.wait()
        self.proc_ = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    import logging
    import warnings

    parser = argparse.ArgumentParser(description="AI-on embedded MQTT broker (amqtt)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1884)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    warnings.simplefilter("ignore", DeprecationWarning)
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
