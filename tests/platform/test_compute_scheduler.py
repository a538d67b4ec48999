"""The scheduler alone: quotas, fair share, priorities, preemption, reservation, usage."""

from __future__ import annotations

import pytest

from aion.platform.compute.errors import ComputeError, InvalidTransitionError, QuotaError
from aion.platform.compute.jobs import Job, JobSpec, JobState
from aion.platform.compute.policy import CompanyPolicy, Node, Quota, month_key
from aion.platform.compute.scheduler import FairShareScheduler

T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC

_n = 0


def job(company: str, at: float = T0, **kw: object) -> Job:
    global _n
    _n += 1
    return Job(id=f"j{_n:05d}", spec=JobSpec(company_id=company, **kw), submitted_at=at)  # type: ignore[arg-type]


def started_companies(sched: FairShareScheduler, now: float) -> list[str]:
    return [sched.running_[s.job_id].company_id for s in sched.decide(now).starts]


def test_concurrency_quota_holds_back_jobs_while_others_use_the_room() -> None:
    sched = FairShareScheduler([Node("n", cpus=8)], {"a": CompanyPolicy(quota=Quota(max_concurrent_jobs=2))})
    for _ in range(5):
        sched.enqueue(job("a", cpus=1))
    sched.enqueue(job("b", cpus=1))
    starts = started_companies(sched, T0)
    assert starts.count("a") == 2 and starts.count("b") == 1
    assert len(sched.queued()) == 3
    # one of a's jobs ends: exactly one more of a's starts
    first_a = next(j for j in sched.running() if j.company_id == "a")
    sched.finish(first_a, JobState.SUCCEEDED, T0 + 60)
    assert started_companies(sched, T0 + 60) == ["a"]


def test_monthly_cpu_hours_count_recorded_and_running_usage() -> None:
    quota = Quota(cpu_hours_per_month=3.0)
    sched = FairShareScheduler([Node("n", cpus=8)], {"a": CompanyPolicy(quota=quota)})
    jobs = [job("a", cpus=1, estimated_seconds=3600) for _ in range(4)]
    for j in jobs:
        sched.enqueue(j)
    assert len(sched.decide(T0).starts) == 3  # 3 x 1 CPU-hour fits, the 4th would not
    for j in sched.running():
        sched.finish(j, JobState.SUCCEEDED, T0 + 3600)
    assert sched.ledger.used("a", month_key(T0)) == (3 * 3600.0, 0.0)
    assert sched.decide(T0 + 3600).starts == []  # the month is spent
    # a new month resets the quota
    next_month = T0 + 31 * 86400
    assert [s.job_id for s in sched.decide(next_month).starts] == [jobs[3].id]


def test_gpu_hours_quota_passes_over_gpu_jobs_but_not_cpu_jobs() -> None:
    sched = FairShareScheduler(
        [Node("g", cpus=8, gpus=2)], {"a": CompanyPolicy(quota=Quota(gpu_hours_per_month=1.0))}
    )
    big_gpu = job("a", cpus=1, gpus=1, estimated_seconds=2 * 3600)
    cpu = job("a", at=T0 + 1, cpus=1)
    sched.enqueue(big_gpu)
    sched.enqueue(cpu)
    assert [s.job_id for s in sched.decide(T0 + 2).starts] == [cpu.id]
    assert big_gpu.state is JobState.QUEUED


def test_jobs_that_can_never_run_are_refused_with_reasons() -> None:
    sched = FairShareScheduler(
        [Node("n", cpus=4)],
        {
            "nogpu": CompanyPolicy(quota=Quota(gpu_hours_per_month=0)),
            "off": CompanyPolicy(quota=Quota(max_concurrent_jobs=0)),
        },
    )
    with pytest.raises(QuotaError, match="fits no node"):
        sched.validate(job("a", cpus=16))
    with pytest.raises(QuotaError, match="fits no node"):
        sched.validate(job("a", gpus=1))
    sched2 = FairShareScheduler(
        [Node("g", cpus=4, gpus=1)], {"nogpu": CompanyPolicy(quota=Quota(gpu_hours_per_month=0))}
    )
    with pytest.raises(QuotaError, match="zero GPU quota"):
        sched2.validate(job("nogpu", gpus=1))
    with pytest.raises(QuotaError, match="max_concurrent_jobs=0"):
        sched.validate(job("off"))
    with pytest.raises(ComputeError, match="cpus"):
        JobSpec(company_id="a", cpus=0)


def test_weighted_fair_share_over_many_decisions() -> None:
    """Three always-backlogged companies with weights 1:2:5 get that share of the cluster."""
    weights = {"a": 1.0, "b": 2.0, "c": 5.0}
    sched = FairShareScheduler([Node("n", cpus=8)], {c: CompanyPolicy(weight=w) for c, w in weights.items()})
    used = dict.fromkeys(weights, 0.0)
    now = T0
    for c in weights:
        for _ in range(400):
            sched.enqueue(job(c, cpus=1, estimated_seconds=600))
    for _ in range(300):
        sched.decide(now)
        now += 60
        for j in sched.running():  # every job runs exactly 10 minutes
            if now - (j.started_at or now) >= 600:
                used[j.company_id] += 600
                sched.finish(j, JobState.SUCCEEDED, now)
    total = sum(used.values())
    for c, w in weights.items():
        assert used[c] / total == pytest.approx(w / sum(weights.values()), abs=0.02)


