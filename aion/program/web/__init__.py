"""Pages of program operations (Korean first): calls, applications, review, diagnoses, KPIs, journey."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from aion.program.web import calls, diagnoses, kpi, review, support
from aion.web.deps import verify_csrf

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
for _module in (calls, review, diagnoses, kpi, support):
    router.include_router(_module.router)
