"""The platform's long-lived parts in a web process: blob store, upload manager, job service.

:class:`PlatformRuntime` is made once per app (``app.state.platform``), started by the router's
lifespan: it loads every company's compute policy, reconciles the executor with the jobs table
(so jobs survive a restart of the web server), then ticks the scheduler in a background thread
and runs each finished job's ``on_success`` hook (e.g. registering a trained model).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, Engine, select, update
from sqlalchemy.orm import Session

from aion.core.db import system_session
from aion.i18n import LocalizedError
from aion.platform.compute.errors import InvalidTransitionError
from aion.platform.compute.executors import executor_from_address
from aion.platform.compute.executors.base import Executor
from aion.platform.compute.jobs import Job, JobSpec
from aion.platform.compute.service import JobService, ReconcileReport
from aion.platform.jobkinds import OutcomeContext, get_kind
from aion.platform.jobstore import SqlJobStore, record_to_job
from aion.platform.models import JobRecord
from aion.platform.quota import all_policies
from aion.platform.storage.blobstore import BlobStore, LocalBlobStore
from aion.platform.storage.factory import store_from_url
from aion.platform.storage.uploads import UploadManager

log = logging.getLogger("aion.platform")
UPLOAD_MAX_AGE_S = 3 * 24 * 3600.0  # an upload not finished in three days is dropped
EXPIRE_EVERY_S = 3600.0
_DETACHED: list[Any] = []  # worker processes still running after their runtime stopped


@dataclass
class PlatformStorage:
    """Where a data directory keeps blobs, uploads in progress, staging and job outputs."""

    root: Path
    store: BlobStore
    uploads: UploadManager
    tmp: Path
    outputs: Path

    @classmethod
    def at(
        cls, data_dir: Path, max_upload_bytes: int | None = None, storage_url: str | None = None
    ) -> PlatformStorage:
        """The data directory's storage; blobs where ``storage_url`` says (None: ``AION_STORAGE_URL``)."""
        root = Path(data_dir)
        if storage_url is None:
            from aion.settings import get_settings

            storage_url = get_settings().storage_url
        store = store_from_url(storage_url, root, cache_dir=root / "blob-cache")
        store.check()  # a remote store that does not answer is a configuration error: say so at start
        uploads = UploadManager(store, root / "uploads", max_size=max_upload_bytes)
        # staging on the blobs' file system when local: renames, not copies
        tmp = store.root / "tmp" / "stage" if isinstance(store, LocalBlobStore) else root / "staging"
        outputs = root / "job-outputs"
        tmp.mkdir(parents=True, exist_ok=True)
        outputs.mkdir(parents=True, exist_ok=True)
        return cls(root, store, uploads, tmp, outputs)

    def new_output_dir(self) -> Path:
        d = self.outputs / uuid.uuid4().hex
        d.mkdir(parents=True)
        return d


