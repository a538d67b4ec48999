"""Helpers shared by the program pages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from aion.program.service.common import InputError, label
from aion.web.forms import pick_language, redirect
from aion.web.templating import add_template_dir, env, render

add_template_dir(Path(__file__).resolve().parent.parent / "templates")

# Notices after a redirect (?done=key): only known keys are shown.
NOTICES = {
    "created": "Created.",
    "saved": "Saved.",
    "submitted": "Submitted. Your receipt number is shown below.",
    "reopened": "The application is open for changes until the deadline.",
    "extended": "The deadline was extended.",
    "assigned": "Evaluators assigned.",
    "declared": "Declaration recorded.",
    "overridden": "Override recorded.",
    "scored": "Scores submitted and locked.",
    "draft": "Saved. You can finish later.",
    "selected": "The selection is confirmed and the decision letters are in the outbox.",
    "asked": "The request was sent to the applicant.",
    "answered": "Answer sent.",
    "uploaded": "File attached.",
    "moderated": "Moderation recorded.",
    "withdrawn": "The withdrawal is recorded; the first reserve moved up.",
}


def page(request: Request, template: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    lang = getattr(request.state, "lang", "ko")
    done = request.query_params.get("done", "")
    return render(
        request,
        template,
        status_code,
        notice=NOTICES.get(done, ""),
        field_label=lambda f: label(f, lang),
        tx=lambda t: t.get(lang) if hasattr(t, "get") else str(t),
        **ctx,
    )


def err(request: Request, e: Exception) -> str:
    return pick_language(str(e), getattr(request.state, "lang", "ko"))


def act(request: Request, action: Callable[[], object], then: str) -> Response:
    """A form's action: refused input (:class:`InputError`) is the error page (400) in the
    user's language; otherwise redirect to ``then`` (post/redirect/get)."""
    try:
        action()
    except InputError as e:
        return page(request, "error.html", 400, status=400, message=err(request, e))
    return redirect(then)


async def form_dict(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _kst(value: Any) -> str:
    from aion.program.service.common import KST

    return value.astimezone(KST).strftime("%Y-%m-%d %H:%M") if value else ""


env.globals.setdefault("kst", _kst)
