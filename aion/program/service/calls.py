"""Calls and applications: create and extend a call, apply, save a draft, submit with a receipt,
reopen until the deadline, attachments, and "more information" requests.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aion.accounts.models import Company, User
from aion.program.calls.eligibility import evaluate_eligibility, rule_from_dict
from aion.program.calls.records import CompanyProfile, SupportRecord
from aion.program.errors import CallError
from aion.program.models import Application, ApplicationFile, InfoRequest, ProgramCall, Support
from aion.program.schemas import CallInput
from aion.program.service import mail
from aion.program.service.common import STANDARD_FIELDS, InputError, fail, now, window_of
from aion.program.text import Text

MAX_FILE_BYTES = 10 * 1024 * 1024


# -- calls ------------------------------------------------------------------------------
def create_call(session: Session, data: CallInput) -> ProgramCall:
    if session.scalar(select(ProgramCall.id).where(ProgramCall.code == data.code)) is not None:
        raise fail(f"이미 있는 공고 번호입니다: {data.code}", f"A call with code {data.code} already exists")
    try:
        window_of_new = ProgramCall(opens_at=data.opens_at, closes_at=data.closes_at, extensions=[])
        window_of(window_of_new)
        for r in data.eligibility:
            rule_from_dict(r)
    except CallError as e:
        raise InputError(str(e)) from e
    call = ProgramCall(**asdict(data), blind_secret=secrets.token_hex(16), extensions=[])
    session.add(call)
    session.flush()
    return call


def extend_call(session: Session, call: ProgramCall, new_close: datetime, reason: str, by: str) -> None:
    try:
        w = window_of(call).extend(new_close, reason, by=by, at=now())
    except CallError as e:
        raise InputError(str(e)) from e
    ext = w.extensions[-1]
    call.extensions = [
        *call.extensions,
        {
            "previous_close": ext.previous_close.isoformat(),
            "new_close": ext.new_close.isoformat(),
            "reason": ext.reason,
            "by": ext.by,
            "at": ext.at.isoformat(),
        },
    ]
    session.flush()


def list_calls(session: Session, year: int | None = None) -> list[ProgramCall]:
    stmt = select(ProgramCall).order_by(ProgramCall.opens_at.desc(), ProgramCall.id.desc())
    if year is not None:
        stmt = stmt.where(ProgramCall.year == year)
    return list(session.scalars(stmt))


def call_status(call: ProgramCall) -> str:
    """'upcoming', 'open', 'closed' or 'decided'."""
    return "decided" if call.decided_at is not None else window_of(call).status(now())


def all_fields(call: ProgramCall) -> list[dict[str, Any]]:
    return [*STANDARD_FIELDS, *call.form_fields]


# -- applications -----------------------------------------------------------------------
def start_application(session: Session, call: ProgramCall, user: User) -> Application:
    """The company's application to ``call`` (a new draft, or the existing one)."""
    if user.company_id is None:
        raise fail("기업 회원만 신청할 수 있습니다", "Only company members can apply")
    existing = session.scalar(
        select(Application).where(Application.call_id == call.id, Application.company_id == user.company_id)
    )
    if existing is not None:
        return existing
    if not window_of(call).is_open(now()):
        raise fail("접수 기간이 아닙니다", "The call is not open for applications")
    app = Application(call_id=call.id, company_id=user.company_id, created_by_id=user.id, answers={})
    session.add(app)
    session.flush()
    return app


def _editable(app: Application) -> None:
    if app.status != "draft":
        raise fail(
            "제출된 신청서는 다시 열어야 수정할 수 있습니다", "Reopen the submitted application to edit it"
        )
    if not window_of(app.call).is_open(now()):
        raise fail(
            "접수가 마감되어 수정할 수 없습니다", "The call has closed; the application can no longer change"
        )


def save_answers(session: Session, app: Application, form: dict[str, str]) -> None:
    """Keep what was typed (a draft may be incomplete); numbers are checked when given."""
    _editable(app)
    answers = dict(app.answers or {})
    for f in all_fields(app.call):
        if f["name"] not in form:
            continue
        value = form[f["name"]].strip()
        if f["kind"] == "number" and value:
            try:
                float(value)
            except ValueError as e:
                raise fail(
                    f"숫자를 입력하십시오: {f['ko']}", f"Enter a number: {f.get('en') or f['ko']}"
                ) from e
        answers[f["name"]] = value
    app.answers = answers
    session.flush()


def problems(app: Application, files: list[ApplicationFile]) -> list[Text]:
    """What stops submission: missing required answers and attachments."""
    out: list[Text] = []
    for f in all_fields(app.call):
        if f.get("required") and not str((app.answers or {}).get(f["name"], "")).strip():
            out.append(
                Text(f"필수 항목 누락: {f['ko']}", f"Required field missing: {f.get('en') or f['ko']}")
            )
    kinds = {f.kind for f in files}
    for a in app.call.attachments:
        if a not in kinds:
            out.append(Text(f"필수 첨부 누락: {a}", f"Required attachment missing: {a}"))
    return out


def profile_of(session: Session, app: Application) -> CompanyProfile:
    company: Company = app.company
    ans = app.answers or {}

    def num(key: str) -> float | None:
        try:
            return float(ans.get(key, ""))
        except ValueError:
            return None

    history = tuple(
        SupportRecord(f"S{s.id}", company.brn, s.agency.short_name, s.track, s.year, s.category, s.title)
        for s in session.scalars(select(Support).where(Support.company_id == company.id))
    )
    founded = num("founded_year")
    sales = num("sales_mkrw")
    return CompanyProfile(
        brn=company.brn,
        name=company.name,
        region=company.address,
        employees=int(num("employees") or 0),
        industry_code=str(ans.get("industry_code", "")),
        annual_sales_krw=int(sales * 1_000_000) if sales is not None else None,
        founded=date(int(founded), 1, 1) if founded else None,
        support_history=history,
    )