class PlatformRuntime:
    """Storage plus the job service of one web app."""

    def __init__(
        self,
        engine: Engine,
        data_dir: Path,
        executor: Executor | None = None,
        tick_s: float = 0.5,
        max_upload_bytes: int | None = None,
        storage_url: str | None = None,
    ) -> None:
        self.engine = engine
        self.storage = PlatformStorage.at(data_dir, max_upload_bytes, storage_url)
        # AION_EXECUTOR: "" / "local" (worker processes) or "ray" / "ray://HOST:PORT"
        self.executor = executor or executor_from_address(
            os.environ.get("AION_EXECUTOR"), str(Path(data_dir) / "runs")
        )
        self.store = SqlJobStore(engine)
        self.tick_s = tick_s
        self.jobs: JobService | None = None
        self.stop_ = threading.Event()
        self.thread_: threading.Thread | None = None
        self.last_report: ReconcileReport | None = None
        self.last_expiry_ = time.monotonic()
        self.lock_file_: Any = None

    # ------------------------------------------------------------------ life cycle
    def start(self, background: bool = True) -> ReconcileReport:
        """Load policies, reconcile running jobs with the executor, start ticking.

        Several web worker processes may share one data directory: the one holding the lock file
        ``compute.lock`` schedules (the leader); the others only write new jobs and cancel
        requests to the database, which the leader picks up on its next tick, and take over
        when the leader goes away.
        """
        with system_session(self.engine, actor="compute") as s:
            policies = all_policies(s)
        self.jobs = JobService(self.store, self.executor, policies=policies)
        self.last_report = ReconcileReport(0, 0, 0, 0)
        if self._try_lead():
            self._lead()
        if background:
            self.thread_ = threading.Thread(target=self._loop, name="aion-compute", daemon=True)
            self.thread_.start()
        return self.last_report

    def _try_lead(self) -> bool:
        import fcntl

        if self.lock_file_ is not None:
            return True
        f = open(self.storage.root / "compute.lock", "a+b")  # noqa: SIM115 - held for the runtime's life
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            return False
        self.lock_file_ = f
        return True

    def _lead(self) -> None:
        assert self.jobs is not None
        self.last_report = self.jobs.start()
        self.harvest()
        log.info("compute started", extra={"reconcile": self.last_report._asdict()})

    @property
    def leader(self) -> bool:
        return self.lock_file_ is not None

    def stop(self) -> None:
        """Stop ticking (running jobs keep running; the next start adopts them)."""
        self.stop_.set()
        if self.thread_ is not None:
            self.thread_.join(timeout=10)
            self.thread_ = None
        if self.lock_file_ is not None:
            self.lock_file_.close()  # releases the lock: another process may lead
            self.lock_file_ = None
        procs = getattr(self.executor, "procs_", {})
        _DETACHED.extend(p for p in procs.values() if p.poll() is None)  # the runs go on: keep their handles
        _DETACHED[:] = [p for p in _DETACHED if p.poll() is None]
        self.executor.close()

    def _loop(self) -> None:
        delay = self.tick_s
        while not self.stop_.wait(delay):
            try:
                self.tick()
                delay = self.tick_s
            except Exception:  # the top of a long-running loop: log, back off, go on
                log.exception("platform tick failed")
                delay = min(30.0, delay * 2)

    def tick(self) -> None:
        assert self.jobs is not None
        if not self.leader:
            if not self._try_lead():
                return
            self._lead()
        self._sync()
        self.jobs.tick()
        self.harvest()
        now = time.monotonic()
        if now - self.last_expiry_ > EXPIRE_EVERY_S:
            self.last_expiry_ = now
            self.storage.uploads.expire(UPLOAD_MAX_AGE_S)  # abandoned resumable uploads

    def service(self) -> JobService:
        if self.jobs is None:
            raise RuntimeError("the platform runtime is not started")
        return self.jobs

    def _sync(self) -> None:
        """Leader: adopt jobs queued and cancels asked by other processes; reload quotas."""
        service = self.service()
        with service.lock_:  # read under the lock: a job cancelled meanwhile is not revived
            with system_session(self.engine, actor="compute") as s:
                policies = all_policies(s)
                live = list(s.scalars(select(JobRecord).where(JobRecord.state.in_(["queued", "running"]))))
                records = [(r.id, r.state, r.cancel_requested, record_to_job(r)) for r in live]
            for company_id, policy in policies.items():
                if service.scheduler.policy(company_id) != policy:
                    service.set_policy(company_id, policy)
            for job_id, state, cancel, job in records:
                mine = service.jobs_.get(job_id)
                if mine is None and state == "queued":
                    service.jobs_[job_id] = job
                    service.scheduler.enqueue(job)
                    mine = job
                if mine is not None and cancel and not mine.cancel_requested:
                    service.cancel(job_id)

    # ------------------------------------------------------------------ jobs
    def submit(self, spec: JobSpec, kind: str, created_by: str) -> Job:
        """Queue a job of a registered kind (its record is committed before this returns)."""
        service = self.service()
        with service.lock_:
            self.store.annotate(kind, created_by)
            if self.leader:
                return service.submit(spec)
            job = Job(id=uuid.uuid4().hex, spec=spec, submitted_at=time.time())
            service.scheduler.validate(job)
            self.store.add(job)  # the leader enqueues it on its next tick
            return job

    def cancel(self, job_id: str) -> None:
        """Cancel a queued job or stop a running one (through the leader if this process is not it)."""
        service = self.service()
        if self.leader:
            service.cancel(job_id)
            return
        with system_session(self.engine, actor="compute") as s:
            rec = s.get(JobRecord, job_id)
            if rec is None or rec.state not in ("queued", "running"):
                raise InvalidTransitionError(f"Cannot cancel a finished job: {job_id}")
            rec.cancel_requested = True

    def harvest(self) -> int:
        """Run the ``on_success`` hook of each succeeded job not handled yet; returns how many."""
        done = 0
        with system_session(self.engine, actor="compute") as s:
            ids = list(
                s.scalars(
                    select(JobRecord.id).where(
                        JobRecord.state == "succeeded", JobRecord.outcome_done.is_(False)
                    )
                )
            )
        for job_id in ids:
            try:
                with system_session(self.engine, actor="compute") as s:
                    # claim the job in this transaction: of two harvesters (two processes on one
                    # database) only one runs the hook; a failed hook rolls the claim back
                    if not _claim(s, job_id):
                        continue
                    rec = s.get(JobRecord, job_id)
                    if rec is None:
                        continue
                    kind = get_kind(rec.kind)
                    outcome: dict[str, Any] = {}
                    if kind.on_success is not None:
                        outcome = kind.on_success(s, OutcomeContext(job=rec, store=self.storage.store))
                    rec.outcome, rec.outcome_done = outcome, True
                done += 1
            except Exception as e:  # one bad outcome must not stop the loop: record it on the job
                log.exception("on_success of job %s failed", job_id)
                with system_session(self.engine, actor="compute") as s:
                    if _claim(s, job_id):  # never over a good outcome another harvester wrote
                        rec = s.get(JobRecord, job_id)
                        if rec is not None:
                            text = (
                                e.bilingual() if isinstance(e, LocalizedError) else f"{type(e).__name__}: {e}"
                            )
                            rec.outcome = {"error": text}
        return done


def _claim(s: Session, job_id: str) -> bool:
    """Mark a job's outcome as handled if nobody has; True when this session did."""
    claimed: CursorResult[Any] = s.execute(  # type: ignore[assignment]  # an UPDATE gives a cursor result
        update(JobRecord)
        .where(JobRecord.id == job_id, JobRecord.outcome_done.is_(False))
        .values(outcome_done=True)
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount == 1)


def runtime_for(app: Any) -> PlatformRuntime:
    """The app's runtime, created and started on first use (the router's lifespan normally does it)."""
    rt: PlatformRuntime | None = getattr(app.state, "platform", None)
    if rt is None:
        settings = app.state.settings
        rt = PlatformRuntime(
            app.state.engine,
            Path(settings.data_dir),
            executor=executor_from_address(
                os.environ.get("AION_EXECUTOR"), str(Path(settings.data_dir) / "runs")
            ),
            max_upload_bytes=settings.max_upload_mb * 1024 * 1024,
            storage_url=settings.storage_url,
        )
        app.state.platform = rt
        rt.start()
    return rt
