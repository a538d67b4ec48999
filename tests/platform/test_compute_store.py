"""The job store contract; the SQL store of the database layer joins the parameter list."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from aion.platform.compute.errors import ComputeError, JobNotFoundError
from aion.platform.compute.jobs import Job, JobSpec, JobState
from aion.platform.compute.store import InMemoryJobStore, JobStore
from aion.platform.compute.usage import UsageLedger, UsageRecord

STORES: list[Callable[[], JobStore]] = [InMemoryJobStore]


@pytest.fixture(params=STORES, ids=lambda f: f.__name__)
def store(request: pytest.FixtureRequest) -> JobStore:
    return request.param()  # type: ignore[no-any-return]


def test_add_get_save_list(store: JobStore) -> None:
    a = Job(id="a", spec=JobSpec(company_id="x", params={"k": 1}), submitted_at=2.0)
    b = Job(id="b", spec=JobSpec(company_id="y"), submitted_at=1.0)
    store.add(a)
    store.add(b)
    with pytest.raises(ComputeError, match="already exists"):
        store.add(a)
    got = store.get("a")
    got.move(JobState.RUNNING)
    got.metrics["loss"] = 0.5
    assert store.get("a").state is JobState.QUEUED  # a copy: unchanged until saved
    store.save(got)
    again = store.get("a")
    assert (again.state, again.metrics, again.spec.params) == (JobState.RUNNING, {"loss": 0.5}, {"k": 1})
    assert [j.id for j in store.list()] == ["b", "a"]  # oldest first
    assert [j.id for j in store.list(states=[JobState.RUNNING])] == ["a"]
    assert [j.id for j in store.list(company_id="y")] == ["b"]
    with pytest.raises(JobNotFoundError):
        store.get("zzz")
    with pytest.raises(JobNotFoundError):
        store.save(Job(id="zzz", spec=JobSpec(company_id="x"), submitted_at=0.0))


def test_usage_records_seed_the_ledger(store: JobStore) -> None:
    store.add_usage([UsageRecord("x", "2026-01", 100.0, 0.0), UsageRecord("x", "2026-01", 50.0, 10.0)])
    ledger = UsageLedger(store.usage_records())
    assert ledger.used("x", "2026-01") == (150.0, 10.0)
    assert ledger.used("x", "2026-02") == (0.0, 0.0)


def test_usage_is_split_at_month_boundaries() -> None:
    ledger = UsageLedger()
    jan31_23h = 1_769_900_400.0  # 2026-01-31 23:00 UTC
    pieces = ledger.add("x", jan31_23h, jan31_23h + 2 * 3600, cpus=2, gpus=1)
    assert [(p.month, p.cpu_seconds, p.gpu_seconds) for p in pieces] == [
        ("2026-01", 7200.0, 3600.0),
        ("2026-02", 7200.0, 3600.0),
    ]
