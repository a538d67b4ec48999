"""Jobs backed by the database: the SQL job store, a real training job, restart and quotas."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from aion.core.db import system_session
from aion.core.tenancy import NotFound
from aion.platform import datasets, jobs, modelregistry
from aion.platform.compute.errors import ComputeError, JobNotFoundError
from aion.platform.compute.executors.base import Executor
from aion.platform.compute.executors.local import LocalExecutor
from aion.platform.compute.jobs import Job, JobKind, JobSpec, JobState
from aion.platform.compute.usage import UsageLedger, UsageRecord
from aion.platform.errors import PlatformError
from aion.platform.jobkinds import KINDS, JobKindSpec, Prepared, PrepareRequest, register_kind
from aion.platform.jobstore import SqlJobStore
from aion.platform.models import JobRecord, ModelVersion
from aion.platform.runtime import PlatformRuntime
from tests.foundation.factories import World
from tests.platform.helpers import scoped as member
from tests.platform.helpers import write_images


def _prepare_sleep(session: Session, req: PrepareRequest) -> Prepared:
    return Prepared(
        params={"seconds": float(req.options.get("seconds", 30))}, name="sleep", estimated_seconds=60
    )


def _register_sleep_kind(name: str, on_success: Any = None) -> None:
    register_kind(
        JobKindSpec(
            name=name,
            title=name,
            entrypoint="aion.platform.compute.samplejobs:sleep",
            engine_kind=JobKind.OTHER,
            dataset_kinds=("inspection_images",),
            prepare=_prepare_sleep,
            on_success=on_success,
        )
    )


@pytest.fixture(autouse=True)
def sleep_kind() -> Iterator[None]:
    """A second kind, plugged in the way process training would be (removed after each test)."""
    _register_sleep_kind("test_sleep")
    yield
    KINDS.pop("test_sleep", None)


def make_runtime(engine: Engine, tmp_path: Path) -> PlatformRuntime:
    rt = PlatformRuntime(
        engine, tmp_path / "data", executor=LocalExecutor(tmp_path / "data" / "runs", cpus=2)
    )
    rt.start(background=False)
    return rt


@pytest.fixture
def runtime(engine: Engine, tmp_path: Path) -> Iterator[PlatformRuntime]:
    rt = make_runtime(engine, tmp_path)
    yield rt
    for job in rt.service().list(states=[JobState.QUEUED, JobState.RUNNING]):
        rt.service().cancel(job.id)
    rt.tick()
    rt.stop()


def image_set(
    engine: Engine, world: World, rt: PlatformRuntime, tmp_path: Path, key: str = "a_member"
) -> tuple[int, int]:
    folder = write_images(tmp_path / f"imgs-{key}", n_ok=6, n_ng=2)
    with member(engine, world, key) as s, s.begin():
        company = world.company_a if key.startswith("a_") else world.company_b
        ds = datasets.create_dataset(s, company, "parts", "inspection_images")
        v = datasets.register_folder(s, rt.storage.store, rt.storage.tmp, ds, folder)
        return ds.id, v.id


def wait_for(
    rt: PlatformRuntime, engine: Engine, job_id: str, states: set[str], timeout: float = 180
) -> JobRecord:
    deadline = time.monotonic() + timeout
    while True:
        rt.tick()
        with system_session(engine) as s:
            rec = s.get(JobRecord, job_id)
            assert rec is not None
            if rec.state in states:
                s.expunge(rec)
                return rec
        assert time.monotonic() < deadline, f"job {job_id} stuck in {rec.state}: {rec.error}"
        time.sleep(0.2)


def train_at_64(engine: Engine, world: World, rt: PlatformRuntime, ds_id: int, v_id: int) -> JobRecord:
    """A member's 64-pixel inspection training job on the data set version, run to its end."""
    with member(engine, world) as s, s.begin():
        job_id = jobs.submit_job(s, rt, "train_inspection", ds_id, v_id, {"resolution": 64}).id
    return wait_for(rt, engine, job_id, {"succeeded", "failed", "cancelled"})


