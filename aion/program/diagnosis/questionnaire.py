"""The AI-readiness questionnaire as typed, validated data.

The seed lives in ``readiness.yaml`` next to this module; operators edit a copy (stored
by the web app as JSON) and :meth:`Questionnaire.from_dict` validates it.

>>> q = load_questionnaire()
>>> [d.id for d in q.dimensions]
['strategy', 'data', 'infrastructure', 'people', 'process', 'governance']
>>> q.band_for(2.5).name.both()
'운영 / Operational'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aion.program.errors import QuestionnaireError
from aion.program.text import Text

SEED_PATH = Path(__file__).with_name("readiness.yaml")
MAX_LEVEL = 4
SOLUTIONS = ("inspection", "process", "safety")


@dataclass(frozen=True)
class Question:
    id: str
    text: Text
    levels: tuple[Text, ...]  # one anchor per level 0..4
    weight: float = 1.0


@dataclass(frozen=True)
class Dimension:
    id: str
    name: Text
    questions: tuple[Question, ...]
    weight: float = 1.0


@dataclass(frozen=True)
class Band:
    level: int
    min_score: float
    name: Text


@dataclass(frozen=True)
class Phase:
    id: int
    name: Text
    start_month: int
    end_month: int


@dataclass(frozen=True)
class FocusOption:
    id: str
    text: Text
    solution: str
    weight: float = 1.0


@dataclass(frozen=True)
class FocusQuestion:
    id: str
    text: Text
    options: tuple[FocusOption, ...]


@dataclass(frozen=True)
class Solution:
    id: str
    name: Text
    requires: Mapping[str, int]  # dimension id -> minimum level before a pilot
    data_first: tuple[Text, ...]


@dataclass(frozen=True)
class GapRule:
    """Fires when a dimension level is within [min_level, max_level] or a question's answer <= max_answer."""

    id: str
    recommendation: Text
    phase: int
    priority: int = 2
    dimension: str | None = None
    question: str | None = None
    min_level: int = 0
    max_level: int = MAX_LEVEL
    max_answer: int | None = None


