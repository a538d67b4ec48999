"""The demo's pump log and model: the pages show its three faults, each blamed on the right sensor."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select

from aion.accounts.models import Company
from aion.core.db import system_session
from aion.platform.models import RegisteredModel
from aion.platform.runtime import PlatformStorage
from aion.process import service
from aion.process.demo import load_demo
from tests.foundation.factories import make_world


def test_demo_model_explains_the_spike_drift_and_frozen_sensor(engine: Engine, tmp_path: Path) -> None:
    world = make_world(engine)
    with system_session(engine) as s:
        company = s.get(Company, world.company_a)
        assert company is not None
        load_demo(s, [company], tmp_path)
        s.commit()
    with system_session(engine) as s:
        model = s.scalars(select(RegisteredModel).where(RegisteredModel.kind == "process")).one()
        version = service.model_versions(s, [model])[model.id][0]
        view = service.alarm_view(s, PlatformStorage.at(tmp_path).store, model.id, version.id)
        blamed = {(a.start // 100, a.contributions[0]["sensor"]) for a in view.alarms}
        assert (12, "pressure_bar") in blamed, view.alarms
        assert any(sensor == "flow_m3h" and 14 <= block <= 16 for block, sensor in blamed), blamed
        assert any(sensor == "bearing_temp_c" and 17 <= block <= 18 for block, sensor in blamed), blamed
        assert all(a.start >= view.stored.normal_period[1] for a in view.alarms)  # none in the normal period
