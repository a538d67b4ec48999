"""E-mail at each step of a call. With no SMTP server configured, messages stay in the outbox.

``AION_SMTP_HOST`` (and optionally ``AION_SMTP_PORT``, ``AION_SMTP_FROM``) turns on delivery by
:func:`deliver_queued`; without it the outbox page shows what would have been sent.
"""

from __future__ import annotations

import os
import smtplib
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from aion.program.models import OutboxMessage
from aion.program.service.common import now


def queue(session: Session, to_addr: str, subject: str, body: str, *, company_id: int | None = None) -> None:
    """Put one message in the outbox (sent later, or read by an operator when there is no SMTP)."""
    if not to_addr:
        return
    session.add(
        OutboxMessage(
            company_id=company_id, to_addr=to_addr, subject=subject[:300], body=body, status="queued"
        )
    )


def smtp_configured() -> bool:
    return bool(os.environ.get("AION_SMTP_HOST", "").strip())


def deliver_queued(session: Session, limit: int = 100) -> int:
    """Send queued messages through the configured SMTP server; returns how many were sent."""
    host = os.environ.get("AION_SMTP_HOST", "").strip()
    if not host:
        return 0
    port = int(os.environ.get("AION_SMTP_PORT", "25"))
    sender = os.environ.get("AION_SMTP_FROM", "aion@localhost")
    rows = list(session.scalars(select(OutboxMessage).where(OutboxMessage.status == "queued").limit(limit)))
    sent = 0
    with smtplib.SMTP(host, port, timeout=10) as smtp:
        for m in rows:
            msg = EmailMessage()
            msg["From"], msg["To"], msg["Subject"] = sender, m.to_addr, m.subject
            msg.set_content(m.body)
            try:
                smtp.send_message(msg)
            except smtplib.SMTPException as e:
                m.status, m.error = "failed", str(e)[:500]
                continue
            m.status, m.sent_at = "sent", now()
            sent += 1
    return sent


def list_outbox(session: Session, limit: int = 200) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)))
