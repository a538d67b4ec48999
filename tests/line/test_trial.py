"""A model version on trial beside the inspection station: started from the photos page or the
model page, scored on the running line's photos without acting on its calls, shown against the
station and people's verdicts, adopted (promoted and deployed) or ended; audited, company-scoped.
Real model files, the pipeline as ``aion line run`` builds it, real database and blob store."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, select

from aion.core.audit import AuditLog
from aion.core.db import system_session
from aion.line.models import Line
from aion.line.scoring import DEPLOYED
from aion.line.trialrun import TRIAL_SPEED_FILE, TrialModel, TrialRunner, read_calls, trial_file
from aion.platform import modelregistry as reg
from aion.platform.models import Deployment, ModelTrial
from aion.settings import Settings
from aion.solutions.inspection import InspectionModel
from aion.web.app import create_app
from tests.foundation.factories import World, make_world
from tests.line.test_photos import inspect_photos, register_candidates, station_line, zlib_seq
from tests.platform.webtools import client_for
from tests.solutions.inspection.conftest import add_defect, texture


def test_a_version_on_trial_scores_the_line_photos_beside_the_station_and_is_adopted(
    engine: Engine, db_url: str, tmp_path: Path, model_file: Path
) -> None:
    world: World = make_world(engine)
    data, camera = tmp_path / "data", tmp_path / "camera"
    line_id, key, runtime_yaml = station_line(engine, world.company_a, data, camera, model_file)
    versions = register_candidates(engine, world, data, model_file, tmp_path)  # v2 passes everything
    app = create_app(Settings(env="test", data_dir=data, database_url=db_url, secret_key="s" * 48), engine)
    admin, member = client_for(app, world, "a_admin"), client_for(app, world, "a_member")
    other = client_for(app, world, "b_admin")
    base = f"/lines/{line_id}/photos"
    folder = data / "line" / key

    def post(who, path: str, **form: object):  # type: ignore[no-untyped-def]
        return who.post(path, data={"csrf_token": who.cookies["aion_csrf"], **form}, follow_redirects=False)

    # before any photo is judged, the photos page offers an admin the company's versions to try
    offered = admin.get(base).text
    assert (
        'id="try-version"' in offered
        and f'<option value="{versions["lenient"]}">bracket v2</option>' in offered
    )
    assert f'value="{versions["theirs"]}"' not in offered and 'id="try-version"' not in member.get(base).text

    # who may start a trial, of which version
    start = {"camera": "station.image", "version_id": versions["lenient"]}
    assert post(member, f"{base}/trial", **start).status_code == 403  # deploying is an admin's
    assert post(other, f"{base}/trial", **start).status_code == 404  # another company's line
    assert post(admin, f"{base}/trial", **{**start, "version_id": versions["theirs"]}).status_code == 404
    assert post(admin, f"{base}/trial", **{**start, "camera": "nope.image"}).status_code == 404
    r = post(admin, f"{base}/trial", **start)
    assert r.status_code == 303 and r.headers["location"] == f"{base}?camera=station.image&msg=trial-started"
    page = admin.get(r.headers["location"]).text
    assert "검사 스테이션 옆에서 시험 운영 중: bracket v2" in page and 'id="trial-waiting"' in page
    assert 'id="try-version"' not in page  # one trial per camera: the card says what runs
    doc = json.loads((folder / DEPLOYED).read_text(encoding="utf-8"))
    assert doc["machines"] == {} and doc["trials"]["station"]["version_id"] == versions["lenient"]
    assert (folder / "models" / doc["trials"]["station"]["file"]).exists()

    # the running line scores each photo with both; only the station's calls are acted on
    rng = np.random.default_rng(21)
    t0 = time.time() - 100
    shots = {
        "good_1.png": texture(rng),
        "good_2.png": texture(rng),
        "scratch.png": add_defect(texture(rng), rng, "scratch")[0],
    }
    torn = camera / "torn.png"
    inspect_photos(runtime_yaml, data, camera, {}, t0)  # the camera folder exists; nothing yet
    torn.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    import os

    os.utime(torn, (t0 + 3, t0 + 3))
    inspect_photos(runtime_yaml, data, camera, shots, t0)
    calls = {Path(c.ref).name: c for c in read_calls(trial_file(folder, "station"))}
    assert set(calls) == {"good_1.png", "good_2.png", "scratch.png", "torn.png"}
    assert all(c.version_id == versions["lenient"] for c in calls.values())
    assert calls["scratch.png"].station is not None and calls["scratch.png"].station >= 0.5
    assert calls["scratch.png"].score is not None and calls["scratch.png"].score < 0.5  # v2 passes it
    assert (calls["torn.png"].score, calls["torn.png"].why) == (None, "unreadable")
    assert calls["good_1.png"].ts_us == round((t0 + 0) * 1e6)
    heatmaps = folder / "heatmaps" / "cam"
    assert sorted(p.name for p in heatmaps.iterdir()) == ["scratch_heatmap.png", "scratch_mask.png"]
    trial_speed = json.loads((folder / TRIAL_SPEED_FILE).read_text(encoding="utf-8"))["cameras"]["station"]
    assert trial_speed["model"] == "bracket v2" and trial_speed["photos"] == 4
    with system_session(engine) as s:
        bracket = reg_model_id(s, versions["lenient"])
    listed = admin.get(f"/models/{bracket}").text.split('id="trials"')[1].split("</table>")[0]
    assert (
        f"중앙값 {round(trial_speed['ms_median'])} ms" in listed and "사진 4장" in listed
    )  # its speed on the line PC

    # people judge the photo the two disagree on: the scratch is a defect, v2 would have passed it
    keys = {name: f"{round((t0 + i) * 1e6)}-{zlib_seq(name)}" for i, name in enumerate(shots)}
    for name, label in [("scratch.png", "ng"), ("good_1.png", "ok")]:
        form = {"camera": "station.image", "key": keys[name], "label": label, "back": base}
        assert post(member, f"{base}/label", **form).status_code == 303
    page = member.get(base).text
    assert "채점한 사진 <strong>3</strong>" in page and "스테이션과 같은 판정 <strong>2</strong>" in page
    assert (
        "스테이션만 불량 판정 <strong>1</strong>" in page
        and "시험 모델만 불량 판정 <strong>0</strong>" in page
    )
    assert "0장(라인 PC가 검사 스테이션과 함께 처리할 여유가 없음), 1장(읽을 수 없음)" in page
    table = page.split('id="trial-errors"')[1].split("</table>")[0]
    assert "<th>현재 스테이션</th><td>2</td><td>2 (100.0%)</td><td>0</td><td>0</td>" in table
    assert "<th>bracket v2</th><td>2</td><td>1 (50.0%)</td><td>0</td><td>1</td>" in table
    differ = page.split('id="trial-differ"')[1].split("</ul>")[0]
    assert "scratch.png" in differ and "불량으로 표시됨" in differ and "good_1.png" not in differ
    assert f"before={round((t0 + 2) * 1e6) + 1}-0" in differ  # opens the grid at that photo
    assert page.count('class="trial-call differs"') == 1 and page.count('class="trial-call"') == 2
    assert 'id="trial-adopt"' not in page  # a member judges; an admin adopts
    assert 'id="trial-adopt"' in admin.get(base).text and 'id="trial-speed"' in page
    assert other.get(base).status_code == 404
    api = f"/api/lines/{line_id}/photos/trial"
    shown = member.get(api, params={"camera": "station.image"}).json()
    assert (shown["model"], shown["scored"], shown["only_station_ng"], shown["unreadable"]) == (
        "bracket v2",
        3,
        1,
        1,
    )
    assert shown["trial"] == {"judged": 2, "right": 1, "false_rejects": 0, "escapes": 1}
    assert [d["name"] for d in shown["disagreements"]] == ["scratch.png"] and shown["speed"]["photos"] == 4
    assert other.get(api, params={"camera": "station.image"}).status_code == 404

    # adopting: v2 is promoted and deployed to the machine, the trial ends
    assert post(member, f"{base}/trial/adopt", camera="station.image").status_code == 403
    r = post(admin, f"{base}/trial/adopt", camera="station.image")
    assert r.status_code == 303 and r.headers["location"].endswith("msg=trial-adopted")
    assert "채택됨" in admin.get(r.headers["location"]).text
    with system_session(engine) as s:
        model_id = reg.get_version(s, reg_model_id(s, versions["lenient"]), versions["lenient"]).model_id
        assert reg.aliases(s, model_id)["production"] == versions["lenient"]
        rows = s.scalars(select(Deployment)).all()
        assert [(d.line_id, d.version_id) for d in rows] == [(line_id, versions["lenient"])]
        assert s.scalars(select(ModelTrial)).all() == []
        actions = [a.action for a in s.scalars(select(AuditLog).order_by(AuditLog.id))]
    last = {a: i for i, a in enumerate(actions)}  # v1 was promoted when it was registered
    assert last["model_trial_start"] < last["model_promote"] < last["model_deploy"]
    doc = json.loads((folder / DEPLOYED).read_text(encoding="utf-8"))
    assert doc["trials"] == {} and doc["machines"]["station"]["sha256"] == doc_sha(
        engine, versions["lenient"]
    )
    assert post(admin, f"{base}/trial/end", camera="station.image").status_code == 404  # none left
    assert member.get(api, params={"camera": "station.image"}).status_code == 404

    # v2 goes wrong on the line: one click on the model page takes production and the machine back to v1;
    # someone who may promote but not deploy cannot move the line (nothing changes, the machine named)
    r = post(member, f"/models/{model_id}/rollback", alias="production")
    assert r.status_code == 400 and "이 버전은 라인 설비(station)에서 쓰이고 있습니다" in r.text
    with system_session(engine) as s:
        assert reg.aliases(s, model_id)["production"] == versions["lenient"]
    r = post(admin, f"/models/{model_id}/rollback", alias="production")
    assert r.status_code == 303 and r.headers["location"] == f"/models/{model_id}?msg=rolled-back-line"
    assert 'id="rolled-back-notice"' in admin.get(r.headers["location"]).text
    with system_session(engine) as s:
        assert reg.aliases(s, model_id)["production"] == versions["same"]
        assert [d.version_id for d in s.scalars(select(Deployment))] == [versions["same"]]
    doc = json.loads((folder / DEPLOYED).read_text(encoding="utf-8"))
    assert doc["machines"]["station"]["sha256"] == doc_sha(engine, versions["same"])

    # from the model page: any version, then ended there; the page lists it with its line
    machine_id = machine_of(engine, line_id, "station")
    r = post(admin, f"/models/{model_id}/trials", version_id=versions["same"], machine_id=machine_id)
    assert r.status_code == 303 and r.headers["location"] == f"/models/{model_id}?msg=trial-started"
    shown = admin.get(f"/models/{model_id}").text.split('id="trials"')[1].split("</table>")[0]
    assert f'href="/lines/{line_id}/photos?camera=station.image"' in shown and "<td>v1</td>" in shown
    assert "아직 측정 전" in shown  # v1 on trial has scored no photo yet
    assert post(other, f"/models/{model_id}/trials", version_id=versions["same"], machine_id=machine_id).status_code == 404  # fmt: skip
    r = post(admin, f"/models/{model_id}/trials/{machine_id}/end")
    assert r.status_code == 303 and r.headers["location"] == f"/models/{model_id}?msg=trial-ended"
    with system_session(engine) as s:
        assert s.scalars(select(ModelTrial)).all() == []
        assert s.scalars(select(AuditLog).where(AuditLog.action == "model_trial_end")).first() is not None
    assert json.loads((folder / DEPLOYED).read_text(encoding="utf-8"))["trials"] == {}


def reg_model_id(s, version_id: int) -> int:  # type: ignore[no-untyped-def]
    from aion.platform.models import ModelVersion

    v = s.get(ModelVersion, version_id)
    assert v is not None
    return v.model_id


def doc_sha(engine: Engine, version_id: int) -> str:
    from aion.platform.models import ModelVersion

    with system_session(engine) as s:
        v = s.get(ModelVersion, version_id)
        assert v is not None
        return v.sha256


def machine_of(engine: Engine, line_id: int, name: str) -> int:
    with system_session(engine) as s:
        line = s.get(Line, line_id)
        assert line is not None
        return next(m.id for m in line.machines if m.name == name)


def test_a_trial_never_slows_the_station(tmp_path: Path, model_file: Path) -> None:
    """While the model on trial is busy, the photos it has no room for are recorded as not scored
    (``busy``) and handing them over returns at once; what was queued is scored on close."""
    from tests.solutions.inspection.conftest import save

    rng = np.random.default_rng(3)
    camera = tmp_path / "camera"
    camera.mkdir()
    paths = []
    for i in range(4):
        save(texture(rng), camera / f"p{i}.png")
        paths.append(str(camera / f"p{i}.png"))
    runner = TrialRunner(tmp_path / "line", queue_size=1)
    runner.set_models({camera: TrialModel(InspectionModel.load(model_file), "station", "bracket v2", 7)})
    with runner.lock_:  # the trial model is busy (as on a slow PC)
        started = time.perf_counter()
        for p in paths:
            runner.offer(camera, [p], [0.1])
        handed = time.perf_counter() - started
        assert threading.active_count() >= 2
        assert runner.thread_ is not None and runner.thread_.is_alive()  # the trial's own thread
    runner.close()
    calls = read_calls(trial_file(tmp_path / "line", "station"))
    assert sorted(Path(c.ref).name for c in calls) == [f"p{i}.png" for i in range(4)]  # each accounted for
    busy = [c for c in calls if c.why == "busy"]
    assert 2 <= len(busy) <= 3 and all(c.score is None and c.station == 0.1 for c in busy)
    assert all(c.score is not None for c in calls if c not in busy)
    assert handed < 1.0  # the station never waited for the trial (the model was held throughout)
    # retention drops old records; a new version starts its own file, the same version goes on
    assert runner.apply_retention(time.time() - 3600) == 0
    assert (
        runner.apply_retention(time.time() + 1) == 4
        and read_calls(trial_file(tmp_path / "line", "station")) == []
    )


def test_a_trial_model_that_cannot_load_leaves_the_station_as_it_was(
    tmp_path: Path, model_file: Path
) -> None:
    """A damaged trial file is logged and left out; the machine's own deployed model still loads
    and scores (a trial never stops the line)."""
    import shutil

    from aion.line.station import InspectionStation
    from aion.platform.storage.blobstore import hash_file

    camera, folder = tmp_path / "camera", tmp_path / "line"
    camera.mkdir()
    (folder / "models").mkdir(parents=True)
    shutil.copy(model_file, folder / "models" / "good.aion")
    (folder / "models" / "bad.aion").write_bytes(b"not a model")
    entry = {"kind": "inspection", "model": "bracket", "version": 1, "file": "good.aion"}
    doc = {
        "machines": {"station": {**entry, "sha256": hash_file(model_file)}},
        "trials": {"station": {**entry, "version": 2, "version_id": 9, "file": "bad.aion", "sha256": "x"}},
    }
    (folder / DEPLOYED).write_text(json.dumps(doc), encoding="utf-8")
    station = InspectionStation({}, {"station": (camera.resolve(), None)}, folder)
    try:
        station.refresh()
        assert station.trial is not None and station.trial.models_ == {}
        assert [c.label for c in station.cameras.values()] == ["bracket v1"]
        from tests.solutions.inspection.conftest import save

        save(texture(np.random.default_rng(1)), camera / "a.png")
        assert 0.0 <= station.score_images([str(camera / "a.png")])[0] < 1.0
    finally:
        station.close()
    assert not trial_file(folder, "station").exists()
