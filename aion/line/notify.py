"""Notifications on alarms: webhook (JSON POST) and e-mail (SMTP), rate-limited.

Sending happens on a background thread with a bounded queue, so a slow mail server never
stalls the pipeline; when the queue is full the notification is dropped and counted. Each
channel sends at most one message per ``min_interval_s`` per (rule, tag); the rest are
counted and summarised in the next message.

>>> rl = RateLimiter(60.0)
>>> rl.allow("k", now=0.0), rl.allow("k", now=30.0), rl.allow("k", now=61.0)
(True, False, True)
>>> rl.suppressed_
{'k': 0}
"""

from __future__ import annotations

import queue
import smtplib
import threading
import time
from collections.abc import Sequence
from email.message import EmailMessage
from typing import Any

from aion.line.model import Alarm


class RateLimiter:
    def __init__(self, min_interval_s: float) -> None:
        self.min_interval_s = min_interval_s
        self.last_: dict[str, float] = {}
        self.suppressed_: dict[str, int] = {}

    def allow(self, key: str, now: float | None = None) -> bool:
        t = time.monotonic() if now is None else now
        last = self.last_.get(key)
        if last is not None and t - last < self.min_interval_s:
            self.suppressed_[key] = self.suppressed_.get(key, 0) + 1
            return False
        self.last_[key] = t
        self.suppressed_[key] = 0
        return True


def alarm_text(alarm: Alarm, kind: str, suppressed: int) -> str:
    extra = f" (+{suppressed} 억제됨 / suppressed)" if suppressed else ""
    return f"[{alarm.line}] {kind}: {alarm.message} ({alarm.severity}){extra}"


class Notifier:
    """Base: ``send`` is called on the worker thread; subclasses implement it."""

    kind = "base"

    def __init__(self, min_interval_s: float = 60.0, queue_size: int = 100) -> None:
        self.min_interval_s = min_interval_s
        self.queue_size = queue_size
        self.limiter_ = RateLimiter(min_interval_s)
        self.sent_ = 0
        self.dropped_ = 0
        self.failed_ = 0
        self.last_error_ = ""
        self._queue: queue.Queue[tuple[str, Alarm, int] | None] = queue.Queue(queue_size)
        self._thread = threading.Thread(target=self._work, name=f"notify-{self.kind}", daemon=True)
        self._thread.start()

    def send(self, kind: str, alarm: Alarm, suppressed: int) -> None:
        raise NotImplementedError

    def notify(self, kind: str, alarm: Alarm) -> bool:
        """Queue a notification if the rate limit allows; never blocks."""
        key = f"{alarm.rule}:{alarm.tag}"
        before = self.limiter_.suppressed_.get(key, 0)
        if not self.limiter_.allow(key):
            return False
        try:
            self._queue.put_nowait((kind, alarm, before))
            return True
        except queue.Full:
            self.dropped_ += 1
            return False

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                self.send(*item)
                self.sent_ += 1
            except Exception as e:  # a failed notification is counted, never fatal
                self.failed_ += 1
                self.last_error_ = str(e)[:200]
            finally:
                self._queue.task_done()

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until queued notifications were attempted (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)


class WebhookNotifier(Notifier):
    kind = "webhook"

    def __init__(
        self,
        url: str,
        min_interval_s: float = 60.0,
        timeout: float = 5.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.headers = dict(headers or {})
        super().__init__(min_interval_s)

    def send(self, kind: str, alarm: Alarm, suppressed: int) -> None:
        import httpx

        body: dict[str, Any] = {
            "event": kind,
            "text": alarm_text(alarm, kind, suppressed),
            "suppressed": suppressed,
            "alarm": {**alarm.__dict__, "state": alarm.state},
        }
        httpx.post(self.url, json=body, timeout=self.timeout, headers=self.headers).raise_for_status()


class SmtpNotifier(Notifier):
    kind = "smtp"

    def __init__(
        self,
        host: str,
        to: Sequence[str],
        sender: str = "aion@localhost",
        port: int = 25,
        starttls: bool = False,
        username: str = "",
        password: str = "",
        min_interval_s: float = 60.0,
        timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.to = list(to)
        self.sender = sender
        self.port = port
        self.starttls = starttls
        self.username = username
        self.password = password
        self.timeout = timeout
        super().__init__(min_interval_s)

    def send(self, kind: str, alarm: Alarm, suppressed: int) -> None:
        msg = EmailMessage()
        msg["Subject"] = alarm_text(alarm, kind, suppressed)[:200]
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.to)
        msg.set_content(
            f"{alarm_text(alarm, kind, suppressed)}\n\nalarm id: {alarm.id}\nvalue: {alarm.value}\n"
        )
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as s:
            if self.starttls:
                s.starttls()
            if self.username:
                s.login(self.username, self.password)
            s.send_message(msg)
