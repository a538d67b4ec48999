"""Shared reportlab building blocks for the program's Korean PDF reports."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

from aion.program.errors import ReportError
from aion.program.fonts import KoreanFont, register_korean_font


@dataclass(frozen=True)
class Styles:
    font: KoreanFont
    title: ParagraphStyle
    h2: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle
    cell: ParagraphStyle


def korean_styles() -> Styles:
    font = register_korean_font()
    base = ParagraphStyle("aion-body", fontName=font.regular_name, fontSize=9.5, leading=14, wordWrap="CJK")
    return Styles(
        font=font,
        title=ParagraphStyle(
            "aion-title", parent=base, fontName=font.bold_name, fontSize=17, leading=24, spaceAfter=6
        ),
        h2=ParagraphStyle(
            "aion-h2",
            parent=base,
            fontName=font.bold_name,
            fontSize=12,
            leading=18,
            spaceBefore=10,
            spaceAfter=4,
            keepWithNext=1,
        ),
        body=base,
        small=ParagraphStyle(
            "aion-small", parent=base, fontSize=8, leading=11, textColor=colors.HexColor("#555555")
        ),
        cell=ParagraphStyle("aion-cell", parent=base, fontSize=8.5, leading=11.5),
    )


def para(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text (escaped: user data never becomes markup)."""
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def table(rows: Sequence[Sequence[Any]], styles: Styles, col_widths: Sequence[float] | None = None) -> Table:
    """A table whose first row is a header; strings are wrapped as paragraphs."""
    data = [[para(str(c), styles.cell) if not isinstance(c, Flowable) else c for c in row] for row in rows]
    t = Table(data, colWidths=list(col_widths) if col_widths else None, repeatRows=1, hAlign="LEFT")
    t.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e9eef6")),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#b8c2d0")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return t


def build_pdf(
    story: list[Flowable], *, title: str, out: str | Path | None = None, footer: str = "AI-on"
) -> bytes:
    """Lay out ``story`` on A4 with page numbers; return the PDF bytes (and write ``out`` if given)."""
    font = register_korean_font()
    buf = io.BytesIO()

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font.regular_name, 7.5)
        canvas.setFillColor(colors.HexColor("#777777"))
        canvas.drawString(18 * mm, 10 * mm, footer)
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, f"{doc.page}")
        canvas.restoreState()

    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        title=title,
        author="AI-on",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
    )
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    data = buf.getvalue()
    if out is not None:
        try:
            Path(out).write_bytes(data)
        except OSError as e:
            raise ReportError(f"PDF를 저장할 수 없습니다: {out} / Cannot write PDF: {out}") from e
    return data
