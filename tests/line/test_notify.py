"""Alarm notifications against real servers: a webhook receiver (http.server) and an SMTP server
(aiosmtpd); one message per (rule, tag) per interval, the suppressed ones counted in the next."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from aion.line.broker import free_port
from aion.line.model import Alarm
from aion.line.notify import SmtpNotifier, WebhookNotifier


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    got: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(500 if got[-1]["alarm"]["tag"] == "m.broken" else 204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}/hook", got
    srv.shutdown()
    srv.server_close()


def alarm(tag: str = "m.p", n: int = 0) -> Alarm:
    return Alarm(f"l:low:{tag}:{n}", "l", tag, "low", "critical", f"{tag} 0.05 < 0.12 bar", 0.05, 1.0)


def test_webhook_is_rate_limited_and_counts_what_it_held_back(
    webhook: tuple[str, list[dict[str, Any]]],
) -> None:
    url, got = webhook
    n = WebhookNotifier(url, min_interval_s=0.5)
    try:
        assert n.notify("raised", alarm(n=1))
        assert not n.notify("raised", alarm(n=2)) and not n.notify("cleared", alarm(n=2))  # within 0.5 s
        assert n.notify("raised", alarm("m.q"))  # another tag has its own budget
        n.flush()
        time.sleep(0.6)
        assert n.notify("raised", alarm(n=3))
        assert n.notify("raised", alarm("m.broken"))  # the receiver fails: counted, never raised
        n.flush()
    finally:
        n.close()
    assert [(g["alarm"]["tag"], g["suppressed"]) for g in got] == [
        ("m.p", 0),
        ("m.q", 0),
        ("m.p", 2),
        ("m.broken", 0),
    ]
    assert got[2]["text"].startswith("[l] raised: m.p 0.05 < 0.12 bar") and "+2" in got[2]["text"]
    assert (n.sent_, n.failed_) == (3, 1) and "500" in n.last_error_


def test_smtp_mail_reaches_a_real_server() -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    mails: list[Any] = []

    class Keep(Message):
        def handle_message(self, message: Any) -> None:
            mails.append(message)

    port = free_port()
    ctl = Controller(Keep(), hostname="127.0.0.1", port=port)
    ctl.start()
    n = SmtpNotifier("127.0.0.1", ["shift@factory.example"], port=port, min_interval_s=60)
    try:
        assert n.notify("raised", alarm())
        assert not n.notify("raised", alarm(n=9))
        n.flush()
    finally:
        n.close()
        ctl.stop()
    [mail] = mails
    assert mail["To"] == "shift@factory.example" and "m.p 0.05 < 0.12 bar" in mail["Subject"]
    assert "l:low:m.p:0" in mail.get_payload()