def test_sql_job_store_contract(engine: Engine, world: World) -> None:
    store = SqlJobStore(engine)
    a_id, b_id = str(world.company_a), str(world.company_b)
    a = Job(id="a" * 32, spec=JobSpec(company_id=a_id, params={"k": 1}, cpus=2), submitted_at=2.0)
    b = Job(id="b" * 32, spec=JobSpec(company_id=b_id), submitted_at=1.0)
    store.add(a)
    store.add(b)
    with pytest.raises(ComputeError, match="already exists"):
        store.add(a)
    got = store.get(a.id)
    got.move(JobState.RUNNING)
    got.metrics["loss"] = 0.5
    got.handle = "h-1"
    assert store.get(a.id).state is JobState.QUEUED
    store.save(got)
    again = store.get(a.id)
    assert (again.state, again.metrics, again.spec.params, again.spec.cpus, again.handle) == (
        JobState.RUNNING,
        {"loss": 0.5},
        {"k": 1},
        2.0,
        "h-1",
    )
    assert [j.id for j in store.list()] == [b.id, a.id]
    assert [j.id for j in store.list(states=[JobState.RUNNING])] == [a.id]
    assert [j.id for j in store.list(company_id=b_id)] == [b.id]
    with pytest.raises(JobNotFoundError):
        store.get("z" * 32)
    store.add_usage([UsageRecord(a_id, "2026-01", 100.0, 0.0), UsageRecord(a_id, "2026-01", 50.0, 10.0)])
    assert UsageLedger(store.usage_records()).used(a_id, "2026-01") == (150.0, 10.0)


def test_train_inspection_job_registers_a_model_with_lineage(
    engine: Engine, world: World, runtime: PlatformRuntime, tmp_path: Path
) -> None:
    ds_id, v_id = image_set(engine, world, runtime, tmp_path)
    with member(engine, world) as s, s.begin():
        rec = jobs.submit_job(
            s, runtime, "train_inspection", ds_id, v_id, {"resolution": 64, "model_name": "bolt"}
        )
        job_id = rec.id
        assert (
            rec.state == "queued"
            and rec.kind == "train_inspection"
            and rec.created_by == world.emails["a_member"]
        )
    done = wait_for(runtime, engine, job_id, {"succeeded", "failed", "cancelled"})
    assert done.state == "succeeded", done.error
    assert done.progress == 1.0 and done.metrics["threshold"] > 0 and "f1" in done.metrics
    assert done.outcome_done and "model_version_id" in done.outcome
    with member(engine, world) as s:
        mv = modelregistry.get_version(s, done.outcome["model_id"], done.outcome["model_version_id"])
        assert (mv.dataset_version_id, mv.job_id, mv.params["resolution"]) == (v_id, job_id, 64)
        assert runtime.storage.store.exists(mv.sha256) and mv.size > 1000
        assert modelregistry.aliases(s, mv.model_id) == {"candidate": mv.id}
        logs = jobs.job_logs(s, runtime, job_id)
        assert any("trained" in line for line in logs)
        # the good images to check (goodcheck.py): named in the log, listed in the report
        listed = mv.report["train"]["unusual_good"]
        assert listed and any(f"good images to check: {len(listed)}" in line for line in logs)
        # ... named by their data set paths, not the job's working copies
        (line,) = [line for line in logs if "good images to check" in line]
        paths = {it.path for it in datasets.version_items(s, v_id)}
        assert all(name in paths for name in line.rsplit("): ", 1)[1].split(", ")), line
        assert {u["name"] for u in listed} <= paths  # the report's list too
        rejected = sum(1 for u in listed if u["score"] > mv.metrics["threshold"])
        assert done.metrics["good_images_rejected"] == mv.metrics["good_images_rejected"] == rejected
    # the file loads as an inspection model and scores an image
    from aion.solutions.inspection import InspectionModel

    model = InspectionModel.load(runtime.storage.store.path(mv.sha256))
    assert model.meta.resolution == 64
    # the job's evaluation counts every good image as a new part (a set this small calibrates on
    # each, left out in turn): none is left out as the bank's
    train, evaluation = mv.report["train"], mv.report["evaluation"]
    n_good = len(model.meta.train_fingerprints)
    assert evaluation["n_held_back"] == train["n_calibration_images"] == train["n_fit_images"] == n_good > 0
    assert evaluation["n_in_bank"] == 0
    # company B cannot see the job or the model
    with member(engine, world, "b_member") as s:
        with pytest.raises(NotFound):
            jobs.get_job(s, job_id)
        assert s.scalars(select(ModelVersion)).all() == []


