"""Calls: eligibility rules (shared contract), deadlines with extensions, duplicate support."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from aion.program.calls.deadline import CallWindow
from aion.program.calls.duplicates import check_new_support, find_duplicate_support
from aion.program.calls.eligibility import (
    RULE_KINDS,
    AgeRule,
    EligibilityRule,
    IndustryRule,
    PriorSupportRule,
    RegionRule,
    SizeRule,
    evaluate_eligibility,
    rule_from_dict,
)
from aion.program.calls.records import CompanyProfile, SupportRecord
from aion.program.errors import CallError

ON = date(2026, 3, 10)
KST = timezone(timedelta(hours=9))
PAST = SupportRecord(
    "s1", "220-81-62517", "울산테크노파크", "solution", 2024, "solution:inspection", "비전 검사"
)
GOOD = CompanyProfile(
    "220-81-62517", "(주)한빛정밀", "울산광역시 북구", 42, "29301",
    annual_sales_krw=12_000_000_000, founded=date(2021, 5, 1),
)  # fmt: skip

# (rule, a profile it accepts, a profile it rejects, a word the rejection names)
CASES: list[tuple[EligibilityRule, CompanyProfile, CompanyProfile, str]] = [
    (RegionRule(("울산", "경남 양산시")), GOOD, replace(GOOD, region="부산광역시 강서구"), "부산"),
    (SizeRule(max_employees=300, max_sales_krw=40_000_000_000), GOOD, replace(GOOD, employees=301), "301"),
    (IndustryRule(("C",), excluded=("C12",)), GOOD, replace(GOOD, industry_code="62010"), "62010"),
    (PriorSupportRule(tracks=("solution",), within_years=3), GOOD,
     replace(GOOD, support_history=(PAST,)), "비전 검사"),
    (AgeRule(max_years=7), GOOD, replace(GOOD, founded=date(2015, 1, 1)), "11"),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "ok", "bad", "word"), CASES, ids=[type(c[0]).__name__ for c in CASES])
def test_eligibility_rule_contract(
    rule: EligibilityRule, ok: CompanyProfile, bad: CompanyProfile, word: str
) -> None:
    yes = rule.check(ok, on=ON)
    no = rule.check(bad, on=ON)
    assert yes.passed and not no.passed
    assert yes.rule == no.rule == rule.kind and RULE_KINDS[rule.kind] is type(rule)
    assert word in no.reason.ko and word in no.reason.en
    assert any("\uac00" <= c <= "\ud7a3" for c in no.reason.ko)
    # Stored as plain data and read back, the rule behaves the same.
    again = rule_from_dict(rule.to_dict())
    assert again == rule
    assert again.check(bad, on=ON).passed is False
    # On the call's page: the rule's name and what it asks, in both languages, naming its limit
    shown = rule.describe()
    assert rule.label.ko != rule.label.en and all(
        any("\uac00" <= c <= "\ud7a3" for c in t.ko) for t in (rule.label, shown)
    )
    limit = DESCRIBES[type(rule).__name__]
    assert limit in shown.ko and limit in shown.en and "None" not in shown.both()


# a limit each rule of CASES names when described
DESCRIBES = {
    "RegionRule": "양산시",
    "SizeRule": "300",
    "IndustryRule": "C12",
    "PriorSupportRule": "solution",
    "AgeRule": "7",
}


def test_region_matching_is_by_region_not_by_substring() -> None:
    rule = RegionRule(("울산", "경남 양산시"))
    assert rule.check(replace(GOOD, region="울산 남구"), on=ON).passed
    assert rule.check(replace(GOOD, region="경상남도 양산시 물금읍"), on=ON).passed
    assert not rule.check(replace(GOOD, region="경상남도 김해시"), on=ON).passed
    assert not rule.check(replace(GOOD, region="울산시민회관"), on=ON).passed  # not a region prefix


def test_size_industry_and_age_edges() -> None:
    assert SizeRule(max_employees=42).check(GOOD, on=ON).passed  # inclusive
    assert not SizeRule(max_sales_krw=1).check(replace(GOOD, annual_sales_krw=None), on=ON).passed
    assert not IndustryRule(("C",), excluded=("C29",)).check(GOOD, on=ON).passed
    assert IndustryRule(("C29", "C30")).check(replace(GOOD, industry_code="C30110"), on=ON).passed
    assert AgeRule(max_years=4).check(GOOD, on=ON).passed  # founded 2021-05: 4 years on 2026-03-10
    assert not AgeRule(max_years=4).check(GOOD, on=date(2026, 5, 1)).passed
    assert not AgeRule(max_years=4).check(replace(GOOD, founded=None), on=ON).passed


def test_prior_support_window_tracks_and_allowance() -> None:
    old = replace(PAST, id="s0", year=2022)
    p = replace(GOOD, support_history=(old,))
    assert PriorSupportRule(within_years=3).check(p, on=ON).passed  # 2022 < 2023
    p2 = replace(GOOD, support_history=(PAST,))
    assert PriorSupportRule(tracks=("diagnosis",)).check(p2, on=ON).passed  # other track
    assert PriorSupportRule(max_count=1).check(p2, on=ON).passed
    assert not PriorSupportRule(max_count=0).check(p2, on=ON).passed


def test_all_failures_are_reported_together() -> None:
    rules = [r for r, *_ in CASES]
    bad = replace(GOOD, region="서울 강남구", employees=500, support_history=(PAST,))
    res = evaluate_eligibility(bad, rules, on=ON)
    assert not res.eligible
    assert [r.rule for r in res.failed] == ["region", "size", "prior_support"]
    assert evaluate_eligibility(GOOD, rules, on=ON).eligible


def test_bad_rule_data_is_rejected() -> None:
    with pytest.raises(CallError, match="colour"):
        rule_from_dict({"kind": "colour"})
    with pytest.raises(CallError, match="Invalid"):
        rule_from_dict({"kind": "size", "max_people": 3})


# -- deadline ----------------------------------------------------------------------------------

OPEN = datetime(2026, 3, 2, 9, tzinfo=KST)
CLOSE = datetime(2026, 3, 20, 18, tzinfo=KST)


def test_window_status_and_close_instant() -> None:
    w = CallWindow(OPEN, CLOSE)
    assert w.status(OPEN - timedelta(seconds=1)) == "upcoming"
    assert w.status(OPEN) == "open"
    assert w.is_open(CLOSE)
    assert not w.is_open(CLOSE + timedelta(seconds=1))
    # The same instant in UTC compares correctly.
    assert w.status(CLOSE.astimezone(UTC) + timedelta(seconds=1)) == "closed"
    assert w.time_left(CLOSE - timedelta(hours=2)) == timedelta(hours=2)
    assert w.time_left(CLOSE + timedelta(days=1)) == timedelta(0)


def test_extensions_move_the_close_and_keep_history() -> None:
    w = CallWindow(OPEN, CLOSE, max_extensions=2)
    w1 = w.extend(CLOSE + timedelta(days=7), "접수 시스템 점검", by="op", at=CLOSE - timedelta(days=1))
    w2 = w1.extend(CLOSE + timedelta(days=10), "추가 연장", by="op", at=CLOSE + timedelta(days=2))
    assert w2.effective_close == CLOSE + timedelta(days=10) and w2.closes_at == CLOSE
    assert [e.previous_close for e in w2.extensions] == [CLOSE, CLOSE + timedelta(days=7)]
    assert w2.is_open(CLOSE + timedelta(days=9)) and not w.is_open(CLOSE + timedelta(days=9))
    with pytest.raises(CallError, match="at most 2"):
        w2.extend(CLOSE + timedelta(days=20), "세 번째", by="op", at=CLOSE + timedelta(days=3))
    with pytest.raises(CallError, match="later than"):
        w1.extend(CLOSE + timedelta(days=6), "단축", by="op", at=CLOSE)
    with pytest.raises(CallError, match="reason"):
        w.extend(CLOSE + timedelta(days=1), " ", by="op", at=CLOSE)
    with pytest.raises(CallError, match="allow_after_close"):
        w.extend(CLOSE + timedelta(days=3), "마감 후 재개", by="op", at=CLOSE + timedelta(days=1))
    reopened = w.extend(
        CLOSE + timedelta(days=3),
        "마감일 장애",
        by="op",
        at=CLOSE + timedelta(days=1),
        allow_after_close=True,
    )
    assert reopened.is_open(CLOSE + timedelta(days=2))


def test_window_needs_aware_ordered_times() -> None:
    with pytest.raises(CallError, match="time-zone"):
        CallWindow(datetime(2026, 3, 2), CLOSE)
    with pytest.raises(CallError, match="after the open"):
        CallWindow(CLOSE, OPEN)
    with pytest.raises(CallError, match="time-zone"):
        CallWindow(OPEN, CLOSE).status(datetime(2026, 3, 5))


# -- duplicate support ---------------------------------------------------------------------------


def rec(i: str, brn: str, agency: str, year: int, category: str, title: str = "") -> SupportRecord:
    return SupportRecord(i, brn, agency, category.split(":")[0], year, category, title)


def test_duplicates_across_agencies_and_years() -> None:
    records = [
        rec("1", "2208162517", "울산테크노파크", 2024, "solution:inspection", "용접 비드 비전 검사"),
        rec("2", "220-81-62517", "울산정보산업진흥원", 2026, "solution:inspection", "비전 검사 고도화"),
        rec("3", "220-81-62517", "울산테크노파크", 2026, "diagnosis"),
        rec("4", "124-81-00998", "울산테크노파크", 2026, "solution:inspection"),
        rec("1", "2208162517", "울산테크노파크", 2024, "solution:inspection"),  # same record twice
    ]
    f = find_duplicate_support(records)
    assert [(x.brn, x.category, x.record_ids) for x in f] == [
        ("220-81-62517", "solution:inspection", ("1", "2"))
    ]
    assert "울산정보산업진흥원" in f[0].reason.ko
    assert find_duplicate_support(records, within_years=1) == []


def test_similar_titles_in_different_categories() -> None:
    records = [
        rec("a", "2208162517", "울산테크노파크", 2025, "verification", "프레스 공정 이상 탐지 AI 실증"),
        rec("b", "2208162517", "울산과학기술원", 2026, "solution:process", "프레스 공정 이상탐지 AI 실증"),
        rec("c", "2208162517", "울산과학기술원", 2026, "academy", "현장 AI 교육"),
    ]
    assert find_duplicate_support(records) == []
    f = find_duplicate_support(records, title_similarity=0.85)
    assert [(x.kind, x.record_ids) for x in f] == [("similar_title", ("a", "b"))]


def test_check_a_candidate_before_funding() -> None:
    history = [rec("1", "2208162517", "울산테크노파크", 2025, "solution:safety")]
    same = rec("new", "220-81-62517", "울산경제진흥원", 2026, "solution:safety")
    other = rec("new2", "220-81-62517", "울산경제진흥원", 2026, "solution:process")
    assert [x.record_ids for x in check_new_support(same, history)] == [("1", "new")]
    assert check_new_support(other, history) == []
    with pytest.raises(CallError, match="bad"):
        find_duplicate_support([rec("bad", "123", "x", 2026, "diagnosis")])
