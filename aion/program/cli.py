"""``aion program``: KPI reports from the database, the e-mail outbox."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True)


@app.command("kpi")
def kpi_command(
    year: int = typer.Option(..., "--year", help="Year to report."),
    xlsx: Path = typer.Option(..., "--xlsx", help="Excel file to write."),
    pdf: Path | None = typer.Option(None, "--pdf", help="PDF file to write as well."),
) -> None:
    """Targets against actuals from the records, to Excel (and PDF). / 성과 지표를 엑셀(과 PDF)로 내보냅니다."""
    from aion.core.db import system_session
    from aion.program.errors import ProgramError
    from aion.program.service import kpi

    try:
        with system_session(actor="cli:program kpi") as session:
            report = kpi.report(session, year)
            kpi.write_xlsx(session, year, xlsx)
            if pdf is not None:
                kpi.pdf_bytes(session, year, pdf)
    except ProgramError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(1) from e
    for row in report.select("total", year=year):
        name = report.indicator(row.indicator).name.both()
        target = f"{row.target:g}" if row.target is not None else "-"
        typer.echo(f"  {name:<40} {row.actual:>6g} / {target}")
    typer.echo(f"엑셀 / Excel: {xlsx}" + (f"  PDF: {pdf}" if pdf else ""))


@app.command("send-mail")
def send_mail() -> None:
    """Send queued e-mails through AION_SMTP_HOST. / 대기 중인 메일을 보냅니다."""
    from aion.core.db import system_session
    from aion.program.service import mail

    if not mail.smtp_configured():
        typer.echo(
            "SMTP 서버가 설정되지 않았습니다 (AION_SMTP_HOST) / No SMTP server configured (AION_SMTP_HOST)"
        )
        raise typer.Exit(1)
    with system_session(actor="cli:program send-mail") as session:
        n = mail.deliver_queued(session)
    typer.echo(f"보낸 메일 / Sent: {n}")