def test_masked_ng_images_train_a_defect_head_in_the_job(
    engine: Engine, world: World, runtime: PlatformRuntime, tmp_path: Path
) -> None:
    """NG images with masks (``ng_masks/<stem>.png``) train a defect head beside the memory bank;
    the job's evaluation leaves them out and reports the bank's pixel AUROC beside the head's."""
    import numpy as np
    from PIL import Image

    folder = write_images(tmp_path / "masked", n_ok=30, n_ng=6)
    mask = np.zeros((64, 64), np.uint8)
    mask[64 // 3 : 64 // 3 + 10, 64 // 3 : 64 // 3 + 10] = 255  # the square helpers.png draws
    (folder / "ng_masks").mkdir()
    for i in range(5):  # the sixth NG image has no mask: it sets the threshold only
        own = mask.copy()
        own[0, i] = 255  # one stray pixel each: the platform stores identical files once
        Image.fromarray(own).save(folder / "ng_masks" / f"ng_{i:03d}.png")
    with member(engine, world) as s, s.begin():
        ds = datasets.create_dataset(s, world.company_a, "masked parts", "inspection_images")
        v = datasets.register_folder(s, runtime.storage.store, runtime.storage.tmp, ds, folder)
        ds_id, v_id = ds.id, v.id
    done = train_at_64(engine, world, runtime, ds_id, v_id)
    assert done.state == "succeeded", done.error
    with member(engine, world) as s:
        logs = jobs.job_logs(s, runtime, done.id)
    assert done.metrics["head_images"] == 5, logs
    # measured out of fold on the masked images themselves (every mask went to the head)
    assert done.metrics["head_pixel_auroc_head"] >= done.metrics["head_pixel_auroc_bank"] - 0.02
    assert "pixel_auroc" not in done.metrics  # no masked image is left to evaluate on
    with member(engine, world) as s:
        mv = modelregistry.get_version(s, done.outcome["model_id"], done.outcome["model_version_id"])
        evaluation = mv.report["evaluation"]
        # ... while the 30 good images, each scored left out in turn in training, count as new parts
        assert (evaluation["n_left_out"], evaluation["n_in_bank"], evaluation["n_held_back"]) == (5, 0, 30)
        assert evaluation["n_images"] == 30 + 6 - 5
        # the report names them by their data set paths, for the report page to leave out
        assert sorted(mv.report["train"]["head_items"]) == [f"ng/ng_{i:03d}.png" for i in range(5)]
        from aion.solutions.inspection import InspectionModel

        model = InspectionModel.load(runtime.storage.store.path(mv.sha256))
        assert model.defect_head_ is not None and model.meta.version == 7
        assert len(model.meta.head_images) == 5


def _mark_defects(s: Session, store: Any, ng: list[Any], how: str) -> None:
    """Mark the defect square ``helpers.png`` draws on the first four NG images: a box drawn
    round it, or a painting over it (as the labeling page sends: alpha marks the defect)."""
    import io

    from PIL import Image

    lo, hi = 64 // 3 - 1, 64 // 3 + 11
    for k, it in enumerate(ng[:4]):  # two NG images stay unmarked: they set the threshold only
        if how == "box":
            datasets.set_label(s, it.id, "ng", [lo / 64, lo / 64, hi / 64, hi / 64])
            continue
        if k == 0:
            datasets.set_label(s, it.id, "ng", [0.0, 0.0, 0.5, 0.5])  # a box first, painted over
        canvas = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
        canvas.paste((255, 40, 40, 255), (lo, lo, hi + k, hi))  # each its own (distinct blobs)
        png_bytes = io.BytesIO()
        canvas.save(png_bytes, "PNG")
        datasets.set_mask(s, store, it.id, png_bytes.getvalue())


@pytest.mark.parametrize(
    ("how", "log"), [("box", "0 with masks, 4 with boxes"), ("paint", "4 with masks, 0 with boxes")]
)
def test_defects_marked_in_the_labeling_page_train_a_defect_head_in_the_job(
    engine: Engine, world: World, runtime: PlatformRuntime, tmp_path: Path, how: str, log: str
) -> None:
    """A member who has no mask files draws a box around each defect in the labeling page (the
    job makes a mask of each box), or paints over it with the brush (the job gives the painting
    to the engine as the image's mask); those NG images train a defect head as masked ones do."""
    folder = write_images(tmp_path / how, n_ok=30, n_ng=6)
    with member(engine, world) as s, s.begin():
        ds = datasets.create_dataset(s, world.company_a, f"{how} parts", "inspection_images")
        v1 = datasets.register_folder(s, runtime.storage.store, runtime.storage.tmp, ds, folder)
        ng = [it for it in datasets.version_items(s, v1.id) if it.label == "ng"]
        _mark_defects(s, runtime.storage.store, ng, how)
        ds_id, v_id = ds.id, datasets.commit_labels(s, runtime.storage.store, ds).id
    done = train_at_64(engine, world, runtime, ds_id, v_id)
    assert done.state == "succeeded", done.error
    with member(engine, world) as s:
        logs = jobs.job_logs(s, runtime, done.id)
        mv = modelregistry.get_version(s, done.outcome["model_id"], done.outcome["model_version_id"])
    assert any(f"6 NG ({log})" in line for line in logs), logs
    assert done.metrics["head_images"] == 4
    assert sorted(mv.report["train"]["head_items"]) == sorted(it.path for it in ng[:4])
    from aion.solutions.inspection import InspectionModel

    assert InspectionModel.load(runtime.storage.store.path(mv.sha256)).defect_head_ is not None


def test_a_box_on_a_turned_phone_photo_masks_the_region_the_user_saw(tmp_path: Path) -> None:
    """A phone photo stored landscape with an EXIF orientation (6: turn 90 degrees) is shown, and
    boxed, upright; the engine reads it upright too, so the box's mask is made upright."""
    import numpy as np
    from PIL import Image

    from aion.platform.tasks import box_mask
    from aion.solutions.inspection.images import read_image, read_mask

    photo = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (40, 20), (90, 90, 90)).save(photo, exif=exif)
    shown = read_image(photo)
    assert shown.shape[:2] == (40, 20)  # upright: 20 wide, 40 high
    assert box_mask(photo, [0.0, 0.5, 0.5, 1.0], tmp_path / "m.png")  # the lower left quarter
    mask = read_mask((tmp_path / "m.png").read_bytes(), "m.png", (20, 40))
    assert mask.shape == (40, 20) and mask[20:, :10].all() and not mask[:20].any() and not mask[:, 10:].any()
    assert not box_mask(tmp_path / "missing.jpg", [0.0, 0.0, 1.0, 1.0], tmp_path / "n.png")
    assert np.asarray(Image.open(tmp_path / "m.png")).shape == (40, 20)


