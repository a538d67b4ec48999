"""Decision letters (선정 결과 통지서) from a selection, as text and as a Korean PDF.

>>> from aion.program.evaluation.ranking import RankedApplication, Selection
>>> r = RankedApplication(1, "app-1", 88.5, False, "score")
>>> sel = Selection((r,), (), (), (), ())
>>> decision_of(sel, "app-1")
'selected'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from aion.program.errors import EvaluationError
from aion.program.evaluation.ranking import Selection
from aion.program.text import Text

__all__ = ["DECISIONS", "LetterInfo", "decision_of", "letter_text", "render_decision_letter"]

DECISIONS: dict[str, Text] = {
    "selected": Text("선정", "Selected"),
    "reserve": Text("예비 선정", "Reserve list"),
    "not_selected": Text("미선정", "Not selected"),
    "below_minimum": Text("미선정 (기준 점수 미달)", "Not selected (below the minimum score)"),
    "pending": Text("심의 중", "Under review"),
}


def decision_of(selection: Selection, application_id: str) -> str:
    """The decision for one application: a key of :data:`DECISIONS`."""
    for key, group in (
        ("selected", selection.selected),
        ("reserve", selection.reserve),
        ("pending", selection.needs_decision),
        ("below_minimum", selection.below_minimum),
        ("not_selected", selection.not_selected),
    ):
        if any(r.application_id == application_id for r in group):
            return key
    raise EvaluationError(
        f"선정 결과에 없는 지원서: {application_id} / Application not in the selection: {application_id}"
    )


@dataclass(frozen=True)
class LetterInfo:
    call_title: str
    agency: str
    company_name: str
    receipt_no: str
    decision: str  # a key of DECISIONS
    issued_on: date
    score: float | None = None  # shown only when given
    reserve_position: int | None = None  # 1 = first to move up
    next_steps: str = ""  # e.g. agreement signing date and documents
    contact: str = ""

    def __post_init__(self) -> None:
        if self.decision not in DECISIONS:
            valid = ", ".join(DECISIONS)
            raise EvaluationError(
                f"결정이 올바르지 않습니다: {self.decision!r} (가능: {valid}) / "
                f"Invalid decision: {self.decision!r} (valid: {valid})"
            )


def letter_text(info: LetterInfo) -> tuple[Text, Text]:
    """Title and body of the letter in Korean and English (also for the e-mail)."""
    d = DECISIONS[info.decision]
    title = Text(f"{info.call_title} 선정 결과 통지", f"{info.call_title}: notice of decision")
    ko = [
        f"{info.company_name} 귀하",
        f"귀사가 신청하신 「{info.call_title}」(접수번호 {info.receipt_no})의 "
        "평가 결과를 다음과 같이 알려 드립니다.",
        f"결과: {d.ko}",
    ]
    en = [
        f"To {info.company_name}",
        f"We inform you of the result for your application to '{info.call_title}' "
        f"(receipt no. {info.receipt_no}).",
        f"Result: {d.en}",
    ]
    if info.score is not None:
        ko.append(f"평가 점수: {info.score:.2f}점 / 100점")
        en.append(f"Score: {info.score:.2f} of 100")
    if info.decision == "reserve" and info.reserve_position is not None:
        ko.append(f"예비 순위: {info.reserve_position}순위 (선정 기업 포기 시 순서대로 선정됩니다)")
        en.append(
            f"Reserve position: {info.reserve_position} (moves up in order if a selected company withdraws)"
        )
    if info.decision == "selected":
        ko.append("협약 체결 절차를 안내해 드리니 기한 내에 서류를 제출하여 주시기 바랍니다.")
        en.append("Please submit the agreement documents by the deadline given below.")
    elif info.decision in {"not_selected", "below_minimum"}:
        ko.append("참여해 주셔서 감사드리며, 다음 공고에 다시 신청하실 수 있습니다.")
        en.append("Thank you for applying; you are welcome to apply to a later call.")
    if info.next_steps:
        ko.append(f"안내: {info.next_steps}")
        en.append(f"Next steps: {info.next_steps}")
    if info.contact:
        ko.append(f"문의: {info.contact}")
        en.append(f"Contact: {info.contact}")
    ko.append(f"{info.issued_on:%Y년 %m월 %d일}  {info.agency}")
    en.append(f"{info.issued_on.isoformat()}  {info.agency}")
    return title, Text("\n".join(ko), "\n".join(en))


def render_decision_letter(info: LetterInfo, out: str | Path | None = None) -> bytes:
    """The letter as a one-page Korean PDF (English below the Korean)."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Flowable, Spacer

    from aion.program.pdfkit import build_pdf, korean_styles, para

    st = korean_styles()
    title, body = letter_text(info)
    story: list[Flowable] = [para(title.ko, st.title), para(title.en, st.small), Spacer(1, 8 * mm)]
    story.extend(para(line, st.body) for line in body.ko.split("\n"))
    story.append(Spacer(1, 10 * mm))
    story.extend(para(line, st.small) for line in body.en.split("\n"))
    return build_pdf(story, title=title.ko, out=out, footer=f"AI-on · {info.agency} · {info.receipt_no}")
