"""The model registry: versions with lineage, aliases, promotion and rollback (audited)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from aion.core.audit import AuditLog
from aion.core.db import session_factory
from aion.core.tenancy import NotFound, Scope
from aion.platform import modelregistry as reg
from aion.platform.errors import PlatformError
from aion.platform.runtime import PlatformStorage
from tests.foundation.factories import World


def test_promote_rollback_and_compare(engine: Engine, world: World, tmp_path: Path) -> None:
    storage = PlatformStorage.at(tmp_path / "data")
    s = session_factory(engine)()
    Scope.for_companies("member@alpha.example", [world.company_a], actor_id=world.users["a_member"]).bind(s)
    model = reg.get_or_create_model(s, world.company_a, "bolt", "inspection")
    vs = []
    for i, f1 in enumerate((0.8, 0.9, 0.85)):
        f = tmp_path / f"m{i}.aion"
        f.write_bytes(b"model %d" % i)
        vs.append(
            reg.register_version(
                s,
                storage.store,
                model,
                f,
                dataset_version_id=None,
                job_id=None,
                params={"resolution": 64 * (i + 1)},
                metrics={"f1": f1},
            )
        )
    assert [v.number for v in vs] == [1, 2, 3]
    assert storage.store.exists(vs[0].sha256)
    table = reg.compare(vs[:2])
    assert table["metrics.f1"] == [0.8, 0.9] and table["params.resolution"] == [64, 128]

    reg.promote(s, model, vs[0].id)
    reg.promote(s, model, vs[1].id)
    reg.set_alias(s, model, "candidate", vs[2].id)
    assert reg.aliases(s, model.id) == {"production": vs[1].id, "candidate": vs[2].id}
    with pytest.raises(PlatformError):
        reg.promote(s, model, vs[1].id)  # already production
    reg.rollback(s, model)
    assert reg.aliases(s, model.id)["production"] == vs[0].id
    with pytest.raises(PlatformError):
        reg.rollback(s, model)  # nothing earlier than the first production version
    s.commit()
    events = [(e.action, e.version_id) for e in reg.history(s, model.id)]
    assert events[0] == ("rollback", vs[0].id)
    actions = [a.action for a in s.scalars(select(AuditLog).where(AuditLog.entity == "RegisteredModel"))]
    assert actions.count("model_promote") == 3 and actions.count("model_rollback") == 1
    s.close()

    b = session_factory(engine)()
    Scope.for_companies("member@beta.example", [world.company_b]).bind(b)
    with pytest.raises(NotFound):
        reg.get_model(b, model.id)
    with pytest.raises(NotFound):
        reg.get_version(b, model.id, vs[0].id)
    assert reg.list_models(b) == []
    b.close()


def test_model_files_are_refused_over_the_storage_quota(engine: Engine, world: World, tmp_path: Path) -> None:
    """Counted against the company's quota and refused when over it; nothing already stored is lost."""
    from aion.core.db import system_session
    from aion.platform.errors import QuotaExceeded
    from aion.platform.models import ModelVersion, PlatformQuota
    from aion.platform.quota import storage_used

    storage = PlatformStorage.at(tmp_path / "data")
    with system_session(engine) as sys:
        sys.add(PlatformQuota(company_id=world.company_a, storage_bytes=2_500_000))
    s = session_factory(engine)()
    Scope.for_companies("member@alpha.example", [world.company_a], actor_id=world.users["a_member"]).bind(s)
    model = reg.get_or_create_model(s, world.company_a, "bolt", "inspection")
    small, big = tmp_path / "small.aion", tmp_path / "big.aion"
    small.write_bytes(b"s" * 1_500_000)
    big.write_bytes(b"b" * 1_200_000)

    def register(f: Path) -> int:
        v = reg.register_version(
            s, storage.store, model, f, dataset_version_id=None, job_id=None, params={}, metrics={}
        )
        return v.number

    assert register(small) == 1
    assert storage_used(s, world.company_a) == 1_500_000  # counted
    with pytest.raises(QuotaExceeded) as e:
        register(big)  # 1.5 MB + 1.2 MB > 2.5 MB
    assert e.value.bilingual() == (
        "저장 용량 초과: 사용 1.5 MB + 신규 1.2 MB > 허용 2.5 MB. / "
        "Storage quota exceeded: 1.5 MB used + 1.2 MB new > 2.5 MB allowed."
    )
    assert not storage.store.exists(hashlib.sha256(big.read_bytes()).hexdigest())  # nothing stored
    assert register(small) == 2  # the same content again costs nothing: allowed at the limit
    s.commit()
    assert [v.number for v in s.scalars(select(ModelVersion).order_by(ModelVersion.number))] == [1, 2]
    assert storage.store.exists(hashlib.sha256(small.read_bytes()).hexdigest())
    assert storage_used(s, world.company_a) == 1_500_000
    s.close()