def test_jobs_survive_a_restart_of_the_web_process(engine: Engine, world: World, tmp_path: Path) -> None:
    rt1 = make_runtime(engine, tmp_path)
    ds_id, v_id = image_set(engine, world, rt1, tmp_path)
    with member(engine, world) as s, s.begin():
        running = jobs.submit_job(s, rt1, "test_sleep", ds_id, v_id, {"seconds": 60}).id
    wait_for(rt1, engine, running, {"running"})
    with member(engine, world) as s, s.begin():
        waiting = jobs.submit_job(s, rt1, "test_sleep", ds_id, v_id, {"seconds": 60}).id
    rt1.stop()  # the web server goes away; the worker process keeps running
    old_executor = rt1.executor
    assert isinstance(old_executor, LocalExecutor)

    rt2 = make_runtime(engine, tmp_path)
    try:
        report = rt2.last_report
        assert report is not None and report.adopted == 1 and report.requeued >= 1
        assert rt2.service().get(running).state is JobState.RUNNING
        # one change per transaction, as in one web request (SQLite has one writer at a time)
        with member(engine, world) as s, s.begin():
            assert jobs.cancel_job(s, rt2, running).cancel_requested
        with member(engine, world) as s, s.begin():
            jobs.cancel_job(s, rt2, waiting)
        assert wait_for(rt2, engine, running, {"cancelled", "failed", "succeeded"}).state == "cancelled"
        assert wait_for(rt2, engine, waiting, {"cancelled"}).state == "cancelled"
        with member(engine, world) as s, pytest.raises(PlatformError):
            jobs.cancel_job(s, rt2, running)
    finally:
        rt2.stop()
        for proc in old_executor.procs_.values():
            proc.wait(timeout=20)


