"""The whole app on a real uvicorn server for the benchmarks that go through its HTTP API.

SQLite and a data directory under ``root``, one company with one member; stop it with
:func:`stop`. Imported by the scripts beside it (run as ``python bench/<script>.py``).
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

EMAIL, PASSWORD = "bench@example.com", "bench password 1"


class AppServer(NamedTuple):
    server: Any  # uvicorn.Server
    thread: threading.Thread
    engine: Any  # sqlalchemy Engine
    base: str  # http://127.0.0.1:<port>


def start(root: Path) -> AppServer:
    """Migrate a new SQLite database under ``root``, add the member ``EMAIL`` and serve the app."""
    import uvicorn

    from aion.accounts import service
    from aion.accounts.models import Role
    from aion.accounts.schemas import CompanyCreate
    from aion.core import migrate
    from aion.core.db import make_engine, system_session
    from aion.settings import Settings
    from aion.web.app import create_app

    url = f"sqlite:///{root / 'bench.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with system_session(engine, actor="bench") as s:
        c = service.create_company(s, CompanyCreate(name="bench", brn="610-81-23454"))
        service.create_user(s, EMAIL, Role.COMPANY_MEMBER, PASSWORD, company=c)
    settings = Settings(
        env="test", data_dir=root / "data", database_url=url, secret_key="b" * 48, log_level="WARNING"
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, engine), port=port, log_config=None, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return AppServer(server, thread, engine, f"http://127.0.0.1:{port}")


def stop(app: AppServer, timeout: float = 30) -> None:
    app.server.should_exit = True
    app.thread.join(timeout=timeout)
    app.engine.dispose()
