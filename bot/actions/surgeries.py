"""MP surgeries: an MP's visit to a service to hear people, and what they heard."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot.actions.service import ActionError
from storage import people
from storage.audit import record_audit
from storage.suggestions import record_suggestion
from storage.tables import Person, Role, Service, Suggestion, Surgery, SurgeryStatus


def schedule_surgery(
    *, session: Session, mp_id: int, service_code: str, starts_at: datetime,
    ends_at: datetime, now: datetime, actor: str, place: str = "",
) -> Surgery:
    """Book an MP's surgery at a service; reminders follow from the scheduler."""
    mp = session.get(Person, mp_id)
    if mp is None or Role.MP not in people.roles_of(session=session, person_id=mp_id):
        raise ActionError(f"person {mp_id} is not an MP")
    service = people.service_by_join_code(session=session, code=service_code)
    if service is None:
        raise ActionError(f"there is no service with the code {service_code}")
    if ends_at <= starts_at:
        raise ActionError("a surgery must end after it starts")
    if starts_at <= now:
        raise ActionError("a surgery must be in the future")
    surgery = Surgery(mp_id=mp_id, service_id=service.id or 0, starts_at=starts_at,
                      ends_at=ends_at, place=place.strip(), created_at=now)
    session.add(surgery)
    session.flush()
    record_audit(session=session, actor=actor, action="surgery.scheduled",
                 subject=f"surgery:{surgery.id}", at=now,
                 detail={"mp": mp_id, "service": service.id})
    return surgery


def cancel_surgery(*, session: Session, surgery_id: int, now: datetime, actor: str) -> Surgery:
    surgery = session.get(Surgery, surgery_id)
    if surgery is None:
        raise ActionError(f"there is no surgery {surgery_id}")
    if surgery.status != SurgeryStatus.SCHEDULED or surgery.starts_at <= now:
        raise ActionError("only a surgery that has not started can be cancelled")
    surgery.status = SurgeryStatus.CANCELLED
    session.add(surgery)
    record_audit(session=session, actor=actor, action="surgery.cancelled",
                 subject=f"surgery:{surgery_id}", at=now)
    return surgery


def surgery_to_log(*, session: Session, mp_id: int, now: datetime) -> Surgery | None:
    """The MP's latest surgery that has started and has not been written up yet."""
    return session.exec(
        select(Surgery).where(
            Surgery.mp_id == mp_id, col(Surgery.starts_at) <= now,
            Surgery.status != SurgeryStatus.CANCELLED, col(Surgery.logged_at).is_(None),
        ).order_by(col(Surgery.starts_at).desc())
    ).first()


def log_feedback(
    *, session: Session, surgery_id: int, text: str, now: datetime, inbox_id: int | None
) -> Suggestion:
    """What the MP heard becomes an idea, tagged to the surgery's service."""
    surgery = session.get_one(Surgery, surgery_id)
    surgery.status = SurgeryStatus.HELD
    session.add(surgery)
    suggestion = record_suggestion(
        session=session, text=text, topic="", now=now, person_id=None,
        service_id=surgery.service_id, inbox_id=inbox_id,
    )
    suggestion.source = "surgery"
    suggestion.surgery_id = surgery_id
    session.add(suggestion)
    return suggestion


def finish_log(*, session: Session, surgery_id: int, now: datetime) -> None:
    surgery = session.get_one(Surgery, surgery_id)
    surgery.status = SurgeryStatus.HELD
    surgery.logged_at = now
    session.add(surgery)


def service_name(session: Session, service_id: int) -> str:
    service = session.get(Service, service_id)
    return service.name if service else "the service"