def test_concurrency_quota_holds_a_company_back_but_not_others(
    engine: Engine, world: World, executor: Executor, tmp_path: Path
) -> None:
    """On the local executor and on a real local Ray cluster (the ``executor`` fixture)."""
    runtime = PlatformRuntime(engine, tmp_path / "data", executor=executor)
    runtime.start(background=False)
    try:
        _quota_scenario(engine, world, runtime, tmp_path)
    finally:
        for job in runtime.service().list(states=[JobState.QUEUED, JobState.RUNNING]):
            runtime.service().cancel(job.id)
        deadline = time.monotonic() + 60
        while runtime.service().list(states=[JobState.RUNNING]) and time.monotonic() < deadline:
            runtime.tick()
            time.sleep(0.2)
        runtime.stop()


def _quota_scenario(engine: Engine, world: World, runtime: PlatformRuntime, tmp_path: Path) -> None:
    with system_session(engine) as s:
        jobs.set_quota(
            s,
            runtime,
            world.company_a,
            weight=1.0,
            max_concurrent_jobs=1,
            cpu_hours_per_month=None,
            gpu_hours_per_month=None,
            storage_bytes=None,
        )
    a_ds, a_v = image_set(engine, world, runtime, tmp_path)
    b_ds, b_v = image_set(engine, world, runtime, tmp_path, "b_member")
    ids: dict[str, Any] = {}
    with member(engine, world) as s, s.begin():
        ids["a1"] = jobs.submit_job(s, runtime, "test_sleep", a_ds, a_v).id
        ids["a2"] = jobs.submit_job(s, runtime, "test_sleep", a_ds, a_v).id
    with member(engine, world, "b_member") as s, s.begin():
        ids["b1"] = jobs.submit_job(s, runtime, "test_sleep", b_ds, b_v).id
    deadline = time.monotonic() + 60
    while True:
        runtime.tick()
        states = {k: runtime.service().get(v).state for k, v in ids.items()}
        if states["b1"] is JobState.RUNNING or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert states == {"a1": JobState.RUNNING, "a2": JobState.QUEUED, "b1": JobState.RUNNING}
    with system_session(engine) as s:
        rows, nodes = jobs.usage(s, runtime)
        a_row = next(r for r in rows if r.company_id == world.company_a)
        assert a_row.view is not None and (a_row.view.running, a_row.view.queued) == (1, 1)
        assert a_row.quota is not None and a_row.quota.max_concurrent_jobs == 1
        assert nodes[0].running == 2
    with system_session(engine) as s, pytest.raises(PlatformError):
        jobs.set_quota(
            s,
            runtime,
            world.company_a,
            weight=0.0,
            max_concurrent_jobs=1,
            cpu_hours_per_month=None,
            gpu_hours_per_month=None,
            storage_bytes=None,
        )


def test_two_web_processes_share_one_scheduler(engine: Engine, world: World, tmp_path: Path) -> None:
    """A second runtime on the same data directory only writes to the database; the leader runs jobs."""
    leader = make_runtime(engine, tmp_path)
    follower = PlatformRuntime(
        engine, tmp_path / "data", executor=LocalExecutor(tmp_path / "data" / "runs", cpus=2)
    )
    follower.start(background=False)
    try:
        assert leader.leader and not follower.leader
        ds_id, v_id = image_set(engine, world, follower, tmp_path)
        with member(engine, world) as s, s.begin():
            job_id = jobs.submit_job(s, follower, "test_sleep", ds_id, v_id, {"seconds": 60}).id
        follower.tick()  # does nothing: not the leader
        assert follower.service().list(states=[JobState.RUNNING]) == []
        assert wait_for(leader, engine, job_id, {"running"}).state == "running"
        with member(engine, world) as s, s.begin():
            jobs.cancel_job(s, follower, job_id)  # asked through the database
        assert wait_for(leader, engine, job_id, {"cancelled", "failed", "succeeded"}).state == "cancelled"
        leader.stop()
        follower.tick()  # the leader went away: the follower takes over
        assert follower.leader
    finally:
        leader.stop()
        follower.stop()


