"""A discrete-event simulation of a day on the shared cluster, driving the real scheduler.

Demand is deliberately unequal: job counts per company follow a Zipf law, weights are 1, 2 or 4,
heavy companies drop a backlog at the start of the day, the others trickle in. A few of the
program's demo jobs arrive during the day and preempt. The cluster is sized so that demand is
about 1.6 times capacity, so heavy companies stay backlogged and fair share is what decides.

Two figures (defined precisely in docs/compute.md):

* ``decision_ms_p99``: 99th percentile wall time of one :meth:`FairShareScheduler.decide` call
  with exactly ``queue_size`` (1,000) jobs queued, measured on a separate steady-state run.
* ``max_share_error``: over the companies with enough demand (backlogged during at least
  ``backlog_threshold`` of the measurement window), the largest absolute gap between a company's
  share of the dominant-resource seconds those companies used and its share of their weights.

>>> r = simulate(SimConfig(companies=5, jobs=60, hours=2, queue_size=50, decision_samples=20))
>>> r.jobs_started > 0 and r.decision_ms_p99 >= 0
True
"""

from __future__ import annotations

import heapq
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from aion.platform.compute.jobs import Job, JobKind, JobSpec, JobState
from aion.platform.compute.policy import CompanyPolicy, Node, Quota
from aion.platform.compute.scheduler import FairShareScheduler

ProgressFn = Callable[[str, float], None]


@dataclass(frozen=True)
class SimConfig:
    companies: int = 50
    jobs: int = 1000
    hours: float = 24.0
    seed: int = 7
    overload: float = 1.6
    demo_jobs: int = 8
    queue_size: int = 1000
    decision_samples: int = 500
    backlog_threshold: float = 0.99
    warmup_hours: float = 0.5
    half_life_s: float = 24 * 3600.0


class CompanyShare(NamedTuple):
    """One company's outcome over the measurement window."""

    company_id: str
    weight: float
    backlogged: float
    share: float
    target: float


@dataclass(frozen=True)
class SimResult:
    decision_ms_p99: float
    decision_ms_p50: float
    decision_ms_max: float
    sim_decision_ms_p99: float
    max_share_error: float
    max_share_rel_error: float
    companies_with_enough_demand: int
    utilization: float
    jobs_started: int
    jobs_completed: int
    preemptions: int
    decisions: int
    nodes: int
    cpus: float
    gpus: float
    wall_s: float
    shares: tuple[CompanyShare, ...] = ()


@dataclass(frozen=True)
class _Arrival:
    at: float
    spec: JobSpec
    duration: float


