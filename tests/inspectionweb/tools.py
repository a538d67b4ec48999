"""Registering a trained inspection model for a company, through the app's real API."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from tests.foundation.factories import World
from tests.platform.webtools import client_for, image_zip_bytes, upload_resumable
from tests.platform.webtools import register_model as register_version

N_OK, N_NG = 6, 3


@dataclass
class Registered:
    model_id: int
    version_id: int
    dataset_version_id: int
    items: list[dict[str, Any]]

    @property
    def base(self) -> str:
        return f"/models/{self.model_id}/versions/{self.version_id}"


def register_model(
    app: Any, world: World, engine: Engine, tmp_path: Path, model_file: Path, who: str, name: str
) -> Registered:
    """Upload the training images as a data set of ``who``'s company and register the model on it."""
    c = client_for(app, world, who)
    ds = c.post("/api/datasets", json={"name": f"{name} 이미지", "kind": "inspection_images"}).json()
    up = upload_resumable(c, ds["id"], "set.zip", image_zip_bytes(tmp_path, N_OK, N_NG))
    v = c.post(f"/api/datasets/{ds['id']}/versions", json={"uploads": [up]}).json()
    items = c.get(f"/api/datasets/{ds['id']}/versions/{v['id']}/items").json()
    company = world.company_a if who.startswith("a_") else world.company_b
    data = {"dataset_id": ds["id"], "version_id": v["id"]}
    ids = register_version(app, engine, company, name, data, model_file, params={"resolution": 64})
    c.__exit__(None, None, None)
    return Registered(ids[0], ids[1], v["id"], items)
