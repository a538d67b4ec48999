"""Per-company storage quota: the hook uploads call, and an in-memory implementation.

A company is charged once per distinct blob it references, so uploading the same file twice
costs nothing more. The database layer implements the same hook over its tables.

>>> q = InMemoryStorageQuota(limits={"acme": 10})
>>> q.charge("acme", "a" * 64, 6)
>>> q.charge("acme", "a" * 64, 6)  # same blob: not charged again
>>> q.used("acme")
6
>>> q.check("acme", 4)  # fits: 6 + 4 <= 10
>>> try:
...     q.check("acme", 5)
... except StorageQuotaError as e:
...     print("refused")
refused
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping

from aion.platform.storage.errors import StorageQuotaError


class StorageQuota(ABC):
    """Accounting hook for bytes stored per company."""

    @abstractmethod
    def used(self, company_id: str) -> int: ...

    @abstractmethod
    def limit(self, company_id: str) -> int | None:
        """Bytes allowed, or ``None`` for unlimited."""

    @abstractmethod
    def holds(self, company_id: str, sha256: str) -> bool:
        """Whether the company already references (and was charged for) this blob."""

    @abstractmethod
    def charge(self, company_id: str, sha256: str, size: int) -> None:
        """The company now references this blob (idempotent per blob)."""

    @abstractmethod
    def release(self, company_id: str, sha256: str) -> None:
        """The company no longer references this blob."""

    def check(self, company_id: str, additional_bytes: int) -> None:
        """Raise :class:`StorageQuotaError` if ``additional_bytes`` more would not fit."""
        limit = self.limit(company_id)
        used = self.used(company_id)
        if limit is not None and used + additional_bytes > limit:
            raise StorageQuotaError(
                f"저장 용량 초과: {company_id} {used} + {additional_bytes} > {limit} bytes / "
                f"Storage quota exceeded: {company_id} {used} + {additional_bytes} > {limit} bytes"
            )


class InMemoryStorageQuota(StorageQuota):
    def __init__(self, limits: Mapping[str, int] | None = None, default_limit: int | None = None) -> None:
        self.limits = dict(limits or {})
        self.default_limit = default_limit
        self.refs_: dict[str, dict[str, int]] = {}

    def used(self, company_id: str) -> int:
        return sum(self.refs_.get(company_id, {}).values())

    def limit(self, company_id: str) -> int | None:
        return self.limits.get(company_id, self.default_limit)

    def holds(self, company_id: str, sha256: str) -> bool:
        return sha256 in self.refs_.get(company_id, {})

    def charge(self, company_id: str, sha256: str, size: int) -> None:
        self.refs_.setdefault(company_id, {})[sha256] = size

    def release(self, company_id: str, sha256: str) -> None:
        self.refs_.get(company_id, {}).pop(sha256, None)
