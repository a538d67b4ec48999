"""Company pages: the list (searched as one types), a new company, its page with its members,
editing it, and its data as JSON."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select

from aion.accounts import policy, service
from aion.accounts.errors import AccountsError
from aion.accounts.models import SIZES, Company, User
from aion.accounts.schemas import CompanyCreate, CompanyPublic, CompanyUpdate, UserPublic
from aion.core.tenancy import get_scoped
from aion.web.deps import CurrentUser, SessionDep, verify_csrf
from aion.web.forms import pick_language, redirect
from aion.web.templating import render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


@router.get("/companies")
def companies_page(request: Request, session: SessionDep, user: CurrentUser, q: str = "") -> Response:
    companies = service.list_companies(session, q)
    template = (
        "accounts/_company_rows.html" if request.headers.get("hx-request") else "accounts/companies.html"
    )
    return render(request, template, companies=companies, q=q, can_create=policy.can_create_company(user))


@router.get("/companies/new")
def company_new(request: Request, user: CurrentUser) -> Response:
    policy.require(policy.can_create_company(user))
    return render(request, "accounts/company_form.html", company=None, values={}, sizes=SIZES)


def _company_form_values(form: dict[str, str]) -> dict[str, str]:
    keys = ("name", "brn", "industry", "size", "address", "contact_name", "contact_email", "contact_phone")
    return {k: form.get(k, "").strip() for k in keys}


def _validation_messages(e: ValidationError, lang: str) -> list[str]:
    out = []
    for err in e.errors():
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        field = ".".join(str(p) for p in err.get("loc", ()))
        out.append(f"{field}: {pick_language(msg, lang)}")
    return out


def _form_errors(
    request: Request, company: Company | None, values: dict[str, str], errors: list[str]
) -> Response:
    """The company form again, with what the reader typed and why it was refused (400)."""
    return render(
        request, "accounts/company_form.html", 400, company=company, values=values, errors=errors, sizes=SIZES
    )


@router.post("/companies/new")
async def company_create(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    policy.require(policy.can_create_company(user))
    form = await request.form()
    values = _company_form_values({k: str(v) for k, v in form.items()})
    try:
        company = service.create_company(session, CompanyCreate(**values))
    except ValidationError as e:
        return _form_errors(request, None, values, _validation_messages(e, request.state.lang))
    except AccountsError as e:
        return _form_errors(request, None, values, [e.localized(request.state.lang)])
    return redirect(f"/companies/{company.id}", "created")


@router.get("/companies/{company_id}")
def company_detail(request: Request, session: SessionDep, user: CurrentUser, company_id: int) -> Response:
    company = get_scoped(session, Company, company_id)
    members = list(session.scalars(select(User).where(User.company_id == company.id).order_by(User.email)))
    return render(
        request,
        "accounts/company_detail.html",
        company=company,
        members=members,
        can_edit=policy.can_edit_company(user, company.id),
        can_manage_users=policy.can_manage_users(user, company.id),
        can_view_users=policy.can_view_users(user),  # a member opens only their own user page
    )


@router.get("/companies/{company_id}/edit")
def company_edit(request: Request, session: SessionDep, user: CurrentUser, company_id: int) -> Response:
    company = get_scoped(session, Company, company_id)
    policy.require(policy.can_edit_company(user, company.id))
    values = CompanyPublic.model_validate(company).model_dump()
    return render(request, "accounts/company_form.html", company=company, values=values, sizes=SIZES)


@router.post("/companies/{company_id}/edit")
async def company_update(
    request: Request, session: SessionDep, user: CurrentUser, company_id: int
) -> Response:
    company = get_scoped(session, Company, company_id)
    policy.require(policy.can_edit_company(user, company.id))
    form = await request.form()
    values = _company_form_values({k: str(v) for k, v in form.items()})
    values.pop("brn", None)  # the registration number identifies the company; it is not edited
    try:
        service.update_company(session, company, CompanyUpdate(**values))
    except ValidationError as e:
        return _form_errors(request, company, values, _validation_messages(e, request.state.lang))
    return redirect(f"/companies/{company.id}", "saved")


@router.get("/companies/{company_id}/export.json")
def company_export(session: SessionDep, user: CurrentUser, company_id: int) -> Response:
    company = get_scoped(session, Company, company_id)
    members = session.scalars(select(User).where(User.company_id == company.id))
    data = {
        "company": CompanyPublic.model_validate(company).model_dump(mode="json"),
        "users": [UserPublic.model_validate(u).model_dump(mode="json") for u in members],
    }
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="company-{company.id}.json"'},
    )