def _workload(cfg: SimConfig, rng: random.Random) -> tuple[dict[str, CompanyPolicy], list[_Arrival]]:
    ids = [f"c{i:03d}" for i in range(cfg.companies)]
    policies = {
        c: CompanyPolicy(weight=rng.choice((1.0, 2.0, 4.0)), quota=Quota(max_concurrent_jobs=40)) for c in ids
    }
    zipf = [1.0 / (i + 1) for i in range(cfg.companies)]
    total = sum(zipf)
    counts = [max(1, round(cfg.jobs * z / total)) for z in zipf]
    while sum(counts) > cfg.jobs and max(counts) > 1:
        counts[counts.index(max(counts))] -= 1
    horizon = cfg.hours * 3600.0
    heavy = set(ids[: max(1, cfg.companies // 5)])
    arrivals: list[_Arrival] = []
    for c, n in zip(ids, counts, strict=True):
        for k in range(n):
            duration = min(6 * 3600.0, max(300.0, rng.lognormvariate(7.9, 0.7)))  # median ~45 min
            estimate = duration * rng.lognormvariate(0.0, 0.3)
            gpus = 1.0 if rng.random() < 0.2 else 0.0
            spec = JobSpec(
                company_id=c,
                kind=JobKind.TRAIN if gpus else rng.choice((JobKind.EVALUATE, JobKind.SCORE, JobKind.TRAIN)),
                cpus=float(rng.choice((1, 2, 4, 8))),
                gpus=gpus,
                estimated_seconds=estimate,
                priority=0,
            )
            if c in heavy:
                at = 0.0 if k < n // 2 else rng.uniform(0.0, horizon / 2)
            else:
                at = rng.uniform(0.0, horizon * 0.9)
            arrivals.append(_Arrival(at, spec, duration))
    demo_company = "program"
    policies[demo_company] = CompanyPolicy(weight=1.0)
    for _ in range(cfg.demo_jobs):
        spec = JobSpec(
            company_id=demo_company,
            kind=JobKind.EVALUATE,
            cpus=8.0,
            gpus=1.0,
            estimated_seconds=1800.0,
            demo=True,
        )
        arrivals.append(_Arrival(rng.uniform(horizon * 0.1, horizon * 0.9), spec, 1800.0))
    arrivals.sort(key=lambda a: a.at)
    return policies, arrivals


def _cluster(cfg: SimConfig, arrivals: list[_Arrival]) -> list[Node]:
    horizon = cfg.hours * 3600.0
    cpu_demand = sum(a.spec.cpus * a.duration for a in arrivals)
    gpu_demand = sum(a.spec.gpus * a.duration for a in arrivals)
    n_cpu = max(1, round(cpu_demand / (cfg.overload * horizon * 32)))
    gpus_per_node = max(1, round(gpu_demand / (cfg.overload * horizon * n_cpu)))
    return [Node(f"node{i:02d}", cpus=32.0, gpus=float(gpus_per_node)) for i in range(n_cpu)]


def _p(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def _decision_bench(
    cfg: SimConfig, policies: dict[str, CompanyPolicy], nodes: list[Node], arrivals: list[_Arrival]
) -> list[float]:
    """Decision times (ms) with exactly ``queue_size`` jobs queued, in steady state."""
    rng = random.Random(cfg.seed + 1)
    sched = FairShareScheduler(nodes, policies, half_life_s=cfg.half_life_s)
    specs = [a.spec for a in arrivals if not a.spec.demo]
    counter = 0

    def add(now: float) -> None:
        nonlocal counter
        counter += 1
        sched.enqueue(Job(id=f"b{counter}", spec=rng.choice(specs), submitted_at=now))

    now = 0.0
    times: list[float] = []
    while len(sched.queued_) < cfg.queue_size:
        add(now)
    for _ in range(cfg.decision_samples):
        t0 = time.perf_counter()
        sched.decide(now)
        times.append((time.perf_counter() - t0) * 1000.0)
        now += 30.0
        running = sched.running()
        for job in rng.sample(running, k=min(len(running), 2)):
            sched.finish(job, JobState.SUCCEEDED, now)
        while len(sched.queued_) < cfg.queue_size:
            add(now)
    return times


def simulate(cfg: SimConfig = SimConfig(), progress: ProgressFn | None = None) -> SimResult:
    """Run the simulated day and the decision-time measurement."""
    wall0 = time.perf_counter()
    rng = random.Random(cfg.seed)
    policies, arrivals = _workload(cfg, rng)
    nodes = _cluster(cfg, arrivals)
    sched = FairShareScheduler(nodes, policies, half_life_s=cfg.half_life_s)
    horizon = cfg.hours * 3600.0
    warmup = min(cfg.warmup_hours * 3600.0, horizon / 4)
    durations: dict[str, float] = {}
    events: list[tuple[float, int, str, str]] = []  # (time, seq, kind, job id)
    jobs: dict[str, Job] = {}
    seq = 0
    for i, a in enumerate(arrivals):
        job = Job(id=f"j{i:05d}", spec=a.spec, submitted_at=a.at)
        jobs[job.id] = job
        durations[job.id] = a.duration
        heapq.heappush(events, (a.at, seq, "arrive", job.id))
        seq += 1
    t = 0.0
    while t < horizon:  # periodic ticks so reservations and backoffs are looked at
        heapq.heappush(events, (t, seq, "tick", ""))
        seq += 1
        t += 300.0
    usage: dict[str, float] = {c: 0.0 for c in policies}
    backlog: dict[str, float] = {c: 0.0 for c in policies}
    sim_times: list[float] = []
    started = completed = preempted = 0
    busy = 0.0
    now = 0.0
    last = 0.0
    last_backlogged: set[str] = set()
    while events and events[0][0] < horizon:
        now = events[0][0]
        # account the interval since the last decision
        lo, hi = max(last, warmup), now
        if hi > lo:
            for r in sched.running_.values():
                share = sched.dominant_share(r)
                usage[r.company_id] += share * (hi - lo)
                busy += share * (hi - lo)
            for c in last_backlogged:
                backlog[c] += hi - lo
        last = now
        while events and events[0][0] == now:
            _, _, kind, job_id = heapq.heappop(events)
            ev_job = jobs.get(job_id) if job_id else None
            if kind == "arrive" and ev_job is not None:
                sched.enqueue(ev_job)
            elif (
                kind == "done"
                and ev_job is not None
                and ev_job.state is JobState.RUNNING
                and ev_job.started_at is not None
                and abs(ev_job.started_at + durations[ev_job.id] - now) < 1e-6
            ):
                sched.finish(ev_job, JobState.SUCCEEDED, now)
                completed += 1
        t0 = time.perf_counter()
        decision = sched.decide(now)
        sim_times.append((time.perf_counter() - t0) * 1000.0)
        preempted += len(decision.preempted)
        for s in decision.starts:
            started += 1
            heapq.heappush(events, (now + durations[s.job_id], seq, "done", s.job_id))
            seq += 1
        last_backlogged = sched.waiting_companies(now)
        if progress is not None:
            progress("simulate", min(1.0, now / horizon))
    lo = max(last, warmup)
    if horizon > lo:
        for r in sched.running_.values():
            usage[r.company_id] += sched.dominant_share(r) * (horizon - lo)
            busy += sched.dominant_share(r) * (horizon - lo)
        for c in last_backlogged:
            backlog[c] += horizon - lo
    window = horizon - warmup
    enough = [c for c in policies if backlog[c] >= cfg.backlog_threshold * window]
    err = rel = 0.0
    used_s = sum(usage[c] for c in enough)
    weight_s = sum(policies[c].weight for c in enough)
    shares: list[CompanyShare] = []
    if enough and used_s > 0:
        for c in enough:
            target = policies[c].weight / weight_s
            gap = abs(usage[c] / used_s - target)
            err = max(err, gap)
            rel = max(rel, gap / target)
            shares.append(CompanyShare(c, policies[c].weight, backlog[c] / window, usage[c] / used_s, target))
    if progress is not None:
        progress("decision benchmark", 0.0)
    bench = _decision_bench(cfg, policies, nodes, arrivals)
    return SimResult(
        decision_ms_p99=_p(bench, 0.99),
        decision_ms_p50=_p(bench, 0.5),
        decision_ms_max=max(bench) if bench else 0.0,
        sim_decision_ms_p99=_p(sim_times, 0.99),
        max_share_error=err,
        max_share_rel_error=rel,
        companies_with_enough_demand=len(enough),
        utilization=busy / window if window > 0 else 0.0,
        jobs_started=started,
        jobs_completed=completed,
        preemptions=preempted,
        decisions=len(sim_times),
        nodes=len(nodes),
        cpus=sum(n.cpus for n in nodes),
        gpus=sum(n.gpus for n in nodes),
        wall_s=time.perf_counter() - wall0,
        shares=tuple(shares),
    )
