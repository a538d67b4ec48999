"""Demo data of the platform: an inspection image set with labels, and quotas, for ``aion demo load``."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from sqlalchemy.orm import Session

from aion.accounts.models import Company
from aion.platform import datasets
from aion.platform.jobs import set_quota
from aion.platform.runtime import PlatformStorage


def demo_texture(seed: int, defect: bool) -> bytes:
    """A 96 x 96 grey PNG of a bracket's machined surface, with a scratch when ``defect``."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:96, 0:96]
    img = 128 + 35 * np.sin(x / 3.0) * np.sin(y / 3.0) + rng.normal(0, 6, (96, 96))
    if defect:
        r0, c0 = rng.integers(20, 60, 2)
        img[r0 : r0 + 3, c0 : c0 + 25] = 250  # a scratch
    buf = io.BytesIO()
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def load_demo(session: Session, companies: list[Company], data_dir: Path | None = None) -> None:
    """Quotas for every company and a small labelled image set (24 OK, 4 NG) for the first one."""
    if not companies:
        return
    from aion.settings import get_settings

    storage = PlatformStorage.at(data_dir or get_settings().data_dir)
    for i, c in enumerate(companies):
        set_quota(
            session,
            None,
            c.id,
            weight=1.0 + i,
            max_concurrent_jobs=2,
            cpu_hours_per_month=200.0,
            gpu_hours_per_month=10.0,
            storage_bytes=10 * 1024**3,
        )
    ds = datasets.create_dataset(
        session, companies[0].id, "브래킷 외관 검사", "inspection_images", "프레스 브래킷 표면 사진 (데모)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for i in range(28):
            sub = "ng" if i >= 24 else "ok"
            (root / sub).mkdir(exist_ok=True)
            (root / sub / f"bracket_{i:03d}.png").write_bytes(demo_texture(i, sub == "ng"))
        datasets.register_folder(session, storage.store, storage.tmp, ds, root, "demo")
