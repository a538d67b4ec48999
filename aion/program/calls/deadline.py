"""The application window of a call: open and close times with recorded extensions.

Times are time-zone aware (Korean calls close at e.g. 18:00 KST). The close instant
itself still accepts a submission; one second later does not.

>>> from datetime import datetime, timedelta, timezone
>>> KST = timezone(timedelta(hours=9))
>>> w = CallWindow(datetime(2026, 3, 2, 9, tzinfo=KST), datetime(2026, 3, 20, 18, tzinfo=KST))
>>> w.status(datetime(2026, 3, 20, 18, 0, 1, tzinfo=KST))
'closed'
>>> w2 = w.extend(datetime(2026, 3, 27, 18, tzinfo=KST), "신청 기업 요청 다수", by="operator",
...               at=datetime(2026, 3, 19, 10, tzinfo=KST))
>>> w2.status(datetime(2026, 3, 25, tzinfo=KST)), len(w2.extensions)
('open', 1)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from aion.program.errors import CallError

__all__ = ["STATUSES", "CallWindow", "Extension"]

STATUSES = ("upcoming", "open", "closed")


def _aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise CallError(
            f"시간대가 없는 시각입니다: {name}={value.isoformat()} / A time-zone aware time is required: "
            f"{name}={value.isoformat()}"
        )


@dataclass(frozen=True)
class Extension:
    previous_close: datetime
    new_close: datetime
    reason: str
    by: str
    at: datetime


@dataclass(frozen=True)
class CallWindow:
    opens_at: datetime
    closes_at: datetime  # the original close, kept for the record
    extensions: tuple[Extension, ...] = ()
    max_extensions: int | None = None  # None: no limit

    def __post_init__(self) -> None:
        _aware("opens_at", self.opens_at)
        _aware("closes_at", self.closes_at)
        if self.closes_at <= self.opens_at:
            raise CallError(
                f"마감이 접수 시작보다 늦어야 합니다: {self.opens_at.isoformat()} ~ "
                f"{self.closes_at.isoformat()} / The close must be after the open: "
                f"{self.opens_at.isoformat()} - {self.closes_at.isoformat()}"
            )

    @property
    def effective_close(self) -> datetime:
        """The close time after every extension."""
        return self.extensions[-1].new_close if self.extensions else self.closes_at

    def status(self, now: datetime) -> str:
        """'upcoming', 'open' or 'closed' at ``now``."""
        _aware("now", now)
        if now < self.opens_at:
            return "upcoming"
        return "open" if now <= self.effective_close else "closed"

    def is_open(self, now: datetime) -> bool:
        """Applicants may submit, reopen and edit their application (until the deadline)."""
        return self.status(now) == "open"

    def time_left(self, now: datetime) -> timedelta:
        """Time until the effective close (zero when closed)."""
        _aware("now", now)
        return max(timedelta(0), self.effective_close - now)

    def extend(
        self, new_close: datetime, reason: str, *, by: str, at: datetime, allow_after_close: bool = False
    ) -> CallWindow:
        """A new window whose close moves to ``new_close``; the history keeps every extension.

        An extension must move the close later, needs a reason, and is normally made before
        the current close (``allow_after_close`` reopens a closed call, e.g. after a system
        outage on the last day).
        """
        _aware("new_close", new_close)
        _aware("at", at)
        current = self.effective_close
        if new_close <= current:
            raise CallError(
                f"연장 마감은 현재 마감({current.isoformat()})보다 늦어야 합니다: "
                f"{new_close.isoformat()} / An extension must be later than the current close "
                f"({current.isoformat()}): {new_close.isoformat()}"
            )
        if not reason.strip():
            raise CallError("연장 사유를 입력하십시오 / An extension needs a reason")
        if at > current and not allow_after_close:
            raise CallError(
                f"이미 마감된 공고입니다 ({current.isoformat()}); 재개하려면 allow_after_close 필요 / "
                f"The call closed at {current.isoformat()}; reopening needs allow_after_close"
            )
        if self.max_extensions is not None and len(self.extensions) >= self.max_extensions:
            raise CallError(
                f"연장 횟수 한도({self.max_extensions}회)를 넘었습니다 / "
                f"The call may be extended at most {self.max_extensions} times"
            )
        ext = Extension(current, new_close, reason.strip(), by, at)
        return replace(self, extensions=(*self.extensions, ext))
