"""The ``aion`` command: one Typer app, one sub-command group per domain.

Domain groups are imported lazily by name so that ``aion --help`` stays fast and a
domain that fails to import (a missing optional library on an edge PC) does not take
the other commands down with it.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Collection

import typer

from aion import __version__

app = typer.Typer(
    name="aion",
    help="AI-on: local-first AI for manufacturers. / 제조 중소기업을 위한 로컬 우선 AI 플랫폼.",
    no_args_is_help=True,
    add_completion=False,
)

# (command group, "module:attribute", help)
DOMAIN_GROUPS: list[tuple[str, str, str]] = [
    ("db", "aion.core.db_cli:app", "Database migrations."),
    ("company", "aion.accounts.cli:company_app", "Companies (tenants)."),
    ("user", "aion.accounts.cli:user_app", "Users and roles."),
    ("token", "aion.accounts.cli:token_app", "Personal API tokens."),
    ("demo", "aion.demo:app", "Demo data."),
    ("inspect", "aion.solutions.inspection.cli:app", "Visual quality inspection."),
    ("process", "aion.solutions.process.cli:app", "Process (sensor) anomaly detection."),
    ("line", "aion.line.cli:app", "Line connection: real-time pipeline."),
    ("compute", "aion.platform.compute.cli:app", "Jobs on shared compute."),
    ("dataset", "aion.platform.cli:dataset_app", "Data sets: register a folder, list."),
    ("program", "aion.program.cli:app", "Program operations: calls, evaluation, diagnosis, KPIs."),
]

log = logging.getLogger("aion.cli")


def _register(only: Collection[str] | None = None) -> None:
    """Add the domain groups; with ``only``, import just those and list the others by name
    and help (each is imported when it is the command being run)."""
    for name, target, help_text in DOMAIN_GROUPS:
        if only is not None and name not in only:
            app.add_typer(typer.Typer(help=help_text), name=name, help=help_text)
            continue
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name and (e.name == module_name or module_name.startswith(e.name + ".")):
                continue  # the domain is not part of this build
            log.warning("command group %r unavailable: %s", name, e)
            continue
        except Exception as e:  # one broken domain must not take every command down
            log.warning("command group %r failed to load: %s", name, e)
            continue
        app.add_typer(getattr(module, attr), name=name, help=help_text)


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Bind address (default from settings)."),
    port: int | None = typer.Option(None, help="Port (default from settings)."),
    workers: int = typer.Option(1, help="Worker processes."),
    reload: bool = typer.Option(False, help="Reload on code change (development)."),
) -> None:
    """Run the web app. / 웹 앱을 실행합니다."""
    import uvicorn

    from aion.settings import get_settings

    settings = get_settings()
    settings.check_safe()
    uvicorn.run(
        "aion.web.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        reload=reload,
        log_config=None,
    )


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    from aion.logs import configure_logging

    configure_logging()
    _register(only=_invoked_group(sys.argv[1:]))
    app()


def _invoked_group(args: list[str]) -> set[str]:
    """The command group named on the command line, if any (``aion inspect train ...``).

    >>> sorted(_invoked_group(["inspect", "train", "x"])), sorted(_invoked_group(["--help"]))
    (['inspect'], [])
    """
    first = next((a for a in args if not a.startswith("-")), None)
    return {first} if first in {name for name, _, _ in DOMAIN_GROUPS} else set()