def test_light_company_is_served_before_a_heavy_user() -> None:
    sched = FairShareScheduler([Node("n", cpus=2)])
    for _ in range(10):
        sched.enqueue(job("heavy", cpus=1, estimated_seconds=60))
    assert started_companies(sched, T0) == ["heavy", "heavy"]
    sched.enqueue(job("light", at=T0 + 1, cpus=1, estimated_seconds=60))
    sched.finish(sched.running()[0], JobState.SUCCEEDED, T0 + 60)
    assert started_companies(sched, T0 + 60) == ["light"]


def test_usage_decays_with_the_half_life() -> None:
    sched = FairShareScheduler([Node("n", cpus=4)], half_life_s=3600)
    j = job("a", cpus=4, estimated_seconds=100)
    sched.enqueue(j)
    sched.decide(T0)
    sched.finish(j, JobState.SUCCEEDED, T0 + 100)
    # charged 1.0 (whole cluster) x 100 s, decayed for the 100 s it ran
    assert sched.fair_usage("a", T0 + 100) == pytest.approx(100.0 * 0.5 ** (100 / 3600))
    assert sched.fair_usage("a", T0 + 100 + 3600) == pytest.approx(sched.fair_usage("a", T0 + 100) / 2)


def test_priority_goes_first_across_companies_and_within_one() -> None:
    sched = FairShareScheduler([Node("n", cpus=1)])
    low = job("a", cpus=1, priority=0)
    high_b = job("b", at=T0 + 5, cpus=1, priority=5)
    high_a_late = job("a", at=T0 + 9, cpus=1, priority=9)
    for j in (low, high_b, high_a_late):
        sched.enqueue(j)
    order = []
    now = T0 + 10
    for _ in range(3):
        (start,) = sched.decide(now).starts
        order.append(start.job_id)
        now += 10
        sched.finish(sched.running_[start.job_id], JobState.SUCCEEDED, now)
    assert order == [high_a_late.id, high_b.id, low.id]


def test_demo_job_preempts_lowest_ranked_preemptible_work_only() -> None:
    sched = FairShareScheduler([Node("n1", cpus=4), Node("n2", cpus=4)])
    keep = [job("a", cpus=2, preemptible=False) for _ in range(2)]
    old = job("b", cpus=2, priority=1)
    young = job("b", cpus=2)
    for j in (*keep, old):
        sched.enqueue(j)
    sched.decide(T0)
    sched.enqueue(young)
    sched.decide(T0 + 10)
    assert {j.id for j in sched.running()} == {k.id for k in keep} | {old.id, young.id}
    demo = job("program", at=T0 + 20, cpus=2, demo=True)
    sched.enqueue(demo)
    decision = sched.decide(T0 + 30)
    assert decision.preempted == [young.id]  # lowest priority first; never the non-preemptible ones
    assert [s.job_id for s in decision.starts] == [demo.id]
    assert young.state is JobState.QUEUED and young.preemptions == 1
    assert young.cpu_seconds == 2 * 20  # it ran 20 s and that usage is kept
    # a second demo job needing a whole node finds no node it can clear: no preemption
    big = job("program", at=T0 + 31, cpus=4, demo=True)
    sched.enqueue(big)
    assert sched.decide(T0 + 40).preempted == []


def test_a_big_job_is_not_starved_by_small_ones() -> None:
    sched = FairShareScheduler([Node("n", cpus=4)], reserve_after_s=600)
    now = T0
    for _ in range(200):
        sched.enqueue(job("small", at=now, cpus=1, estimated_seconds=300))
    sched.decide(now)
    big = job("big", at=now + 1, cpus=4, estimated_seconds=300)
    sched.enqueue(big)
    for step in range(60):  # noqa: B007 - step is read after the loop
        now += 100
        for j in sched.running():
            if now - (j.started_at or now) >= 300:
                sched.finish(j, JobState.SUCCEEDED, now)
        sched.decide(now)
        if big.state is JobState.RUNNING:
            break
    assert big.state is JobState.RUNNING, "the 4-CPU job never got a node"
    assert step * 100 <= 600 + 300 + 100  # reserved after 10 min, node drained within one job length


def test_states_follow_the_state_machine() -> None:
    j = job("a")
    j.move(JobState.CANCELLED)
    with pytest.raises(InvalidTransitionError, match="valid: none"):
        j.move(JobState.RUNNING)


def test_admin_views_show_queues_and_usage_per_company_and_node() -> None:
    sched = FairShareScheduler([Node("n1", cpus=4), Node("n2", cpus=4, gpus=1)])
    for _ in range(3):
        sched.enqueue(job("a", cpus=4))
    sched.enqueue(job("b", cpus=1, gpus=1))
    sched.decide(T0)
    views = {v.company_id: v for v in sched.company_views(T0 + 1800)}
    assert (views["a"].running, views["a"].queued, views["a"].cpus_in_use) == (1, 2, 4)
    assert views["a"].cpu_hours_month == pytest.approx(2.0)
    assert views["b"].gpu_hours_month == pytest.approx(0.5)
    nodes = {n.name: n for n in sched.node_views()}
    assert nodes["n2"].gpus_free == 0 and nodes["n2"].cpus_free == 3
    assert nodes["n1"].cpus_free == 0
