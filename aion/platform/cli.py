"""``aion dataset``: register a folder as a data set version, list data sets and versions.

The job and quota commands stay with the web app (``aion compute simulate`` is the engine's).
"""

from __future__ import annotations

from pathlib import Path

import typer

dataset_app = typer.Typer(no_args_is_help=True, help="Data sets. / 데이터셋.")


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(2)


@dataset_app.command("register")
def register(
    folder: Path = typer.Argument(..., help="Folder to register (ok/ and ng/ sub-folders set labels)."),
    company: int = typer.Option(..., "--company", help="Company id (aion company list)."),
    name: str = typer.Option(..., "--name", help="Data set name; created if it does not exist."),
    kind: str = typer.Option("inspection_images", help="inspection_images | sensor_series | tabular"),
    note: str = typer.Option("", help="Note stored with the version."),
) -> None:
    """Register every file of a folder as a new version (checked first; all or nothing).

    폴더의 모든 파일을 검사한 뒤 새 버전으로 등록합니다(전부 아니면 전무).
    """
    from sqlalchemy import select

    from aion.core.db import system_session
    from aion.platform import datasets
    from aion.platform.errors import PlatformError, ValidationFailed
    from aion.platform.models import Dataset
    from aion.platform.runtime import PlatformStorage
    from aion.settings import get_settings

    storage = PlatformStorage.at(get_settings().data_dir)
    try:
        with system_session(actor="cli") as s:
            ds = s.scalars(
                select(Dataset).where(Dataset.company_id == company, Dataset.name == name)
            ).one_or_none()
            if ds is None:
                ds = datasets.create_dataset(s, company, name, kind)
            v = datasets.register_folder(s, storage.store, storage.tmp, ds, folder, note)
            typer.echo(
                f"등록됨 / Registered: data set {ds.id} '{ds.name}' v{v.number}: {v.item_count} files, "
                f"{v.total_bytes / 1e6:.1f} MB, counts {v.counts}, manifest {v.manifest_sha256}"
            )
            for skipped in v.report.get("skipped", []):
                typer.echo(f"  건너뜀 / skipped: {skipped['path']}: {skipped['reason']}")
    except ValidationFailed as e:
        lines = [e.bilingual()] + [f"  {p['path']}: {p['reason']}" for p in e.problems]
        _fail("\n".join(lines))
    except PlatformError as e:
        _fail(e.bilingual())


@dataset_app.command("list")
def list_cmd() -> None:
    """List data sets with their latest version."""
    from aion.core.db import system_session
    from aion.platform import datasets

    with system_session(actor="cli") as s:
        for d in datasets.list_datasets(s):
            v = datasets.latest_version(s, d.id)
            latest = f"v{v.number} {v.item_count} files {v.counts}" if v else "-"
            typer.echo(f"{d.id}\t{d.company_id}\t{d.kind}\t{d.name}\t{latest}")
