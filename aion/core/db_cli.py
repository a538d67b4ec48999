"""``aion db``: migrations."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("heads")) -> None:
    """Apply migrations. / 데이터베이스 마이그레이션을 적용합니다."""
    from aion.core import migrate
    from aion.settings import get_settings

    url = get_settings().resolved_database_url()
    migrate.upgrade(url, revision)
    typer.echo(f"데이터베이스 최신 상태 / Database at {revision}: {_safe(url)}")


@app.command()
def current() -> None:
    """Show the current revision."""
    from aion.core import migrate

    migrate.current()


@app.command()
def revision(message: str = typer.Option(..., "-m", "--message")) -> None:
    """Autogenerate a migration from the models (developers)."""
    from aion.core import migrate

    migrate.revision(message)


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
