"""The audit log: who did what, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from storage.tables import AuditEntry


def record_audit(
    *,
    session: Session,
    actor: str,
    action: str,
    at: datetime,
    subject: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(AuditEntry(actor=actor, action=action, subject=subject, detail=detail or {}, at=at))
