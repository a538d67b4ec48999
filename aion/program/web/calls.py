"""Pages: program overview, calls (create, extend), applications (draft, submit, receipt, reopen,
attachments, more-information requests) and the decision letter."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import select

from aion.accounts import policy as accounts_policy
from aion.accounts.models import Agency
from aion.core.tenancy import NotFound, get_scoped
from aion.program import policy
from aion.program.models import TRACKS, Application, ApplicationFile, InfoRequest, ProgramCall
from aion.program.schemas import (
    CallInput,
    parse_eligibility,
    parse_form_fields,
    parse_int,
    parse_local_time,
    parse_rubric,
    rubric_text,
)
from aion.program.service import calls as svc
from aion.program.service import review as review_svc
from aion.program.service import selection
from aion.program.service.common import DEFAULT_RUBRIC, KST, InputError, now, window_of
from aion.program.web.common import act, err, form_dict, page
from aion.web.deps import CurrentUser, SessionDep
from aion.web.forms import redirect

router = APIRouter()
AGGREGATIONS = ("mean", "median", "trimmed")


def _call(session: SessionDep, call_id: int) -> ProgramCall:
    call = session.get(ProgramCall, call_id)
    if call is None:
        raise NotFound("ProgramCall", call_id)
    return call


@router.get("/program")
def overview(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    ctx: dict[str, Any] = {"calls": svc.list_calls(session), "status_of": svc.call_status}
    if policy.can_apply(user):
        ctx["applications"] = svc.company_applications(session, user.company_id)
    if policy.is_evaluator(user):
        ctx["assignments"] = review_svc.my_assignments(session, user)
    return page(
        request,
        "program/index.html",
        can_manage=policy.can_manage_calls(user),
        can_apply=policy.can_apply(user),
        **ctx,
    )


# -- calls ------------------------------------------------------------------------------
def _call_form_ctx(session: SessionDep, values: dict[str, str]) -> dict[str, Any]:
    agencies = list(session.scalars(select(Agency).order_by(Agency.id)))
    return {"agencies": agencies, "tracks": TRACKS, "aggregations": AGGREGATIONS, "values": values}


@router.get("/program/calls/new")
def call_new(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    accounts_policy.require(policy.can_manage_calls(user))
    today = now().astimezone(KST)
    values = {
        "year": str(today.year),
        "opens_at": today.strftime("%Y-%m-%dT%H:00"),
        "closes_at": (today + timedelta(days=14)).strftime("%Y-%m-%dT18:00"),
        "n_select": "5",
        "n_reserve": "1",
        "min_score": "60",
        "rule_region": "울산",
        "rule_industry": "C",
        "rubric": rubric_text(DEFAULT_RUBRIC),
        "form_fields": "plan | 추진 계획 | textarea | yes\nproblem | 해결하려는 현장 문제 | textarea | yes",
        "attachments": "사업자등록증",
    }
    return page(request, "program/call_form.html", **_call_form_ctx(session, values))


@router.post("/program/calls/new")
async def call_create(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    accounts_policy.require(policy.can_manage_calls(user))
    form = await form_dict(request)
    try:
        track = form.get("track", "")
        if track not in TRACKS:
            raise InputError(f"사업 유형을 고르십시오 / Choose a track: {track!r}")
        agg = form.get("aggregation", "mean")
        if agg not in AGGREGATIONS:
            raise InputError(f"집계 방식을 고르십시오 / Choose an aggregation: {agg!r}")
        min_score = form.get("min_score", "").strip()
        data = CallInput(
            code=form.get("code", "").strip()[:40],
            year=parse_int(form.get("year", ""), "year", minimum=2000),
            track=track,
            agency_id=parse_int(form.get("agency_id", ""), "agency"),
            title=form.get("title", "").strip()[:200],
            description=form.get("description", "").strip(),
            n_select=parse_int(form.get("n_select", ""), "n_select", minimum=1),
            n_reserve=parse_int(form.get("n_reserve", "0") or "0", "n_reserve"),
            min_score=float(min_score) if min_score.replace(".", "", 1).isdigit() else None,
            aggregation=agg,
            blind=form.get("blind") == "on",
            opens_at=parse_local_time(form.get("opens_at", ""), "opens_at"),
            closes_at=parse_local_time(form.get("closes_at", ""), "closes_at"),
            eligibility=parse_eligibility(form),
            form_fields=parse_form_fields(form.get("form_fields", "")),
            attachments=[a.strip() for a in form.get("attachments", "").splitlines() if a.strip()],
            rubric=parse_rubric(form.get("rubric", "")),
        )
        if not data.code or not data.title:
            raise InputError("공고 번호와 제목을 입력하십시오 / Enter the call code and title")
        if session.get(Agency, data.agency_id) is None:
            raise InputError("주관 기관을 고르십시오 / Choose the owning agency")
        call = svc.create_call(session, data)
    except InputError as e:
        return page(
            request, "program/call_form.html", 400, errors=[err(request, e)], **_call_form_ctx(session, form)
        )
    return redirect(f"/program/calls/{call.id}?done=created")


@router.get("/program/calls/{call_id}")
def call_detail(request: Request, session: SessionDep, user: CurrentUser, call_id: int) -> Response:
    call = _call(session, call_id)
    mine = None
    if policy.can_apply(user):
        mine = session.scalar(
            select(Application).where(
                Application.call_id == call.id, Application.company_id == user.company_id
            )
        )
    apps = (
        svc.call_applications(session, call)
        if policy.can_manage_calls(user) or user.role == "consultant"
        else []
    )
    return page(
        request,
        "program/call_detail.html",
        call=call,
        window=window_of(call),
        status=svc.call_status(call),
        mine=mine,
        apps=apps,
        can_manage=policy.can_manage_calls(user),
        can_apply=policy.can_apply(user),
        fields=svc.all_fields(call),
        terms=svc.eligibility_terms(call),
    )


@router.post("/program/calls/{call_id}/extend")
def call_extend(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    call_id: int,
    new_close: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    accounts_policy.require(policy.can_manage_calls(user))
    call = _call(session, call_id)
    try:
        svc.extend_call(session, call, parse_local_time(new_close, "new_close"), reason, user.email)
    except InputError as e:
        return page(
            request,
            "program/call_detail.html",
            400,
            call=call,
            window=window_of(call),
            status=svc.call_status(call),
            mine=None,
            apps=svc.call_applications(session, call),
            can_manage=True,
            can_apply=False,
            fields=svc.all_fields(call),
            terms=svc.eligibility_terms(call),
            errors=[err(request, e)],
        )
    return redirect(f"/program/calls/{call.id}?done=extended")


@router.post("/program/calls/{call_id}/apply")
def call_apply(request: Request, session: SessionDep, user: CurrentUser, call_id: int) -> Response:
    accounts_policy.require(policy.can_apply(user))
    call = _call(session, call_id)
    try:
        app = svc.start_application(session, call, user)
    except InputError as e:
        return page(request, "error.html", 400, status=400, message=err(request, e))
    return redirect(f"/program/applications/{app.id}/edit")


# -- applications -----------------------------------------------------------------------
def _app(session: SessionDep, user: CurrentUser, app_id: int) -> Application:
    accounts_policy.require(policy.can_view_applications(user))
    return get_scoped(session, Application, app_id)


def _edit_ctx(session: SessionDep, app: Application, values: dict[str, str] | None = None) -> dict[str, Any]:
    files = svc.files_of(session, app)
    return {
        "app": app,
        "call": app.call,
        "fields": svc.all_fields(app.call),
        "values": values if values is not None else app.answers,
        "files": files,
        "problems": svc.problems(app, files),
    }


@router.get("/program/applications/{app_id}/edit")
def app_edit(request: Request, session: SessionDep, user: CurrentUser, app_id: int) -> Response:
    app = _app(session, user, app_id)
    accounts_policy.require(policy.can_apply(user))
    return page(request, "program/application_edit.html", **_edit_ctx(session, app))


@router.post("/program/applications/{app_id}/edit")
async def app_save(request: Request, session: SessionDep, user: CurrentUser, app_id: int) -> Response:
    app = _app(session, user, app_id)
    accounts_policy.require(policy.can_apply(user))
    form = await form_dict(request)
    action = form.get("action", "save")
    try:
        svc.save_answers(session, app, form)
        if action == "submit":
            svc.submit(session, app, user)
            return redirect(f"/program/applications/{app.id}/receipt?done=submitted")
    except InputError as e:
        session.commit()  # keep what was typed even though the submission failed
        return page(
            request,
            "program/application_edit.html",
            400,
            errors=[err(request, e)],
            **_edit_ctx(session, app, form),
        )
    if action == "preview":
        eligible, notes = svc.eligibility(session, app)
        return page(
            request,
            "program/application_preview.html",
            app=app,
            call=app.call,
            fields=svc.all_fields(app.call),
            eligible=eligible,
            notes=notes,
            files=svc.files_of(session, app),
            problems=svc.problems(app, svc.files_of(session, app)),
        )
    return redirect(f"/program/applications/{app.id}/edit?done=draft")


@router.post("/program/applications/{app_id}/files")
async def app_upload(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    app_id: int,
    kind: Annotated[str, Form()],
    file: UploadFile,
) -> Response:
    app = _app(session, user, app_id)
    accounts_policy.require(policy.can_apply(user))
    data = await file.read(svc.MAX_FILE_BYTES + 1)
    try:
        svc.add_file(session, app, kind, file.filename or "file", file.content_type or "", data)
    except InputError as e:
        return page(
            request, "program/application_edit.html", 400, errors=[err(request, e)], **_edit_ctx(session, app)
        )
    return redirect(f"/program/applications/{app.id}/edit?done=uploaded")


@router.get("/program/applications/{app_id}/files/{file_id}")
def app_file(session: SessionDep, user: CurrentUser, app_id: int, file_id: int) -> Response:
    app = _app(session, user, app_id)
    f = get_scoped(session, ApplicationFile, file_id)
    if f.application_id != app.id:
        raise NotFound("ApplicationFile", file_id)
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in f.filename)
    return Response(
        f.data, media_type=f.content_type, headers={"Content-Disposition": f'attachment; filename="{safe}"'}
    )


@router.get("/program/applications/{app_id}")
def app_detail(request: Request, session: SessionDep, user: CurrentUser, app_id: int) -> Response:
    app = _app(session, user, app_id)
    return page(
        request,
        "program/application_detail.html",
        app=app,
        call=app.call,
        fields=svc.all_fields(app.call),
        files=svc.files_of(session, app),
        requests=svc.info_requests(session, app),
        is_open=window_of(app.call).is_open(now()),
        can_apply=policy.can_apply(user),
        can_manage=policy.can_manage_calls(user),
    )


@router.get("/program/applications/{app_id}/receipt")
def app_receipt(request: Request, session: SessionDep, user: CurrentUser, app_id: int) -> Response:
    app = _app(session, user, app_id)
    if app.receipt_no is None:
        raise NotFound("Receipt", app_id)
    return page(request, "program/receipt.html", app=app, call=app.call)


@router.post("/program/applications/{app_id}/reopen")
def app_reopen(request: Request, session: SessionDep, user: CurrentUser, app_id: int) -> Response:
    app = _app(session, user, app_id)
    accounts_policy.require(policy.can_apply(user))
    return act(
        request, lambda: svc.reopen(session, app, user), f"/program/applications/{app.id}/edit?done=reopened"
    )


@router.post("/program/applications/{app_id}/info")
def app_ask(
    request: Request, session: SessionDep, user: CurrentUser, app_id: int, question: Annotated[str, Form()]
) -> Response:
    app = _app(session, user, app_id)
    accounts_policy.require(policy.can_manage_calls(user))
    return act(
        request,
        lambda: svc.request_info(session, app, question, user),
        f"/program/applications/{app.id}?done=asked",
    )


@router.post("/program/info/{req_id}/answer")
def info_answer(
    request: Request, session: SessionDep, user: CurrentUser, req_id: int, answer: Annotated[str, Form()]
) -> Response:
    accounts_policy.require(policy.can_apply(user))
    req = get_scoped(session, InfoRequest, req_id)
    return act(
        request,
        lambda: svc.answer_info(session, req, answer),
        f"/program/applications/{req.application_id}?done=answered",
    )


@router.post("/program/applications/{app_id}/withdraw")
def app_withdraw(
    request: Request, session: SessionDep, user: CurrentUser, app_id: int, reason: Annotated[str, Form()] = ""
) -> Response:
    app = _app(session, user, app_id)
    accounts_policy.require(policy.can_manage_calls(user))
    return act(
        request,
        lambda: selection.withdraw(session, app, reason, user),
        f"/program/calls/{app.call_id}/ranking?done=withdrawn",
    )


@router.get("/program/applications/{app_id}/letter.pdf")
def app_letter(session: SessionDep, user: CurrentUser, app_id: int) -> Response:
    app = _app(session, user, app_id)
    if app.decision is None or app.decision == "withdrawn":
        raise NotFound("Letter", app_id)
    pdf = selection.letter_pdf(app.call, app)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="decision-{app.id}.pdf"'},
    )


def fmt_kst(value: datetime | None) -> str:
    return value.astimezone(KST).strftime("%Y-%m-%d %H:%M") if value else ""
