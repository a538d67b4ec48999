"""The process pages through HTTP on a generated series: upload, normal period, train, alarms, target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from aion.core.db import system_session
from aion.platform.models import JobRecord, ModelVersion
from tests.foundation.factories import World
from tests.platform.webtools import client_for, upload_form
from tests.process.flow import SPIKE, STUCK, create_sensor_dataset, field_value, sensor_csv, train_through_web


def overlapping(alarms: list[dict[str, Any]], span: tuple[int, int]) -> list[dict[str, Any]]:
    return [a for a in alarms if a["start"] < span[1] and a["end"] > span[0]]


def counts(engine: Engine) -> tuple[int, int]:
    with system_session(engine) as s:
        return (
            int(s.scalar(select(func.count(JobRecord.id))) or 0),
            int(s.scalar(select(func.count(ModelVersion.id))) or 0),
        )


def test_member_trains_on_proposed_normal_period_sees_explained_alarms_and_moves_the_target(
    app: Any, world: World, engine: Engine
) -> None:
    c = client_for(app, world, "a_member")
    ds_id = create_sensor_dataset(c, "펌프 A")
    assert f"/datasets/{ds_id}/process" in c.get(f"/datasets/{ds_id}").text

    page = c.get(f"/datasets/{ds_id}/process")
    assert page.status_code == 200 and "pressure" in page.text and "<svg" in page.text
    start, end = int(field_value(page.text, "normal_start")), int(field_value(page.text, "normal_end"))
    assert start >= 0 and end - start >= 50 and end <= SPIKE[0]  # proposed before the first fault

    # a too-short normal period: a clear Korean message, nothing queued
    bad = c.post(
        f"/datasets/{ds_id}/process/train",
        data={
            "csrf_token": c.cookies["aion_csrf"],
            "normal_start": "5",
            "normal_end": "8",
            "target_far": "1",
        },
    )
    assert bad.status_code == 400 and "정상 구간" in bad.text
    bad = c.post(
        f"/datasets/{ds_id}/process/train",
        data={"csrf_token": c.cookies["aion_csrf"], "target_far": "75"},
    )
    assert bad.status_code == 400 and "오경보 목표" in bad.text
    assert counts(engine) == (0, 0)

    outcome = train_through_web(c, ds_id)
    base = f"/models/{outcome['model_id']}/versions/{outcome['model_version_id']}/alarms"
    trained = c.get(base + ".json").json()
    assert trained["target_far"] == pytest.approx(0.01)
    spike = overlapping(trained["alarms"], SPIKE)
    stuck = overlapping(trained["alarms"], STUCK)
    assert spike and spike[0]["sensors"][0] == "pressure", trained["alarms"]
    assert stuck and stuck[0]["sensors"][0] == "temp", trained["alarms"]
    assert "pressure 값이 평소보다 높음" in spike[0]["message"]
    assert spike[0]["start_time"].startswith("2026-03-01 23:")  # row 900 = 08:00 + 900 min

    html = c.get(base).text
    assert "주요 원인은" in html and 'id="alarm-1"' in html and 'class="band-alarm"' in html
    assert html.count('class="band-alarm"') == len(trained["alarms"])

    # moving the target recalibrates the limit on the stored scores: no job, no new model version
    before = counts(engine)
    strict = c.get(base + ".json?target=0.0001").json()
    loose = c.get(base + ".json?target=0.2").json()
    assert strict["threshold"] > trained["threshold"] > loose["threshold"]
    assert strict["alarm_rows"] <= trained["alarm_rows"] < loose["alarm_rows"]
    assert len(loose["alarms"]) > len(trained["alarms"])
    slider = c.get(base + "?pos=9")  # the slider's 20 % position
    assert slider.status_code == 200 and slider.text.count('class="band-alarm"') == len(loose["alarms"])
    assert counts(engine) == before

    # a bad target: a bilingual message, the trained alarms still shown
    assert c.get(base + ".json?target=abc").status_code == 400
    r = c.get(base + "?target=0.9")
    assert r.status_code == 400 and "오경보 목표" in r.text and 'id="alarm-1"' in r.text

    listing = c.get("/process").text
    assert "펌프 A" in listing and base in listing
    c.post("/lang", data={"csrf_token": c.cookies["aion_csrf"], "lang": "en"})
    en = c.get(base).text
    assert "was higher than normal" in en and "Alarms and the sensors that drove them" in en
    c.__exit__(None, None, None)


def test_excel_log_is_accepted_and_a_broken_workbook_is_refused(
    app: Any, world: World, tmp_path: Path
) -> None:
    import io

    import pandas as pd

    c = client_for(app, world, "a_member")
    token = c.cookies["aion_csrf"]
    r = c.post("/datasets", data={"csrf_token": token, "name": "압축기", "kind": "sensor_series"})
    ds_id = int(str(r.url).rstrip("/").split("/")[-1].split("?")[0])
    frame = pd.read_csv(io.BytesIO(sensor_csv()), sep=";", decimal=",")
    buf = io.BytesIO()
    frame.to_excel(buf, index=False)
    bad = c.post(
        f"/datasets/{ds_id}/upload",
        data={"csrf_token": token},
        files=[("files", ("broken.xlsx", b"PK\x03\x04 not a workbook", "application/octet-stream"))],
    )
    assert bad.status_code == 400 and "broken.xlsx" in bad.text
    assert "<svg" not in c.get(f"/datasets/{ds_id}/process").text  # nothing stored: nothing to chart
    ok = c.post(
        f"/datasets/{ds_id}/upload",
        data={"csrf_token": token},
        files=[("files", ("compressor.xlsx", buf.getvalue(), "application/octet-stream"))],
    )
    assert ok.status_code == 200, ok.text[:500]
    page = c.get(f"/datasets/{ds_id}/process")
    assert page.status_code == 200 and "1500행, 센서 3개: pressure, flow, temp" in page.text
    assert int(field_value(page.text, "normal_end")) <= SPIKE[0]
    c.__exit__(None, None, None)


def test_a_workbook_that_passes_the_upload_check_but_cannot_be_read_is_named_as_uploaded(
    app: Any, world: World, tmp_path: Path
) -> None:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:  # looks like a workbook to the upload check; pandas cannot read it
        z.writestr("xl/workbook.xml", "<not a workbook")
    c = client_for(app, world, "a_member")
    ds_id = create_sensor_dataset(c, "압축기")  # with a readable log, then the broken workbook
    up = upload_form(c, ds_id, ("3월 로그.xlsx", buf.getvalue()))
    assert up.status_code == 200, up.text[:300]
    page = c.get(f"/datasets/{ds_id}/process")
    assert "3월 로그.xlsx" in page.text and "파일을 읽을 수 없습니다" in page.text
    assert "aion-process-view" not in page.text and "/tmp" not in page.text
    c.__exit__(None, None, None)
