"""The issue's end-to-end test in a real browser (Debian's chromium driven by Playwright).

An operator creates a blind call; two companies apply (draft, attachment, submit, receipt);
two evaluators declare no conflict and score blind, a third is excluded (automatically for
one application, by his own declaration for the other); the operator sees the ranking with
aliases and confirms the selection; a consultant runs a diagnosis and downloads its PDF
(Hangul extracted by pypdf, font embedded); the KPI dashboard and its Excel export show the result.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import Engine, select

from aion.core.db import system_session
from aion.program.models import Application, Assignment
from aion.program.service.common import KST
from aion.settings import Settings
from aion.web.app import create_app
from tests.browser import BROWSER, CHROME_ARGS, CHROMIUM, log_in, serving
from tests.foundation.factories import World

pytestmark = BROWSER
NAMES = ("알파정밀", "베타화학", "610-81-23454", "620-86-54323")


@pytest.fixture
def server(tmp_path: Path, engine: Engine, db_url: str, world: World) -> Iterator[str]:
    settings = Settings(env="test", data_dir=tmp_path / "data", database_url=db_url, secret_key="k" * 48)
    with serving(create_app(settings, engine)) as base:
        yield base


def _login(browser: Any, base: str, email: str) -> Any:
    page = browser.new_context(locale="ko-KR", accept_downloads=True).new_page()
    log_in(page, base, email)
    return page


def _apply(page: Any, base: str, call_id: int, plan: str) -> str:
    from playwright.sync_api import expect

    page.goto(f"{base}/program/calls/{call_id}")
    page.get_by_role("button", name="신청하기").click()
    page.get_by_label("상시 근로자 수").fill("42")
    page.get_by_label("표준산업분류 코드 (예: C29)").fill("C29")
    page.get_by_label("추진 계획").fill(plan)
    page.get_by_label("해결하려는 현장 문제").fill("육안 검사 누락으로 인한 고객 불만")
    page.get_by_role("button", name="임시 저장").click()
    expect(page.get_by_text("저장했습니다. 나중에 이어서 작성할 수 있습니다.")).to_be_visible()
    expect(page.locator("#problems")).to_contain_text("필수 첨부 누락: 사업자등록증")
    page.get_by_label("파일").set_input_files(
        {"name": "사업자등록증.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 demo"}
    )
    page.get_by_role("button", name="업로드", exact=True).click()
    expect(page.get_by_text("파일을 첨부했습니다.")).to_be_visible()
    page.get_by_role("button", name="제출", exact=True).click()
    expect(page.get_by_role("heading", name="신청 접수증")).to_be_visible()
    receipt: str = page.locator("#receipt-no").inner_text()
    assert re.fullmatch(r"2\d{3}-SOL-E2E-000[12]", receipt)
    return receipt


def _score(page: Any, base: str, asg_id: int, mark: str) -> None:
    """Declare no conflict, score the first criterion, save, finish the others later, submit."""
    from playwright.sync_api import expect

    page.goto(f"{base}/program/assignments/{asg_id}")
    page.get_by_label("이해충돌이 없습니다").check()
    page.get_by_role("button", name="신고하기").click()
    expect(page.get_by_role("heading", name="평가표")).to_be_visible()
    html = page.content()
    assert "지원자 " in html and not any(n in html for n in NAMES)
    page.locator("#score_need").fill(mark)
    page.locator("#comment_need").fill("현장 문제 정의가 구체적임")
    page.get_by_role("button", name="저장 후 나중에 계속").click()
    expect(page.get_by_text("저장했습니다. 나중에 이어서 작성할 수 있습니다.")).to_be_visible()
    for cid in ("feasibility", "capability", "impact"):
        page.locator(f"#score_{cid}").fill(mark)
        page.locator(f"#comment_{cid}").fill("근거가 충분히 제시됨")
    page.get_by_role("button", name="평가 제출").click()
    expect(page.locator("#locked")).to_be_visible()


def test_call_to_kpi_in_a_real_browser(server: str, engine: Engine, world: World, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base = server
    now = datetime.now(KST)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)

        # 1. the operator creates a blind call
        op = _login(browser, base, "operator@test.example")
        op.goto(f"{base}/program/calls/new")
        op.get_by_label("공고 번호").fill(f"{now.year}-SOL-E2E")
        op.get_by_label("제목").fill("AI 솔루션 도입 지원 (E2E)")
        op.get_by_label("사업 유형").select_option("solution")
        op.get_by_label("접수 시작 (한국 시각)").fill((now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
        op.get_by_label("접수 마감 (한국 시각)").fill((now + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"))
        op.get_by_label("선정 기업 수").fill("1")
        op.get_by_label("예비 선정 수").fill("1")
        op.get_by_label("블라인드 평가 (평가위원과 순위표에서 이름 숨김)").check()
        op.get_by_role("button", name="공고 등록").click()
        expect(op.get_by_role("heading", name="AI 솔루션 도입 지원 (E2E)")).to_be_visible()
        expect(op.locator("#call-status")).to_have_text("접수 중")
        call_id = int(op.url.split("/")[-1].split("?")[0])

        # 2. two companies apply
        a = _login(browser, base, "member@alpha.example")
        receipt_a = _apply(a, base, call_id, "알파정밀 프레스 라인 비전 검사 (담당 052-123-4567)")
        b = _login(browser, base, "admin@beta.example")
        receipt_b = _apply(b, base, call_id, "용접 비드 검사 자동화")
        assert receipt_a != receipt_b

        # 3. the operator assigns three evaluators; the third works for company A
        op.goto(f"{base}/program/calls/{call_id}/review")
        for key, org in (
            ("evaluator", "울산대학교"),
            ("evaluator2", "한국산업기술평가원"),
            ("evaluator3", "(주)알파정밀"),
        ):
            op.get_by_label("평가위원", exact=True).select_option(str(world.users[key]))
            op.get_by_label("평가위원 소속 기관 (이해충돌 확인용)").fill(org)
            op.get_by_role("button", name="자격을 충족한 모든 신청서에 배정").click()
            expect(op.get_by_text("평가위원을 배정했습니다.")).to_be_visible()
        with system_session(engine) as s:
            app_ids = {a.receipt_no: a.id for a in s.scalars(select(Application))}
            asg = {(x.evaluator_id, x.application_id): x.id for x in s.scalars(select(Assignment))}
        a_id, b_id = app_ids[receipt_a], app_ids[receipt_b]

        # 4. evaluator 3 is excluded: automatically on A, by his own declaration on B
        ev3 = _login(browser, base, "evaluator3@test.example")
        ev3.goto(f"{base}/program/assignments/{asg[(world.users['evaluator3'], a_id)]}")
        assert "프레스" not in ev3.content()
        ev3.get_by_label("이해충돌이 없습니다").check()
        ev3.get_by_role("button", name="신고하기").click()
        expect(ev3.locator("#excluded")).to_contain_text("평가위원 소속 기관이 지원서의 기관과 같습니다")
        assert "프레스" not in ev3.content()
        ev3.goto(f"{base}/program/assignments/{asg[(world.users['evaluator3'], b_id)]}")
        ev3.get_by_label("이해충돌이 있습니다").check()
        ev3.get_by_label("사유 (이해충돌이 있는 경우)").fill("최근 2년간 자문 수행")
        ev3.get_by_role("button", name="신고하기").click()
        expect(ev3.locator("#excluded")).to_contain_text("최근 2년간 자문 수행")

        # 5. evaluators 1 and 2 score blind
        for key, marks in (("evaluator", {a_id: "4", b_id: "3"}), ("evaluator2", {a_id: "5", b_id: "3.5"})):
            ev = _login(browser, base, f"{key}@test.example")
            for app_id, mark in marks.items():
                _score(ev, base, asg[(world.users[key], app_id)], mark)

        # 6. ranking (aliases only), then selection; names shown after
        op.goto(f"{base}/program/calls/{call_id}/ranking")
        table = op.locator("#ranking").inner_text()
        assert "지원자 " in table and not any(n in table for n in NAMES)
        assert "90.00" in table and "65.00" in table  # A: (80 + 100) / 2; B: (60 + 70) / 2
        assert table.count("⚑") == 2  # on A both evaluators are more than 10 % from the panel mean
        op.get_by_role("button", name="선정 확정").click()
        expect(op.get_by_text("선정을 확정했고 결과 통지서를 발송함에 넣었습니다.")).to_be_visible()
        rows = op.locator("#ranking tbody tr")
        expect(rows.nth(0)).to_contain_text("알파정밀")
        expect(rows.nth(0)).to_contain_text("선정")
        expect(rows.nth(1)).to_contain_text("베타화학")
        expect(rows.nth(1)).to_contain_text("예비 선정")

        # 7. a consultant runs a diagnosis for company A and downloads the PDF
        con = _login(browser, base, "consultant@test.example")
        con.goto(f"{base}/program/diagnoses/new?company_id={world.company_a}")
        radios = con.locator('input[type="radio"][value="2"]')
        for i in range(radios.count()):
            radios.nth(i).check()
        con.get_by_label("불량·품질 편차").check()
        con.get_by_role("button", name="진단 저장").click()
        expect(con.locator("#overall")).to_have_text("2.00")
        with con.expect_download() as dl:
            con.get_by_role("link", name="보고서 내려받기 (PDF)").click()
        pdf_path = tmp_path / "diagnosis.pdf"
        dl.value.save_as(pdf_path)
        reader = PdfReader(pdf_path)
        text = "".join(pg.extract_text() for pg in reader.pages)
        for korean in ("제조 AI 도입 준비도 진단", "알파정밀", "데이터", "품질 검사 AI"):
            assert korean in text, korean
        embedded = []
        for pg in reader.pages:
            fonts = pg["/Resources"]["/Font"]
            for ref in fonts.values():
                font = ref.get_object()
                desc = font.get("/FontDescriptor")
                if desc is not None and "/FontFile2" in desc.get_object():
                    embedded.append(str(font["/BaseFont"]))
        assert embedded, "no embedded TrueType font"

        # 8. KPI dashboard and Excel export show the result
        op.goto(f"{base}/program/kpi?year={now.year}")
        expect(op.locator('tr[data-indicator="solution"] .actual')).to_have_text("1")
        expect(op.locator('tr[data-indicator="diagnosis"] .actual')).to_have_text("1")
        assert op.locator("figure svg").count() == 1
        with op.expect_download() as dl:
            op.get_by_role("link", name="엑셀").click()
        xlsx = tmp_path / "kpi.xlsx"
        dl.value.save_as(xlsx)
        ws = load_workbook(xlsx).worksheets[0]
        actual = {str(r[1]): r[5] for r in ws.iter_rows(min_row=2, values_only=True)}
        assert any("솔루션" in k and v == 1 for k, v in actual.items()), actual
        assert any("진단" in k and v == 1 for k, v in actual.items()), actual
        browser.close()
