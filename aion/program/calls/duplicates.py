"""Duplicate-support check: the same company funded twice for the same thing.

Records are grouped by company (normalised business registration number) and by what
was funded (``category``); two or more distinct records in a group are a finding, across
agencies and years. Optionally, records with very similar titles but different
categories are flagged too (``title_similarity``).

>>> brn, cat = "220-81-62517", "solution:inspection"
>>> recs = [
...     SupportRecord("r1", "2208162517", "울산테크노파크", "solution", 2025, cat, "비전 검사"),
...     SupportRecord("r2", brn, "울산정보산업진흥원", "solution", 2026, cat, "검사 AI"),
...     SupportRecord("r3", brn, "울산테크노파크", "diagnosis", 2026, "diagnosis", "AI 진단"),
... ]
>>> [(f.brn, f.category, f.record_ids) for f in find_duplicate_support(recs)]
[('220-81-62517', 'solution:inspection', ('r1', 'r2'))]
"""

from __future__ import annotations

import difflib
import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from aion.program.calls.records import SupportRecord
from aion.program.errors import CallError, InvalidBRNError
from aion.program.text import Text

__all__ = ["DuplicateFinding", "SupportRecord", "check_new_support", "find_duplicate_support"]


@dataclass(frozen=True)
class DuplicateFinding:
    brn: str
    category: str
    record_ids: tuple[str, ...]
    kind: str  # "same_category" or "similar_title"
    reason: Text


def _brn(r: SupportRecord) -> str:
    try:
        return r.brn
    except InvalidBRNError as e:
        raise CallError(f"지원 이력 {r.id}: {e}") from e


def _similar(a: str, b: str) -> float:
    a, b = "".join(a.split()), "".join(b.split())
    return difflib.SequenceMatcher(None, a, b).ratio() if a and b else 0.0


def find_duplicate_support(
    records: Sequence[SupportRecord],
    *,
    within_years: int | None = None,
    title_similarity: float | None = None,
) -> list[DuplicateFinding]:
    """Findings of duplicate support, sorted by company then category.

    ``within_years`` limits a finding to records at most that many years apart (None: any
    years). Records sharing an id are the same record and never a finding.
    """
    unique: dict[str, SupportRecord] = {}
    for r in records:
        unique.setdefault(r.id, r)
    groups: dict[tuple[str, str], list[SupportRecord]] = defaultdict(list)
    for r in unique.values():
        groups[(_brn(r), r.category)].append(r)
    out: list[DuplicateFinding] = []
    for (brn, category), rs in sorted(groups.items()):
        rs.sort(key=lambda r: (r.year, r.id))
        close = [
            r for r in rs
            if any(o is not r and (within_years is None or abs(o.year - r.year) <= within_years) for o in rs)
        ]  # fmt: skip
        if len(close) >= 2:
            desc = ", ".join(f"{r.year} {r.agency} [{r.track}] {r.title}".strip() for r in close)
            out.append(
                DuplicateFinding(
                    brn, category, tuple(r.id for r in close), "same_category",
                    Text(f"동일 기업·동일 내용 중복 지원 의심 ({category}): {desc}",
                         f"Possible duplicate support for the same thing ({category}): {desc}"),
                )
            )  # fmt: skip
    if title_similarity is not None:
        by_company: dict[str, list[SupportRecord]] = defaultdict(list)
        for r in unique.values():
            by_company[_brn(r)].append(r)
        for brn, rs in sorted(by_company.items()):
            for a, b in itertools.combinations(sorted(rs, key=lambda r: (r.year, r.id)), 2):
                if a.category == b.category or (
                    within_years is not None and abs(a.year - b.year) > within_years
                ):
                    continue
                score = _similar(a.title, b.title)
                if score >= title_similarity:
                    out.append(
                        DuplicateFinding(
                            brn, f"{a.category}|{b.category}", (a.id, b.id), "similar_title",
                            Text(f"과제명이 유사합니다 ({score:.0%}): '{a.title}' / '{b.title}'",
                                 f"Similar project titles ({score:.0%}): '{a.title}' / '{b.title}'"),
                        )
                    )  # fmt: skip
    return out


def check_new_support(
    candidate: SupportRecord,
    history: Sequence[SupportRecord],
    *,
    within_years: int | None = None,
    title_similarity: float | None = None,
) -> list[DuplicateFinding]:
    """Findings that involve ``candidate`` when it is added to ``history`` (before funding it)."""
    findings = find_duplicate_support(
        [*history, candidate], within_years=within_years, title_similarity=title_similarity
    )
    return [f for f in findings if candidate.id in f.record_ids]