def test_training_job_reads_its_data_through_the_s3_store(
    engine: Engine, world: World, tmp_path: Path, s3_url: str, executor: Executor
) -> None:
    """Blobs in a bucket on a real S3 server: upload, train (the worker, a local process or a Ray
    actor, fetches the images by hash and hands the model back by ref), register."""
    rt = PlatformRuntime(engine, tmp_path / "data", executor=executor, storage_url=s3_url)
    rt.start(background=False)
    try:
        store = rt.storage.store
        assert store.url == s3_url and not (tmp_path / "data" / "blobs").exists()
        ds_id, v_id = image_set(engine, world, rt, tmp_path)
        with member(engine, world) as s, s.begin():
            rec = jobs.submit_job(s, rt, "train_inspection", ds_id, v_id, {"resolution": 64})
            job_id, params = rec.id, rec.spec["params"]
        assert params["store"] == s3_url and all("blob" not in it for it in params["items"])
        assert all(store.exists(it["sha256"]) for it in params["items"])
        done = wait_for(rt, engine, job_id, {"succeeded", "failed", "cancelled"})
        assert done.state == "succeeded", done.error
        with member(engine, world) as s:
            mv = modelregistry.get_version(s, done.outcome["model_id"], done.outcome["model_version_id"])
            assert store.exists(mv.sha256) and store.size(mv.sha256) == mv.size
            assert store.get_ref(params["out_ref"] + "/model.aion") == mv.sha256  # handed back by the worker
        keys = store.client.list_objects_v2(Bucket=store.bucket)["Contents"]  # type: ignore[attr-defined]
        assert all(k["Key"].startswith("tenant-a/") for k in keys) and len(keys) >= 10
    finally:
        rt.stop()


def test_a_trained_model_over_the_storage_quota_is_refused_with_a_clear_message(
    engine: Engine, world: World, runtime: PlatformRuntime, tmp_path: Path
) -> None:
    from aion.platform.models import PlatformQuota
    from aion.platform.quota import storage_used

    ds_id, v_id = image_set(engine, world, runtime, tmp_path)
    with system_session(engine) as s:
        used = storage_used(s, world.company_a)
        s.add(PlatformQuota(company_id=world.company_a, storage_bytes=used + 1000))  # no room for a model
    done = train_at_64(engine, world, runtime, ds_id, v_id)
    assert done.state == "succeeded" and done.outcome_done
    assert "model_version_id" not in done.outcome
    assert done.outcome["error"].startswith("저장 용량 초과: 사용 ")
    assert "Storage quota exceeded:" in done.outcome["error"] and "MB allowed" in done.outcome["error"]
    with system_session(engine) as s:
        assert s.scalars(select(ModelVersion)).all() == []
        assert storage_used(s, world.company_a) == used  # the data set's files are all still there


def test_two_harvesters_run_a_jobs_outcome_hook_once(engine: Engine, world: World, tmp_path: Path) -> None:
    """Two runtimes on one database (two data directories) harvest at once: the hook runs once,
    and the loser never overwrites the winner's outcome with an error."""
    import threading

    calls: list[str] = []

    def on_success(session: Session, ctx: Any) -> dict[str, Any]:
        calls.append(ctx.job.id)
        time.sleep(0.5)  # the other harvester arrives while this one is inside the hook
        if len(calls) > 1:
            raise RuntimeError("the hook ran twice")
        return {"model_id": 7}

    _register_sleep_kind("test_outcome", on_success)
    one, two = make_runtime(engine, tmp_path / "one"), make_runtime(engine, tmp_path / "two")
    try:
        store = SqlJobStore(engine)
        job = Job(id="c" * 32, spec=JobSpec(company_id=str(world.company_a)), submitted_at=1.0)
        store.annotate("test_outcome", world.emails["a_member"])
        store.add(job)
        with system_session(engine) as s:
            rec = s.get(JobRecord, job.id)
            assert rec is not None
            rec.state = "succeeded"
        done: list[int] = []
        threads = [threading.Thread(target=lambda rt=rt: done.append(rt.harvest())) for rt in (one, two)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert calls == [job.id] and sorted(done) == [0, 1]
        with system_session(engine) as s:
            rec = s.get(JobRecord, job.id)
            assert rec is not None and rec.outcome_done and rec.outcome == {"model_id": 7}
    finally:
        KINDS.pop("test_outcome", None)
        one.stop()
        two.stop()
