"""Quotas from the database: storage bytes per company, and compute policies for the scheduler."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aion.platform.compute.policy import CompanyPolicy, Quota
from aion.platform.errors import QuotaExceeded
from aion.platform.models import BlobRef, PlatformQuota
from aion.platform.storage.quota import StorageQuota

#: Storage allowed to a company without its own quota row (10 GiB).
DEFAULT_STORAGE_BYTES = 10 * 1024**3


def quota_row(session: Session, company_id: int) -> PlatformQuota | None:
    return session.scalars(select(PlatformQuota).where(PlatformQuota.company_id == company_id)).one_or_none()


def storage_used(session: Session, company_id: int) -> int:
    """Bytes of distinct blobs the company references."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(BlobRef.size), 0)).where(BlobRef.company_id == company_id)
        )
        or 0
    )


def storage_limit(session: Session, company_id: int) -> int | None:
    row = quota_row(session, company_id)
    if row is None:
        return DEFAULT_STORAGE_BYTES
    return row.storage_bytes


class DbStorageQuota(StorageQuota):
    """:class:`StorageQuota` over the ``platform_blob_refs`` table, inside the caller's session.

    Company ids are strings in the storage engine's interface and integers here.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def used(self, company_id: str) -> int:
        return storage_used(self.session, int(company_id))

    def limit(self, company_id: str) -> int | None:
        return storage_limit(self.session, int(company_id))

    def holds(self, company_id: str, sha256: str) -> bool:
        stmt = select(BlobRef.id).where(BlobRef.company_id == int(company_id), BlobRef.sha256 == sha256)
        return self.session.scalar(stmt) is not None

    def charge(self, company_id: str, sha256: str, size: int) -> None:
        if not self.holds(company_id, sha256):
            self.session.add(BlobRef(company_id=int(company_id), sha256=sha256, size=size))
            self.session.flush()

    def release(self, company_id: str, sha256: str) -> None:
        for ref in self.session.scalars(
            select(BlobRef).where(BlobRef.company_id == int(company_id), BlobRef.sha256 == sha256)
        ):
            self.session.delete(ref)

    def require(self, company_id: int, blobs: dict[str, int]) -> None:
        """Raise :class:`QuotaExceeded` unless the not-yet-held ``blobs`` (sha -> size) fit."""
        new = sum(size for sha, size in blobs.items() if not self.holds(str(company_id), sha))
        limit = self.limit(str(company_id))
        used = self.used(str(company_id))
        if limit is not None and used + new > limit:
            raise QuotaExceeded(
                "Storage quota exceeded: {used} MB used + {new} MB new > {limit} MB allowed.",
                used=round(used / 1e6, 1),
                new=round(new / 1e6, 1),
                limit=round(limit / 1e6, 1),
            )


def compute_policy(row: PlatformQuota | None) -> CompanyPolicy:
    """The scheduler's policy for a company (defaults when it has no quota row)."""
    if row is None:
        return CompanyPolicy()
    return CompanyPolicy(
        weight=row.weight,
        quota=Quota(
            max_concurrent_jobs=row.max_concurrent_jobs,
            cpu_hours_per_month=row.cpu_hours_per_month,
            gpu_hours_per_month=row.gpu_hours_per_month,
        ),
    )


def all_policies(session: Session) -> dict[str, CompanyPolicy]:
    """Every company's compute policy, keyed by the scheduler's string company id."""
    return {str(r.company_id): compute_policy(r) for r in session.scalars(select(PlatformQuota))}