def eligibility_terms(call: ProgramCall) -> list[tuple[Text, Text]]:
    """The call's eligibility rules as an applicant reads them: each rule's name and what it asks."""
    rules = [rule_from_dict(r) for r in call.eligibility]
    return [(rule.label, rule.describe()) for rule in rules]


def eligibility(session: Session, app: Application) -> tuple[bool, list[dict[str, Any]]]:
    rules = [rule_from_dict(r) for r in app.call.eligibility]
    result = evaluate_eligibility(profile_of(session, app), rules, on=now().date())
    notes = [
        {"rule": r.rule, "passed": r.passed, "ko": r.reason.ko, "en": r.reason.en} for r in result.results
    ]
    return result.eligible, notes


def files_of(session: Session, app: Application) -> list[ApplicationFile]:
    return list(
        session.scalars(
            select(ApplicationFile)
            .where(ApplicationFile.application_id == app.id)
            .order_by(ApplicationFile.id)
        )
    )


def submit(session: Session, app: Application, user: User) -> None:
    _editable(app)
    missing = problems(app, files_of(session, app))
    if missing:
        raise fail(
            "제출할 수 없습니다: " + "; ".join(m.ko for m in missing),
            "Cannot submit: " + "; ".join(m.en for m in missing),
        )
    app.eligible, app.eligibility_notes = eligibility(session, app)
    first = app.receipt_no is None
    if first:
        n = session.scalar(
            select(func.count(Application.id))
            .where(Application.call_id == app.call_id, Application.receipt_no.is_not(None))
            .execution_options(aion_unscoped=True)
        )
        app.receipt_no = f"{app.call.code}-{(n or 0) + 1:04d}"
    app.status, app.submitted_at = "submitted", now()
    session.flush()
    word = ("접수", "received") if first else ("재제출", "resubmitted")
    _notify(
        session,
        app,
        user,
        f"[AI-on] {app.call.title} 신청 {word[0]} ({app.receipt_no})",
        f"{app.company.name} 귀하\n「{app.call.title}」 신청서가 {word[0]}되었습니다. 접수번호: {app.receipt_no}\n"
        f"Your application to '{app.call.title}' was {word[1]}. Receipt no. {app.receipt_no}",
    )


def reopen(session: Session, app: Application, user: User) -> None:
    if app.status != "submitted":
        raise fail("제출된 신청서만 다시 열 수 있습니다", "Only a submitted application can be reopened")
    if not window_of(app.call).is_open(now()):
        raise fail("마감 후에는 다시 열 수 없습니다", "An application cannot be reopened after the deadline")
    app.status = "draft"
    session.flush()
    _notify(
        session,
        app,
        user,
        f"[AI-on] {app.call.title} 신청서 수정 중 ({app.receipt_no})",
        "신청서를 다시 열었습니다. 마감 전에 다시 제출하십시오.\n"
        "The application was reopened; submit it again before the deadline.",
    )


def add_file(
    session: Session, app: Application, kind: str, filename: str, content_type: str, data: bytes
) -> ApplicationFile:
    _editable(app)
    if kind not in app.call.attachments:
        raise fail(f"이 공고의 첨부 종류가 아닙니다: {kind}", f"Not an attachment of this call: {kind}")
    if not data:
        raise fail("빈 파일입니다", "The file is empty")
    if len(data) > MAX_FILE_BYTES:
        raise fail("파일이 10 MB를 넘습니다", "The file is larger than 10 MB")
    for old in files_of(session, app):
        if old.kind == kind:
            session.delete(old)
    f = ApplicationFile(
        application_id=app.id,
        company_id=app.company_id,
        kind=kind,
        filename=filename.replace("/", "_").replace("\\", "_")[:255] or "file",
        content_type=content_type or "application/octet-stream",
        size=len(data),
        data=data,
    )
    session.add(f)
    session.flush()
    return f


def request_info(session: Session, app: Application, question: str, by: User) -> InfoRequest:
    if len(question.strip()) < 5:
        raise fail("요청 내용을 5자 이상 입력하십시오", "Write the request in at least 5 characters")
    req = InfoRequest(
        application_id=app.id, company_id=app.company_id, question=question.strip(), asked_by_id=by.id
    )
    session.add(req)
    session.flush()
    _notify(
        session,
        app,
        None,
        f"[AI-on] {app.call.title} 보완 요청 ({app.receipt_no})",
        f"보완 요청 / More information requested:\n{question.strip()}",
    )
    return req


def answer_info(session: Session, req: InfoRequest, answer: str) -> None:
    if not answer.strip():
        raise fail("답변을 입력하십시오", "Write an answer")
    req.answer, req.answered_at = answer.strip(), now()
    session.flush()


def info_requests(session: Session, app: Application) -> list[InfoRequest]:
    return list(
        session.scalars(
            select(InfoRequest).where(InfoRequest.application_id == app.id).order_by(InfoRequest.id)
        )
    )


def company_applications(session: Session, company_id: int | None = None) -> list[Application]:
    stmt = select(Application).order_by(Application.id.desc())
    if company_id is not None:
        stmt = stmt.where(Application.company_id == company_id)
    return list(session.scalars(stmt))


def call_applications(session: Session, call: ProgramCall) -> list[Application]:
    return list(
        session.scalars(select(Application).where(Application.call_id == call.id).order_by(Application.id))
    )


def _notify(session: Session, app: Application, user: User | None, subject: str, body: str) -> None:
    to = {app.company.contact_email, user.email if user is not None else ""} - {""}
    for addr in sorted(to):
        mail.queue(session, addr, subject, body, company_id=app.company_id)
