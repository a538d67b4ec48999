"""The FastAPI application factory: middleware, error pages, static files, routers."""

from __future__ import annotations

import importlib
import logging
import time
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine, text

from aion import __version__
from aion.accounts.errors import AccountsError, PermissionDenied
from aion.core.db import get_engine, session_factory
from aion.core.tenancy import NotFound
from aion.i18n import LANGUAGES, gettext
from aion.settings import Settings, get_settings
from aion.web.cookies import CSRF_COOKIE, LANG_COOKIE, CookieSigner
from aion.web.deps import CsrfFailed, LoginRequired
from aion.web.templating import render

log = logging.getLogger("aion.web")
STATIC_DIR = Path(__file__).resolve().parent / "static"


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def _error(request: Request, status: int, msgid: str, **params: object) -> Response:
    lang = getattr(request.state, "lang", "ko")
    message = gettext(lang, msgid, **params)
    if _wants_json(request):
        return JSONResponse({"detail": message}, status_code=status)
    return render(request, "error.html", status_code=status, status=status, message=message)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Build the app; ``settings`` and ``engine`` default to the process-wide ones."""
    settings = settings or get_settings()
    settings.check_safe()
    engine = engine or get_engine(settings.resolved_database_url())

    app = FastAPI(
        title="AI-on API",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = session_factory(engine)
    app.state.signer = CookieSigner(settings.resolved_secret_key(), settings.session_max_age_s)

    @app.middleware("http")
    async def _request_context(request: Request, call_next):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        lang = request.cookies.get(LANG_COOKIE)
        request.state.lang = lang if lang in LANGUAGES else settings.default_language
        signer: CookieSigner = app.state.signer
        csrf = request.cookies.get(CSRF_COOKIE)
        fresh_csrf = not signer.valid_csrf(csrf)
        request.state.csrf_token = signer.new_csrf() if fresh_csrf else csrf
        response: Response = await call_next(request)
        if fresh_csrf:
            response.set_cookie(
                CSRF_COOKIE,
                request.state.csrf_token,
                httponly=True,
                samesite="lax",
                secure=settings.cookie_secure,
                path="/",
            )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        viewer = getattr(request.state, "viewer", None)
        log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.url.path,
                "status": response.status_code,
                "ms": round((time.perf_counter() - started) * 1000, 1),
                "user_id": getattr(viewer, "id", None),
            },
        )
        return response

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if _wants_json(request):
            lang = getattr(request.state, "lang", "ko")
            return JSONResponse({"detail": gettext(lang, "Please log in.")}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        return _error(request, 404, "Not found.")

    @app.exception_handler(PermissionDenied)
    async def _forbidden(request: Request, exc: PermissionDenied) -> Response:
        return _error(request, 403, exc.msgid, **exc.params)

    @app.exception_handler(AccountsError)
    async def _accounts_error(request: Request, exc: AccountsError) -> Response:
        return _error(request, 400, exc.msgid, **exc.params)

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, exc: CsrfFailed) -> Response:
        return _error(request, 403, "The form has expired or was not sent from this site. Please try again.")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _mount_api_docs(app)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:  # browsers ask for it whatever the page's <link rel="icon"> says
        return RedirectResponse("/static/favicon.svg", status_code=301)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> Response:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as e:  # report, never raise, from a health check
            log.warning("health check failed", extra={"error": str(e)})
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": engine.dialect.name, "version": __version__})

    for target in DOMAIN_ROUTERS:
        module_name, _, attr = target.partition(":")
        app.include_router(getattr(importlib.import_module(module_name), attr))
    return app


# Each domain's pages and JSON API, as "module:router".
DOMAIN_ROUTERS: list[str] = [
    "aion.accounts.web:router",
    "aion.accounts.web_companies:router",
    "aion.accounts.api:router",
    "aion.platform.web:router",
    "aion.platform.api:router",
    "aion.platform.api_deploy:router",
    "aion.line.web:router",
    "aion.line.web_photos:router",
    "aion.line.api:router",
    "aion.program.web:router",
    "aion.inspectionweb.web:router",
    "aion.process.web:router",
]


def _mount_api_docs(app: FastAPI) -> None:
    """Swagger UI from the locally installed bundle: factories are often offline."""
    import swagger_ui_bundle

    app.mount("/api/docs-static", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger")

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title="AI-on API",
            swagger_js_url="/api/docs-static/swagger-ui-bundle.js",
            swagger_css_url="/api/docs-static/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )
