"""Conflict-of-interest rules (shared contract) and blind-review redaction."""

from __future__ import annotations

from datetime import date

import pytest

from aion.program.errors import EvaluationError
from aion.program.evaluation.blind import MASK, BlindPolicy, aliases, redact_record, redact_rows
from aion.program.evaluation.conflicts import (
    DEFAULT_RULES,
    Applicant,
    ConflictRule,
    ConsultingRecord,
    DeclaredConflict,
    DeclaredConflictRule,
    Evaluator,
    Override,
    PriorConsultingRule,
    SameOrganisationRule,
    find_conflicts,
    is_excluded,
)

ON = date(2026, 4, 1)
HANBIT = Applicant("app-1", "220-81-62517", "(주)한빛정밀", affiliates=("울산정보산업진흥원",))
CLEAN = Evaluator(
    "clean", "박공정", organisation="부산대학교", consulted=(ConsultingRecord("124-81-00998", 2025),)
)

# (rule, an evaluator it flags for HANBIT)
CASES: list[tuple[ConflictRule, Evaluator]] = [
    (SameOrganisationRule(), Evaluator("e1", "이직원", organisation="한빛정밀 주식회사")),
    (PriorConsultingRule(), Evaluator("e2", "김자문", consulted=(ConsultingRecord("2208162517", 2024),))),
    (
        DeclaredConflictRule(),
        Evaluator("e3", "최신고", declared=(DeclaredConflict("app-1", "친족이 재직 중"),)),
    ),
]


@pytest.mark.parametrize(("rule", "flagged"), CASES, ids=[type(r).__name__ for r, _ in CASES])
def test_conflict_rule_contract(rule: ConflictRule, flagged: Evaluator) -> None:
    finding = rule.check(flagged, HANBIT, on=ON)
    assert finding is not None
    assert finding.rule == rule.name and finding.rule
    assert finding.evaluator_id == flagged.id and finding.application_id == HANBIT.application_id
    assert any("\uac00" <= c <= "\ud7a3" for c in finding.reason.ko) and finding.reason.en
    assert rule.check(CLEAN, HANBIT, on=ON) is None
    assert rule.name in {r.name for r in DEFAULT_RULES}


def test_same_organisation_by_brn_and_affiliate() -> None:
    by_brn = Evaluator("e", "정", organisation="다른이름", organisation_brn="220-81-62517")
    assert SameOrganisationRule().check(by_brn, HANBIT, on=ON) is not None
    affiliate = Evaluator("e", "정", organisation="울산 정보산업진흥원")
    assert SameOrganisationRule().check(affiliate, HANBIT, on=ON) is not None
    assert SameOrganisationRule().check(Evaluator("e", "정"), HANBIT, on=ON) is None  # no organisation given


def test_prior_consulting_looks_back_a_limited_number_of_years() -> None:
    old = Evaluator("e", "김", consulted=(ConsultingRecord("220-81-62517", 2022),))
    assert PriorConsultingRule(years=3).check(old, HANBIT, on=ON) is None
    assert PriorConsultingRule(years=4).check(old, HANBIT, on=ON) is not None


def test_overrides_need_a_reason_and_lift_only_their_rule() -> None:
    ev = Evaluator(
        "e9", "한", organisation="(주)한빛정밀", consulted=(ConsultingRecord("220-81-62517", 2025),)
    )
    assert {f.rule for f in find_conflicts(ev, HANBIT, on=ON)} == {"same_organisation", "prior_consulting"}
    with pytest.raises(EvaluationError, match="reason"):
        Override("e9", "app-1", "prior_consulting", "  ", by="op")
    ov = Override("e9", "app-1", "prior_consulting", "자문 범위가 다른 사업이었음", by="op")
    assert [f.rule for f in is_excluded(ev, HANBIT, on=ON, overrides=[ov])] == ["same_organisation"]
    ov2 = Override("e9", "app-1", "same_organisation", "퇴사 후 3년 경과 확인", by="op")
    assert is_excluded(ev, HANBIT, on=ON, overrides=[ov, ov2]) == []
    other_app = Override("e9", "app-2", "same_organisation", "다른 지원서에 대한 승인", by="op")
    assert len(is_excluded(ev, HANBIT, on=ON, overrides=[ov, other_app])) == 1


def test_blind_redaction_of_fields_and_free_text() -> None:
    policy = BlindPolicy(
        frozenset({"company_name", "brn", "ceo", "address"}),
        secret="call-1",
        keep_fields=frozenset({"application_id"}),
    )
    rec = {
        "application_id": "app-1",
        "company_name": "(주)한빛정밀",
        "brn": "220-81-62517",
        "ceo": "홍길동",
        "address": "울산 북구 효자로 1",
        "employees": 42,
        "plan": "한빛정밀(대표 홍길동)은 220-81-62517로 등록, 문의 052-123-4567, ai@hanbit.co.kr. "
        "불량률 3%를 1%로.",
    }
    out = redact_record(rec, policy, alias="지원자 B")
    assert out["company_name"] == "지원자 B"
    assert out["brn"] == MASK and out["ceo"] == MASK and out["address"] == MASK
    assert out["employees"] == 42 and out["application_id"] == "app-1"
    for secret in ("한빛정밀", "홍길동", "220-81-62517", "052-123-4567", "ai@hanbit.co.kr"):
        assert secret not in str(out)
    assert "불량률 3%를 1%로" in out["plan"]
    assert rec["company_name"] == "(주)한빛정밀"  # the input is not modified


def test_aliases_are_stable_and_independent_of_submission_order() -> None:
    ids = [f"2026-{i:04d}" for i in range(1, 30)]
    a1 = aliases(ids, "call-1")
    assert a1 == aliases(list(reversed(ids)), "call-1")
    assert len(set(a1.values())) == len(ids)
    assert "지원자 AC" in a1.values()  # beyond 26
    in_order = [a1[i] for i in ids]
    assert in_order != sorted(in_order, key=lambda s: (len(s), s))  # not simply A, B, C by id
    assert aliases(ids, "call-2") != a1


def test_redact_rows_for_exports() -> None:
    policy = BlindPolicy(frozenset({"company_name"}), secret="s")
    rows = [
        {"application_id": "x", "company_name": "가나산업", "score": 80.5},
        {"application_id": "y", "company_name": "다라기계", "score": 71.0},
    ]
    out = redact_rows(rows, policy)
    assert {r["company_name"] for r in out} == {"지원자 A", "지원자 B"}
    assert [r["score"] for r in out] == [80.5, 71.0]