@dataclass(frozen=True)
class Questionnaire:
    id: str
    version: int
    title: Text
    dimensions: tuple[Dimension, ...]
    bands: tuple[Band, ...]
    phases: tuple[Phase, ...]
    focus: tuple[FocusQuestion, ...] = ()
    solutions: tuple[Solution, ...] = ()
    rules: tuple[GapRule, ...] = ()
    target_level: int = 3
    _questions: dict[str, tuple[Dimension, Question]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        _validate(self)
        for d in self.dimensions:
            for q in d.questions:
                self._questions[q.id] = (d, q)

    # lookups -------------------------------------------------------------------------
    def question(self, question_id: str) -> Question:
        try:
            return self._questions[question_id][1]
        except KeyError as e:
            raise QuestionnaireError(
                f"없는 문항입니다: {question_id!r} (가능: {', '.join(self._questions)}) / "
                f"Unknown question: {question_id!r} (valid: {', '.join(self._questions)})"
            ) from e

    def dimension(self, dimension_id: str) -> Dimension:
        for d in self.dimensions:
            if d.id == dimension_id:
                return d
        valid = ", ".join(d.id for d in self.dimensions)
        raise QuestionnaireError(
            f"없는 영역입니다: {dimension_id!r} (가능: {valid}) / "
            f"Unknown dimension: {dimension_id!r} (valid: {valid})"
        )

    def question_ids(self) -> list[str]:
        return list(self._questions)

    def focus_option(self, option_id: str) -> FocusOption:
        for fq in self.focus:
            for o in fq.options:
                if o.id == option_id:
                    return o
        valid = ", ".join(o.id for fq in self.focus for o in fq.options)
        raise QuestionnaireError(
            f"없는 선택지입니다: {option_id!r} (가능: {valid}) / "
            f"Unknown option: {option_id!r} (valid: {valid})"
        )

    def solution(self, solution_id: str) -> Solution:
        for s in self.solutions:
            if s.id == solution_id:
                return s
        raise QuestionnaireError(f"없는 솔루션입니다: {solution_id!r} / Unknown solution: {solution_id!r}")

    def band_for(self, score: float) -> Band:
        """The highest band whose minimum ``score`` reaches (scores are 0-4)."""
        chosen = self.bands[0]
        for b in self.bands:
            if score + 1e-9 >= b.min_score:
                chosen = b
        return chosen

    def phase(self, phase_id: int) -> Phase:
        for p in self.phases:
            if p.id == phase_id:
                return p
        raise QuestionnaireError(f"없는 단계입니다: {phase_id!r} / Unknown phase: {phase_id!r}")

    # (de)serialisation -------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Questionnaire:
        """Build and validate a questionnaire from plain data (YAML/JSON)."""
        try:
            return cls(
                id=str(data["id"]),
                version=int(data.get("version", 1)),
                title=Text.from_dict(data["title"]),
                target_level=int(data.get("target_level", 3)),
                dimensions=tuple(
                    Dimension(
                        id=str(d["id"]),
                        name=Text.from_dict(d),
                        weight=float(d.get("weight", 1.0)),
                        questions=tuple(
                            Question(
                                id=str(q["id"]),
                                text=Text.from_dict(q),
                                weight=float(q.get("weight", 1.0)),
                                levels=tuple(Text.from_dict(lv) for lv in q["levels"]),
                            )
                            for q in d["questions"]
                        ),
                    )
                    for d in data["dimensions"]
                ),
                bands=tuple(
                    Band(level=int(b["level"]), min_score=float(b["min"]), name=Text.from_dict(b))
                    for b in data["bands"]
                ),
                phases=tuple(
                    Phase(
                        id=int(p["id"]),
                        name=Text.from_dict(p),
                        start_month=int(p.get("start_month", 0)),
                        end_month=int(p.get("end_month", 0)),
                    )
                    for p in data["phases"]
                ),
                focus=tuple(
                    FocusQuestion(
                        id=str(f["id"]),
                        text=Text.from_dict(f),
                        options=tuple(
                            FocusOption(
                                id=str(o["id"]),
                                text=Text.from_dict(o),
                                solution=str(o["solution"]),
                                weight=float(o.get("weight", 1.0)),
                            )
                            for o in f["options"]
                        ),
                    )
                    for f in data.get("focus", ())
                ),
                solutions=tuple(
                    Solution(
                        id=str(s["id"]),
                        name=Text.from_dict(s),
                        requires={str(k): int(v) for k, v in (s.get("requires") or {}).items()},
                        data_first=tuple(Text.from_dict(t) for t in s.get("data_first", ())),
                    )
                    for s in data.get("solutions", ())
                ),
                rules=tuple(
                    GapRule(
                        id=str(r["id"]),
                        recommendation=Text.from_dict(r),
                        phase=int(r["phase"]),
                        priority=int(r.get("priority", 2)),
                        dimension=r.get("dimension"),
                        question=r.get("question"),
                        min_level=int(r.get("min_level", 0)),
                        max_level=int(r.get("max_level", MAX_LEVEL)),
                        max_answer=None if r.get("max_answer") is None else int(r["max_answer"]),
                    )
                    for r in data.get("rules", ())
                ),
            )
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, QuestionnaireError):
                raise
            raise QuestionnaireError(
                f"설문 정의가 올바르지 않습니다: {e!r} / Invalid questionnaire definition: {e!r}"
            ) from e

    def to_dict(self) -> dict[str, Any]:
        """Plain data that :meth:`from_dict` reads back (for storage and editing)."""
        return {
            "id": self.id,
            "version": self.version,
            "title": self.title.to_dict(),
            "target_level": self.target_level,
            "bands": [{"level": b.level, "min": b.min_score, **b.name.to_dict()} for b in self.bands],
            "phases": [
                {"id": p.id, **p.name.to_dict(), "start_month": p.start_month, "end_month": p.end_month}
                for p in self.phases
            ],
            "dimensions": [
                {
                    "id": d.id,
                    **d.name.to_dict(),
                    "weight": d.weight,
                    "questions": [
                        {
                            "id": q.id,
                            **q.text.to_dict(),
                            "weight": q.weight,
                            "levels": [lv.to_dict() for lv in q.levels],
                        }
                        for q in d.questions
                    ],
                }
                for d in self.dimensions
            ],
            "focus": [
                {
                    "id": f.id,
                    **f.text.to_dict(),
                    "options": [
                        {"id": o.id, **o.text.to_dict(), "solution": o.solution, "weight": o.weight}
                        for o in f.options
                    ],
                }
                for f in self.focus
            ],
            "solutions": [
                {
                    "id": s.id,
                    **s.name.to_dict(),
                    "requires": dict(s.requires),
                    "data_first": [t.to_dict() for t in s.data_first],
                }
                for s in self.solutions
            ],
            "rules": [
                {
                    "id": r.id,
                    **r.recommendation.to_dict(),
                    "phase": r.phase,
                    "priority": r.priority,
                    "dimension": r.dimension,
                    "question": r.question,
                    "min_level": r.min_level,
                    "max_level": r.max_level,
                    "max_answer": r.max_answer,
                }
                for r in self.rules
            ],
        }


