"""A deterministic, realistic program year as typed records (for demo data and tests).

Everything is produced by running the engines on generated inputs, so the sample is
consistent: eligibility decides who is evaluated, conflicts of interest decide who
scores, the rubric and aggregation decide the ranking, the selection decides who is
supported, support decides the KPI records, and the diagnosis becomes the baseline.

>>> s = sample_program_year(2026, scale=0.1)
>>> rollup(s.kpi_records, s.targets, year=2026).total("diagnosis").actual == len(s.selected("diagnosis"))
True
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone

from aion.program.brn import brn_check_digit, validate_brn
from aion.program.calls.deadline import CallWindow
from aion.program.calls.eligibility import (
    AgeRule,
    EligibilityRule,
    IndustryRule,
    PriorSupportRule,
    RegionRule,
    SizeRule,
    evaluate_eligibility,
)
from aion.program.calls.records import CompanyProfile, SupportRecord
from aion.program.diagnosis.questionnaire import Questionnaire, load_questionnaire
from aion.program.diagnosis.recommend import diagnose
from aion.program.diagnosis.scoring import Assessment
from aion.program.evaluation.aggregate import ApplicationScore, aggregate_application, get_aggregator
from aion.program.evaluation.conflicts import Applicant, ConsultingRecord, Evaluator, is_excluded
from aion.program.evaluation.ranking import Selection, rank, select
from aion.program.evaluation.rubric import Criterion, Rubric, ScoreSheet
from aion.program.kpi.outcomes import OutcomeRecord
from aion.program.kpi.rollup import DEFAULT_TARGETS, KPIRecord, KPITarget, rollup
from aion.program.text import Text

__all__ = ["AGENCIES", "RUBRIC", "Application", "CallSpec", "ProgramSample", "rollup", "sample_program_year"]

KST = timezone(timedelta(hours=9))

# code, name; the five consortium agencies and the tracks each owns
AGENCIES: dict[str, Text] = {
    "UTP": Text("울산테크노파크", "Ulsan Technopark"),
    "UIPA": Text("울산정보산업진흥원", "Ulsan IT Industry Promotion Agency"),
    "USTI": Text("울산과학기술연구원", "Ulsan Science and Technology Institute"),
    "UOU": Text("울산대학교", "University of Ulsan"),
    "USC": Text("울산창업지원센터", "Ulsan Startup Center"),
}

# track, agency, KPI indicator, title, share of the yearly target, blind review
TRACKS = (
    ("diagnosis", "UTP", "diagnosis", Text("AI 도입 진단·컨설팅", "AI diagnosis and consulting"), True),
    ("solution", "UIPA", "solution", Text("AI 솔루션 도입 지원", "AI solution adoption"), True),
    ("verification", "USTI", "demonstration", Text("AI 기술 실증", "AI technology demonstration"), False),
    ("incubation", "USC", "incubation", Text("AI 스타트업 육성", "AI start-up incubation"), False),
)

RUBRIC = Rubric(
    (
        Criterion("need", Text("도입 필요성", "Need"), 25, 5),
        Criterion("feasibility", Text("실현 가능성", "Feasibility"), 30, 5),
        Criterion("capability", Text("추진 역량", "Capability"), 25, 5),
        Criterion("impact", Text("기대 효과", "Expected impact"), 20, 5),
    )
)

_DISTRICTS = ("울산광역시 중구", "울산광역시 남구", "울산광역시 동구", "울산광역시 북구", "울산광역시 울주군")
_INDUSTRIES = (
    ("C30399", "자동차 부품"),
    ("C31114", "선박 구성부분품"),
    ("C20119", "석유화학"),
    ("C25934", "금속 가공"),
    ("C29199", "산업 기계"),
    ("C22229", "플라스틱 제품"),
)
_NAME_A = (
    "태화",
    "무룡",
    "대왕",
    "신일",
    "동해",
    "한빛",
    "세진",
    "우진",
    "삼호",
    "현성",
    "성원",
    "대성",
    "미포",
    "온산",
)
_NAME_C = ("울산", "동부", "신", "코리아", "글로벌", "제일", "대한")  # when two-part names run out
_NAME_B = ("정밀", "테크", "산업", "오토텍", "금속", "엔지니어링", "화학", "기계", "중공업", "플라스틱")
_FOCUS = ("defects", "downtime", "accidents", "product_images", "sensor_series", "cctv", "manual_inspection")
_AMOUNTS = {
    "diagnosis": 5_000_000,
    "solution": 50_000_000,
    "verification": 80_000_000,
    "incubation": 30_000_000,
}
_COMMENTS = {
    "need": ("현장 불량 문제가 구체적으로 제시됨", "도입 필요성 설명이 다소 일반적임"),
    "feasibility": ("데이터 확보 계획이 현실적임", "일정 대비 데이터 수집 계획이 부족함"),
    "capability": ("전담 인력과 경영진 의지가 확인됨", "내부 추진 인력 보강이 필요함"),
    "impact": ("불량률·원가 개선 목표가 정량적임", "성과 지표가 모호함"),
}


@dataclass(frozen=True)
class CallSpec:
    id: str
    track: str
    agency: str
    indicator: str
    title: Text
    n_select: int
    reserves: int
    window: CallWindow
    rules: tuple[EligibilityRule, ...]
    blind: bool
    aggregation: str = "trimmed"
    min_score: float = 60.0


@dataclass(frozen=True)
class Application:
    id: str
    call_id: str
    company_brn: str
    receipt_no: str
    submitted_at: datetime
    eligible: bool


@dataclass(frozen=True)
class ProgramSample:
    year: int
    companies: tuple[CompanyProfile, ...]
    calls: tuple[CallSpec, ...]
    applications: tuple[Application, ...]
    evaluators: tuple[Evaluator, ...]
    sheets: tuple[ScoreSheet, ...]
    scores: tuple[ApplicationScore, ...]
    selections: dict[str, Selection]  # call id -> selection
    assessments: tuple[Assessment, ...]
    support: tuple[SupportRecord, ...]  # this year's support and earlier history
    kpi_records: tuple[KPIRecord, ...]
    targets: tuple[KPITarget, ...]
    outcomes: tuple[OutcomeRecord, ...]

    def call(self, track: str) -> CallSpec:
        return next(c for c in self.calls if c.track == track)

    def selected(self, track: str) -> list[Application]:
        call = self.call(track)
        ids = {r.application_id for r in self.selections[call.id].selected}
        return [a for a in self.applications if a.id in ids]


def _brn(rng: random.Random) -> str:
    nine = f"{rng.randrange(101, 999):03d}{rng.choice((81, 86, 87, 88)):02d}{rng.randrange(10000):04d}"
    return validate_brn(nine + str(brn_check_digit(nine)))


def _companies(rng: random.Random, n: int, year: int) -> list[CompanyProfile]:
    out: list[CompanyProfile] = []
    names: set[str] = set()
    brns: set[str] = set()
    while len(out) < n:
        name = f"(주){rng.choice(_NAME_A)}{rng.choice(_NAME_B)}"
        if name in names:  # 140 two-part names; larger samples need a third part
            name = f"(주){rng.choice(_NAME_A)}{rng.choice(_NAME_C)}{rng.choice(_NAME_B)}"
        brn = _brn(rng)
        if name in names or brn in brns:
            continue
        names.add(name)
        brns.add(brn)
        young = rng.random() < 0.2
        founded = date(
            year - (rng.randrange(1, 7) if young else rng.randrange(8, 40)), rng.randrange(1, 13), 1
        )
        employees = rng.randrange(3, 25) if young else rng.randrange(10, 290)
        region = rng.choice(_DISTRICTS) if rng.random() < 0.93 else "부산광역시 기장군"  # a few out of region
        out.append(
            CompanyProfile(
                brn=brn,
                name=name,
                region=region,
                employees=employees,
                industry_code=rng.choice(_INDUSTRIES)[0] if rng.random() < 0.95 else "J62010",
                annual_sales_krw=employees * rng.randrange(150, 400) * 1_000_000,
                founded=founded,
            )
        )
    return out


def sample_program_year(year: int = 2026, *, scale: float = 0.2, seed: int = 7) -> ProgramSample:
    """A program year: ``scale`` 1.0 gives the full yearly targets (150 diagnoses, ...)."""
    rng = random.Random(seed * 10_000 + year)
    q: Questionnaire = load_questionnaire()
    targets = tuple(KPITarget(year, code, max(1, round(v * scale))) for code, v in DEFAULT_TARGETS)
    target_of = {t.indicator: int(t.target) for t in targets}
    n_apply = {ind: max(2, round(target_of[ind] * 1.4)) for _, _, ind, _, _ in TRACKS}
    companies = _companies(rng, sum(n_apply.values()) + 10, year)
    by_brn = {c.brn: c for c in companies}
    latent = {c.brn: rng.gauss(0.0, 1.0) for c in companies}

    opens = datetime(year, 3, 2, 9, tzinfo=KST)
    closes = datetime(year, 3, 20, 18, tzinfo=KST)
    calls: list[CallSpec] = []
    for track, agency, ind, title, blind in TRACKS:
        window = CallWindow(opens, closes)
        if track == "diagnosis":
            window = window.extend(
                closes + timedelta(days=7),
                "신청 기업 요청으로 1주 연장",
                by="UTP 운영자",
                at=closes - timedelta(days=2),
            )
        rules: tuple[EligibilityRule, ...] = (
            RegionRule(("울산",)),
            IndustryRule(("C",)),
            SizeRule(max_employees=300),
        )
        if track == "incubation":
            rules = (RegionRule(("울산",)), AgeRule(max_years=7))
        if track == "solution":
            rules = (*rules, PriorSupportRule(tracks=("solution",), within_years=2))
        n = target_of[ind]
        calls.append(
            CallSpec(
                f"{year}-{track[:3].upper()}",
                track,
                agency,
                ind,
                Text(f"{year}년 {title.ko}", f"{year} {title.en}"),
                n,
                max(1, n // 5),
                window,
                rules,
                blind,
            )
        )

    applications: list[Application] = []
    pool = list(companies)
    rng.shuffle(pool)
    young = [c for c in pool if c.founded is not None and year - c.founded.year <= 6]
    older = [c for c in pool if c not in young]
    taken: dict[str, int] = {}
    for call in calls:
        source = young if call.track == "incubation" else older
        need = n_apply[call.indicator]
        chosen = [c for c in source if taken.get(c.brn, 0) < 2][:need]
        for c in chosen:
            taken[c.brn] = taken.get(c.brn, 0) + 1
        # move the chosen to the back so the next call mostly gets other companies
        for c in chosen:
            source.remove(c)
            source.append(c)
        for k, c in enumerate(chosen, start=1):
            at = call.window.opens_at + timedelta(hours=rng.randrange(1, 24 * 17))
            applications.append(
                Application(f"{call.id}-{k:03d}", call.id, c.brn, f"{call.id}-{k:04d}", at, True)
            )

    # Earlier support. One solution applicant was funded by this track last year (not eligible
    # now); two were funded for the same thing by a national programme (the duplicate check
    # flags them if they are selected again).
    sol_apps = [a for a in applications if a.call_id.endswith("-SOL")]
    history: list[SupportRecord] = []
    for i, a in enumerate(sol_apps[:3]):
        same_track = i == 0
        history.append(
            SupportRecord(
                f"{year - 1}-H{i}",
                a.company_brn,
                "UTP" if same_track else "KOSMES",
                "solution" if same_track else "smart_factory",
                year - 1,
                "solution:inspection",
                "AI 비전 검사 도입" if same_track else "스마트공장 비전 검사 구축",
                40_000_000,
                "울산 제조AI 지원사업" if same_track else "스마트공장 보급확산사업",
            )
        )
        if not same_track:
            latent[a.company_brn] = 1.8
    for i, a in enumerate(applications):
        c = by_brn[a.company_brn]
        profile = replace(c, support_history=tuple(h for h in history if h.company_brn == c.brn))
        call = next(cs for cs in calls if cs.id == a.call_id)
        ok = evaluate_eligibility(profile, call.rules, on=a.submitted_at.date()).eligible
        applications[i] = replace(a, eligible=ok)

    # Evaluators; one consulted for a diagnosis applicant last year, one works for another.
    diag_apps = [a for a in applications if a.call_id.endswith("-DIA")]
    evaluators = [
        Evaluator("ev1", "김민수", organisation="울산대학교"),
        Evaluator("ev2", "이서연", organisation="한국산업기술평가원"),
        Evaluator(
            "ev3",
            "박지훈",
            organisation="(주)스마트팩토리컨설팅",
            consulted=(ConsultingRecord(diag_apps[0].company_brn, year - 1),),
        ),
        Evaluator("ev4", "최유진", organisation="부산대학교"),
        Evaluator("ev5", "정현우", organisation=by_brn[diag_apps[1].company_brn].name),
        Evaluator("ev6", "강하은", organisation="울산경제진흥원"),
    ]

    sheets: list[ScoreSheet] = []
    scores: list[ApplicationScore] = []
    selections: dict[str, Selection] = {}
    for call in calls:
        apps = [a for a in applications if a.call_id == call.id and a.eligible]
        agg = get_aggregator(call.aggregation)
        call_scores = []
        for a in apps:
            c = by_brn[a.company_brn]
            applicant = Applicant(a.id, c.brn, c.name)
            panel = [e for e in evaluators if not is_excluded(e, applicant, on=a.submitted_at.date())]
            panel = rng.sample(panel, k=min(3, len(panel)))
            for e in panel:
                s = ScoreSheet(e.id, a.id)
                for crit in RUBRIC.criteria:
                    raw = 3.2 + 0.7 * latent[c.brn] + rng.gauss(0, 0.45) + (0.6 if e.id == "ev6" else 0.0)
                    value = min(5.0, max(0.0, round(raw * 2) / 2))
                    s = s.with_entry(RUBRIC, crit.id, value, _COMMENTS[crit.id][0 if value >= 3 else 1])
                sheets.append(
                    RUBRIC.submit(s, call.window.effective_close + timedelta(days=rng.randrange(5, 12)))
                )
            res = aggregate_application(a.id, sheets, RUBRIC, agg, submitted_at=a.submitted_at)
            call_scores.append(res)
        scores.extend(call_scores)
        selections[call.id] = select(
            rank(call_scores, RUBRIC), call.n_select, reserves=call.reserves, min_score=call.min_score
        )

    assessments: list[Assessment] = []
    support: list[SupportRecord] = list(history)
    kpi: list[KPIRecord] = []
    outcomes: list[OutcomeRecord] = []
    app_by_id = {a.id: a for a in applications}
    solution_kind: dict[str, str] = {}
    for call in calls:
        for r in selections[call.id].selected:
            a = app_by_id[r.application_id]
            c = by_brn[a.company_brn]
            category = call.track
            if call.track == "diagnosis":
                base = 1.4 + 0.6 * latent[c.brn]
                focus = frozenset(rng.sample(_FOCUS, k=3))

                def answers(shift: float, base: float = base) -> dict[str, int]:
                    return {
                        qid: min(4, max(0, round(base + shift + rng.gauss(0, 0.6))))
                        for qid in q.question_ids()
                    }

                self_a = Assessment(c.brn, date(year, 4, 6), "self", answers(0.5), focus)
                first = Assessment(c.brn, date(year, 4, 20), "consultant", answers(0.0), focus, "컨설턴트 A")
                later = Assessment(c.brn, date(year, 11, 16), "consultant", answers(0.7), focus, "컨설턴트 A")
                assessments.extend((self_a, first, later))
                best = diagnose(q, first).best_fit
                solution_kind[c.brn] = best.solution_id if best is not None else "inspection"
            if call.track == "solution":
                category = (
                    f"solution:{solution_kind.get(c.brn, rng.choice(('inspection', 'process', 'safety')))}"
                )
            amount = _AMOUNTS[call.track]
            rec = SupportRecord(
                f"{a.id}-S",
                c.brn,
                call.agency,
                call.track,
                year,
                category,
                call.title.ko,
                amount,
                "울산 제조AI 지원사업",
            )
            support.append(rec)
            kpi.append(KPIRecord(year, call.indicator, call.agency, call.track, c.brn, source_id=rec.id))
            if call.track == "solution":
                defects = round(rng.uniform(1.5, 5.0), 1)
                outcomes.append(
                    OutcomeRecord(
                        c.brn,
                        year,
                        "defect_rate",
                        defects,
                        round(defects * 0.7, 1),
                        round(defects * rng.uniform(0.6, 0.95), 1),
                    )
                )
    for c in companies:  # outcome panel for every applicant-year, supported or not (the comparison group)
        sales = (c.annual_sales_krw or 0) / 1_000_000
        for y, growth in ((year - 1, 1.0), (year, rng.uniform(0.97, 1.12))):
            outcomes.append(OutcomeRecord(c.brn, y, "sales", None, None, round(sales * growth, 0)))
            outcomes.append(
                OutcomeRecord(
                    c.brn, y, "jobs", None, None, float(c.employees + (y - year + 1) * rng.randrange(0, 3))
                )
            )
    for i in range(max(5, round(60 * scale))):
        c = rng.choice(older)
        kpi.append(KPIRecord(year, "trainees", "UOU", "academy", c.brn, source_id=f"{year}-ACA-{i:03d}"))
    return ProgramSample(
        year=year,
        companies=tuple(companies),
        calls=tuple(calls),
        applications=tuple(applications),
        evaluators=tuple(evaluators),
        sheets=tuple(sheets),
        scores=tuple(scores),
        selections=selections,
        assessments=tuple(assessments),
        support=tuple(support),
        kpi_records=tuple(kpi),
        targets=targets,
        outcomes=tuple(outcomes),
    )
