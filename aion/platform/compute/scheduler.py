"""The multi-tenant scheduler: quotas, priorities, weighted fair share, demo preemption.

The scheduler is pure bookkeeping: it never runs anything. It holds the queued and running
:class:`~aion.platform.compute.jobs.Job` objects, and :meth:`FairShareScheduler.decide` returns
which queued jobs to start on which node and which running jobs to preempt. The caller (the
:class:`~aion.platform.compute.service.JobService` or the simulator) carries the decision out.

Ordering of one decision (see docs/compute.md):

1. Rank: demo jobs before other jobs, then higher ``priority`` before lower, across companies.
2. Within a rank, weighted fair share: the company with the smallest
   ``decayed_usage / weight`` goes next. Usage is dominant-resource seconds (a job's share of the
   cluster is ``max(cpus / total_cpus, gpus / total_gpus)``), charged with the job's estimate when
   it starts, trued up with the real run time when it stops, and decayed with a half-life.
3. Within a company, its own jobs in (rank, submit time) order; a company's first job that its
   quota admits is its candidate, and a company is never skipped past inside itself.
4. Quotas: concurrent jobs, and CPU/GPU hours per month counting recorded usage plus the expected
   usage of running jobs plus the candidate's estimate.
5. A candidate that fits no node's free capacity lets others backfill; once it has waited
   ``reserve_after_s`` it reserves the node where it fits best, which then takes no new jobs.
   A demo candidate instead preempts the cheapest set of lower-ranked preemptible jobs on one node.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from aion.platform.compute.errors import ComputeError, QuotaError
from aion.platform.compute.jobs import Job, JobState
from aion.platform.compute.policy import DEFAULT_POLICY, CompanyPolicy, Node, month_key
from aion.platform.compute.usage import UsageLedger, UsageRecord


class Start(NamedTuple):
    job_id: str
    node: str


@dataclass
class Decision:
    """What one call of :meth:`FairShareScheduler.decide` wants done."""

    starts: list[Start] = field(default_factory=list)
    preempted: list[str] = field(default_factory=list)


class CompanyView(NamedTuple):
    """A company's line on the admin's usage page."""

    company_id: str
    weight: float
    queued: int
    running: int
    cpus_in_use: float
    gpus_in_use: float
    cpu_hours_month: float
    gpu_hours_month: float
    fair_share_usage: float


class NodeView(NamedTuple):
    """A node's line on the admin's usage page."""

    name: str
    cpus: float
    gpus: float
    cpus_free: float
    gpus_free: float
    running: int


def _order_key(job: Job) -> tuple[bool, int, float, str]:
    return (not job.spec.demo, -job.spec.priority, job.submitted_at, job.id)


class FairShareScheduler:
    """Chooses the next jobs to start given free capacity per node."""

    def __init__(
        self,
        nodes: Sequence[Node],
        policies: Mapping[str, CompanyPolicy] | None = None,
        default_policy: CompanyPolicy = DEFAULT_POLICY,
        half_life_s: float = 24 * 3600.0,
        reserve_after_s: float = 600.0,
        preempt_for_demo: bool = True,
        backfill_within_company: bool = False,
        ledger: UsageLedger | None = None,
    ) -> None:
        self.nodes = list(nodes)
        self.policies = dict(policies or {})
        self.default_policy = default_policy
        self.half_life_s = half_life_s
        self.reserve_after_s = reserve_after_s
        self.preempt_for_demo = preempt_for_demo
        self.backfill_within_company = backfill_within_company
        self.ledger = ledger if ledger is not None else UsageLedger()
        if not self.nodes:
            raise ComputeError("노드가 없음 / No nodes to schedule on")
        self.nodes_ = {n.name: n for n in self.nodes}
        self.total_cpus_ = sum(n.cpus for n in self.nodes)
        self.total_gpus_ = sum(n.gpus for n in self.nodes)
        self.free_ = {n.name: [n.cpus, n.gpus] for n in self.nodes}
        self.queues_: dict[str, list[tuple[tuple[bool, int, float, str], Job]]] = {}
        self.queued_: dict[str, Job] = {}
        self.running_: dict[str, Job] = {}
        self.running_by_company_: dict[str, dict[str, Job]] = {}
        self.charge_: dict[str, tuple[float, float]] = {}  # company -> (charge, as of time)
        self.new_records_: list[UsageRecord] = []

    # ------------------------------------------------------------------ policies and admission
    def policy(self, company_id: str) -> CompanyPolicy:
        return self.policies.get(company_id, self.default_policy)

    def set_policy(self, company_id: str, policy: CompanyPolicy) -> None:
        """Change a company's weight or quota; takes effect at the next decision."""
        self.policies[company_id] = policy

    def validate(self, job: Job) -> None:
        """Raise :class:`QuotaError` if the job could never start here."""
        spec = job.spec
        if not any(n.fits(spec.cpus, spec.gpus) for n in self.nodes):
            sizes = ", ".join(f"{n.name}({n.cpus:g} CPU, {n.gpus:g} GPU)" for n in self.nodes)
            raise QuotaError(
                f"어느 노드에도 맞지 않음: {spec.cpus:g} CPU, {spec.gpus:g} GPU (노드: {sizes}) / "
                f"Job fits no node: {spec.cpus:g} CPU, {spec.gpus:g} GPU (nodes: {sizes})"
            )
        quota = self.policy(spec.company_id).quota
        if spec.gpus > 0 and not quota.allows_gpus:
            raise QuotaError(
                f"GPU 쿼터가 0인 회사: {spec.company_id} / Company {spec.company_id} has a zero GPU quota"
            )
        if quota.max_concurrent_jobs == 0:
            raise QuotaError(
                f"동시 작업 쿼터가 0인 회사: {spec.company_id} / "
                f"Company {spec.company_id} may run no jobs (max_concurrent_jobs=0)"
            )

    def _admitted(self, job: Job, now: float) -> bool:
        spec = job.spec
        quota = self.policy(spec.company_id).quota
        running = self.running_by_company_.get(spec.company_id, {})
        if quota.max_concurrent_jobs is not None and len(running) >= quota.max_concurrent_jobs:
            return False
        if quota.cpu_hours_per_month is None and quota.gpu_hours_per_month is None:
            return True
        cpu_s, gpu_s = self.ledger.used(spec.company_id, month_key(now))
        for r in running.values():
            expected = max(r.spec.estimated_seconds, now - (r.started_at or now))
            cpu_s += r.spec.cpus * expected
            gpu_s += r.spec.gpus * expected
        if quota.cpu_hours_per_month is not None and (
            cpu_s + spec.cpus * spec.estimated_seconds > quota.cpu_hours_per_month * 3600.0 + 1e-6
        ):
            return False
        return not (
            spec.gpus > 0
            and quota.gpu_hours_per_month is not None
            and gpu_s + spec.gpus * spec.estimated_seconds > quota.gpu_hours_per_month * 3600.0 + 1e-6
        )

    # ------------------------------------------------------------------ fair-share accounting
    def dominant_share(self, job: Job) -> float:
        """The job's share of the cluster in its dominant resource."""
        share = job.spec.cpus / self.total_cpus_ if self.total_cpus_ else 0.0
        if self.total_gpus_ > 0:
            share = max(share, job.spec.gpus / self.total_gpus_)
        return share

    def fair_usage(self, company_id: str, now: float) -> float:
        """Decayed dominant-resource seconds charged to the company as of ``now``."""
        charge, since = self.charge_.get(company_id, (0.0, now))
        if self.half_life_s <= 0 or math.isinf(self.half_life_s):
            return charge
        return charge * 0.5 ** (max(0.0, now - since) / self.half_life_s)

    def _charge(self, company_id: str, amount: float, now: float) -> None:
        self.charge_[company_id] = (max(0.0, self.fair_usage(company_id, now) + amount), now)

    # ------------------------------------------------------------------ queue bookkeeping
    def enqueue(self, job: Job) -> None:
        """Add a queued job (new, retried, or loaded from the store on restart)."""
        if job.state is not JobState.QUEUED:
            raise ComputeError(f"queued 상태가 아님: {job.id} ({job.state.value}) / Job is not queued")
        if job.id in self.queued_ or job.id in self.running_:
            return
        self.queued_[job.id] = job
        bisect.insort(self.queues_.setdefault(job.company_id, []), (_order_key(job), job))

    def dequeue(self, job_id: str) -> Job | None:
        """Remove a queued job (cancelled); returns it, or ``None`` if it was not queued."""
        job = self.queued_.pop(job_id, None)
        if job is not None:
            q = self.queues_[job.company_id]
            i = bisect.bisect_left(q, (_order_key(job),))
            while q[i][1].id != job_id:
                i += 1
            del q[i]
            if not q:
                del self.queues_[job.company_id]
        return job

    def adopt(self, job: Job) -> None:
        """Track a job that is already running (reconciled after a restart)."""
        if job.node not in self.nodes_:
            job.node = self.nodes[0].name
        self._occupy(job)

    def _occupy(self, job: Job) -> None:
        assert job.node is not None
        free = self.free_[job.node]
        free[0] -= job.spec.cpus
        free[1] -= job.spec.gpus
        self.running_[job.id] = job
        self.running_by_company_.setdefault(job.company_id, {})[job.id] = job

    def _release(self, job: Job, now: float) -> None:
        self.running_.pop(job.id, None)
        by = self.running_by_company_.get(job.company_id, {})
        by.pop(job.id, None)
        if not by:
            self.running_by_company_.pop(job.company_id, None)
        if job.node in self.free_:
            free = self.free_[job.node]
            free[0] += job.spec.cpus
            free[1] += job.spec.gpus
        started = job.started_at if job.started_at is not None else now
        ran = max(0.0, now - started)
        self._charge(job.company_id, self.dominant_share(job) * (ran - job.spec.estimated_seconds), now)
        self.new_records_ += self.ledger.add(job.company_id, started, now, job.spec.cpus, job.spec.gpus)
        job.cpu_seconds += job.spec.cpus * ran
        job.gpu_seconds += job.spec.gpus * ran

    def finish(self, job: Job, state: JobState, now: float) -> None:
        """A running job stopped (succeeded, failed, cancelled, or back to queued for a retry)."""
        if job.id in self.running_:
            self._release(job, now)
        job.move(state)
        job.node = None
        if state is JobState.QUEUED:
            job.started_at = None
            self.enqueue(job)
        else:
            job.finished_at = now

    def take_usage_records(self) -> list[UsageRecord]:
        """Usage pieces recorded since the last call (for the caller to persist)."""
        out, self.new_records_ = self.new_records_, []
        return out

    # ------------------------------------------------------------------ the decision
    def waiting_companies(self, now: float) -> set[str]:
        """Companies with a queued job that their quota would let start now (waiting for capacity)."""
        out = set()
        for company_id, queue in self.queues_.items():
            quota = self.policy(company_id).quota
            running = len(self.running_by_company_.get(company_id, ()))
            if quota.max_concurrent_jobs is not None and running >= quota.max_concurrent_jobs:
                continue
            if any(job.not_before <= now and self._admitted(job, now) for _, job in queue):
                out.add(company_id)
        return out

    def _pick(
        self, company_id: str, now: float, reserved: set[str], nofit: set[tuple[float, float]]
    ) -> tuple[Job | None, str | None, Job | None]:
        """The company's next job to start and where, and its blocked head job if any.

        Jobs are looked at in the company's own order; one over the monthly hours quota is passed
        over, and one that fits no free node is passed over in favour of a later one that fits
        (backfill inside the company), except that a demo head job is never passed over.
        """
        quota = self.policy(company_id).quota
        running = len(self.running_by_company_.get(company_id, ()))
        if quota.max_concurrent_jobs is not None and running >= quota.max_concurrent_jobs:
            return None, None, None
        head: Job | None = None
        for _, job in self.queues_.get(company_id, ()):
            if job.not_before > now:
                continue
            shape = (job.spec.cpus, job.spec.gpus)
            if shape in nofit:
                if head is None and self._admitted(job, now):
                    head = job
                    if job.spec.demo or not self.backfill_within_company:
                        return None, None, head
                continue
            if not self._admitted(job, now):
                continue
            node = self._place(job, reserved)
            if node is not None:
                return job, node, head
            nofit.add(shape)
            if head is None:
                head = job
                if job.spec.demo or not self.backfill_within_company:
                    return None, None, head
        return None, None, head

    def _place(self, job: Job, reserved: set[str]) -> str | None:
        best: tuple[float, float, str] | None = None
        cpus, gpus = job.spec.cpus, job.spec.gpus
        for name, (fc, fg) in self.free_.items():
            if name in reserved or fc + 1e-9 < cpus or fg + 1e-9 < gpus:
                continue
            key = (fg - gpus, fc - cpus, name)  # best fit: keep GPUs and big holes free
            if best is None or key < best:
                best = key
        return best[2] if best else None

    def _preemption_plan(self, job: Job) -> tuple[str, list[Job]] | None:
        best: tuple[tuple[tuple[bool, int], int, float], str, list[Job]] | None = None
        for node in self.nodes:
            if not node.fits(job.spec.cpus, job.spec.gpus):
                continue
            victims = sorted(
                (
                    r
                    for r in self.running_.values()
                    if r.node == node.name and r.spec.preemptible and r.spec.rank < job.spec.rank
                ),
                key=lambda r: (r.spec.rank, -(r.started_at or 0.0)),
            )
            fc, fg = self.free_[node.name]
            chosen: list[Job] = []
            for v in victims:
                if fc + 1e-9 >= job.spec.cpus and fg + 1e-9 >= job.spec.gpus:
                    break
                chosen.append(v)
                fc += v.spec.cpus
                fg += v.spec.gpus
            if fc + 1e-9 >= job.spec.cpus and fg + 1e-9 >= job.spec.gpus:
                # lowest-ranked victims first, then as few and as small as possible
                worst = max((v.spec.rank for v in chosen), default=(False, -(2**62)))
                cost = (worst, len(chosen), sum(v.spec.cpus + v.spec.gpus for v in chosen))
                if best is None or cost < best[0]:
                    best = (cost, node.name, chosen)
        return (best[1], best[2]) if best else None

    def _start(self, job: Job, node: str, now: float) -> None:
        self.dequeue(job.id)
        job.move(JobState.RUNNING)
        job.node = node
        job.started_at = now
        job.attempts += 1
        self._occupy(job)
        self._charge(job.company_id, self.dominant_share(job) * job.spec.estimated_seconds, now)

    def decide(self, now: float) -> Decision:
        """Start what fits now; returns the starts and the preempted job ids."""
        decision = Decision()
        reserved: set[str] = set()
        nofit: set[tuple[float, float]] = set()  # shapes that fit no free node in this decision
        heap: list[tuple[tuple[bool, int], float, str]] = []

        def push(company_id: str) -> None:
            job, _, head = self._pick(company_id, now, reserved, nofit)
            cand = job if job is not None else head
            if cand is not None:
                key = self.fair_usage(company_id, now) / self.policy(company_id).weight
                heapq.heappush(heap, ((not cand.spec.demo, -cand.spec.priority), key, company_id))

        for company_id in list(self.queues_):
            push(company_id)
        while heap:
            rank, _, company_id = heapq.heappop(heap)
            job, node, head = self._pick(company_id, now, reserved, nofit)
            if head is not None and (head.spec.demo, head.spec.priority) >= (
                (job.spec.demo, job.spec.priority) if job is not None else (False, -(2**62))
            ):
                # the company's first job does not fit: preempt for it, or reserve a node for it
                if head.spec.demo and self.preempt_for_demo:
                    plan = self._preemption_plan(head)
                    if plan is not None:
                        node, victims = plan
                        for v in victims:
                            v.preemptions += 1
                            self.finish(v, JobState.QUEUED, now)
                            decision.preempted.append(v.id)
                            decision.starts = [st for st in decision.starts if st.job_id != v.id]
                        reserved.discard(node)
                        nofit.clear()
                        job = head
                elif not reserved and now - max(head.submitted_at, head.not_before) >= self.reserve_after_s:
                    fits = [n for n in self.nodes if n.fits(head.spec.cpus, head.spec.gpus)]
                    if fits:
                        target = max(fits, key=lambda n: (self.free_[n.name][1], self.free_[n.name][0]))
                        reserved.add(target.name)
                        nofit.clear()
                        job, node, _ = self._pick(company_id, now, reserved, nofit)
            if job is None or node is None:
                continue  # this company waits; others may backfill
            if (not job.spec.demo, -job.spec.priority) != rank:
                heapq.heappush(heap, ((not job.spec.demo, -job.spec.priority), _, company_id))
                continue
            self._start(job, node, now)
            decision.starts.append(Start(job.id, node))
            push(company_id)
        return decision

    # ------------------------------------------------------------------ views
    def queued(self) -> list[Job]:
        return list(self.queued_.values())

    def running(self) -> list[Job]:
        return list(self.running_.values())

    def company_views(self, now: float, companies: Iterable[str] = ()) -> list[CompanyView]:
        """Queues and usage per company (this month), for the admin page."""
        ids = sorted(set(companies) | set(self.queues_) | set(self.running_by_company_) | set(self.policies))
        month = month_key(now)
        out = []
        for c in ids:
            running = list(self.running_by_company_.get(c, {}).values())
            cpu_s, gpu_s = self.ledger.used(c, month)
            for r in running:
                ran = max(0.0, now - (r.started_at or now))
                cpu_s += r.spec.cpus * ran
                gpu_s += r.spec.gpus * ran
            out.append(
                CompanyView(
                    company_id=c,
                    weight=self.policy(c).weight,
                    queued=len(self.queues_.get(c, ())),
                    running=len(running),
                    cpus_in_use=sum(r.spec.cpus for r in running),
                    gpus_in_use=sum(r.spec.gpus for r in running),
                    cpu_hours_month=cpu_s / 3600.0,
                    gpu_hours_month=gpu_s / 3600.0,
                    fair_share_usage=self.fair_usage(c, now),
                )
            )
        return out

    def node_views(self) -> list[NodeView]:
        """Free capacity and running jobs per node, for the admin page."""
        counts: dict[str, int] = {}
        for r in self.running_.values():
            counts[r.node or ""] = counts.get(r.node or "", 0) + 1
        return [
            NodeView(
                n.name, n.cpus, n.gpus, self.free_[n.name][0], self.free_[n.name][1], counts.get(n.name, 0)
            )
            for n in self.nodes
        ]