def load_questionnaire(path: str | Path | None = None) -> Questionnaire:
    """Load a questionnaire from YAML or JSON (YAML is a superset); the seed by default."""
    p = Path(path) if path is not None else SEED_PATH
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise QuestionnaireError(f"설문 파일을 읽을 수 없습니다: {p} / Cannot read questionnaire: {p}") from e
    if not isinstance(data, Mapping):
        raise QuestionnaireError(f"설문 파일 형식 오류: {p} / Not a questionnaire mapping: {p}")
    return Questionnaire.from_dict(data)


def _fail(ko: str, en: str) -> None:
    raise QuestionnaireError(f"{ko} / {en}")


def _validate(q: Questionnaire) -> None:
    if not q.dimensions:
        _fail("영역이 없습니다", "A questionnaire needs at least one dimension")
    seen: set[str] = set()
    dim_ids = {d.id for d in q.dimensions}
    if len(dim_ids) != len(q.dimensions):
        _fail("영역 ID가 중복됩니다", "Dimension ids must be unique")
    for d in q.dimensions:
        if d.weight <= 0:
            _fail(f"영역 가중치는 양수여야 합니다: {d.id}", f"Dimension weight must be positive: {d.id}")
        if not d.questions:
            _fail(f"문항이 없는 영역: {d.id}", f"Dimension has no questions: {d.id}")
        for qu in d.questions:
            if qu.id in seen:
                _fail(f"문항 ID 중복: {qu.id}", f"Duplicate question id: {qu.id}")
            seen.add(qu.id)
            n, want = len(qu.levels), MAX_LEVEL + 1
            if n != want:
                _fail(
                    f"문항 {qu.id}의 수준 설명은 {want}개(0~{MAX_LEVEL})여야 합니다: {n}개",
                    f"Question {qu.id} needs {want} level anchors (0-{MAX_LEVEL}), got {n}",
                )
            if qu.weight <= 0:
                _fail(f"문항 가중치는 양수여야 합니다: {qu.id}", f"Question weight must be positive: {qu.id}")
    if not q.bands or sorted(b.min_score for b in q.bands) != [b.min_score for b in q.bands]:
        _fail("수준 구간은 최솟값 오름차순이어야 합니다", "Bands must be sorted by their minimum score")
    if not q.phases:
        _fail("로드맵 단계가 없습니다", "A questionnaire needs roadmap phases")
    phase_ids = {p.id for p in q.phases}
    solution_ids = {s.id for s in q.solutions}
    for s in q.solutions:
        for dim in s.requires:
            if dim not in dim_ids:
                _fail(
                    f"솔루션 {s.id}의 선행 영역이 없음: {dim}",
                    f"Solution {s.id} requires unknown dimension {dim}",
                )
    valid_solutions = ", ".join(sorted(solution_ids))
    for f in q.focus:
        for o in f.options:
            if o.solution not in solution_ids:
                _fail(
                    f"선택지 {o.id}의 솔루션이 없음: {o.solution} (가능: {valid_solutions})",
                    f"Option {o.id} maps to unknown solution {o.solution} (valid: {valid_solutions})",
                )
    for r in q.rules:
        if (r.dimension is None) == (r.question is None):
            _fail(
                f"규칙 {r.id}: 영역 또는 문항 중 하나만 지정",
                f"Rule {r.id}: give exactly one of dimension, question",
            )
        if r.dimension is not None and r.dimension not in dim_ids:
            _fail(
                f"규칙 {r.id}의 영역이 없음: {r.dimension}", f"Rule {r.id}: unknown dimension {r.dimension}"
            )
        if r.question is not None and r.question not in seen:
            _fail(f"규칙 {r.id}의 문항이 없음: {r.question}", f"Rule {r.id}: unknown question {r.question}")
        if r.question is not None and r.max_answer is None:
            _fail(f"규칙 {r.id}: max_answer 필요", f"Rule {r.id}: a question rule needs max_answer")
        if r.phase not in phase_ids:
            _fail(f"규칙 {r.id}의 단계가 없음: {r.phase}", f"Rule {r.id}: unknown phase {r.phase}")
