"""MP surgeries: an MP's visit to a service to hear people, and what they heard."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.actions.service import ActionError
from bot.catalogue import load_catalogue
from bot.messages import Outgoing
from bot.outreach import queue_for_person
from storage import people
from storage.audit import record_audit
from storage.suggestions import record_suggestion
from storage.tables import (
    MpTerm,
    OutboxMessage,
    OutboxStatus,
    Person,
    Priority,
    Role,
    Service,
    Suggestion,
    Surgery,
    SurgeryStatus,
)


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
    if service.constituency_id not in mp_constituencies(session=session, mp=mp, now=now):
        raise ActionError(f"{mp.name or 'this MP'} is not an MP for the constituency of "
                          f"{service.name}")
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


def mp_constituencies(*, session: Session, mp: Person, now: datetime) -> set[int]:
    """The constituencies an MP serves: those of their current terms, and their own."""
    found = set(session.exec(select(MpTerm.constituency_id).where(
        MpTerm.person_id == mp.id, col(MpTerm.ended_early_at).is_(None),
        col(MpTerm.ends_at) > now)))
    if mp.service_id is not None:
        own = session.get(Service, mp.service_id)
        if own is not None:
            found.add(own.constituency_id)
    return found


def surgery_audience(*, session: Session, surgery: Surgery) -> list[Person]:
    """The people told "your MP is coming": the service users of that service, not the MP,
    nobody who has opted out."""
    return [
        person for person in session.exec(select(Person).where(
            Person.service_id == surgery.service_id, col(Person.opted_out_at).is_(None),
            Person.id != surgery.mp_id).order_by(col(Person.id)))
        if Role.SERVICE_USER in people.roles_of(session=session, person_id=person.id or 0)
    ]


def cancel_surgery(*, session: Session, surgery_id: int, now: datetime, actor: str) -> Surgery:
    """Call a surgery off: reminders not yet sent are cancelled, and whoever was already
    told it is coming hears that it is off."""
    surgery = session.get(Surgery, surgery_id)
    if surgery is None:
        raise ActionError(f"there is no surgery {surgery_id}")
    if surgery.status != SurgeryStatus.SCHEDULED or surgery.starts_at <= now:
        raise ActionError("only a surgery that has not started can be cancelled")
    surgery.status = SurgeryStatus.CANCELLED
    session.add(surgery)
    prefix = f"surgery:{surgery_id}:"
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.dedupe_key).startswith(prefix),
               col(OutboxMessage.status).in_([OutboxStatus.QUEUED]))
        .values(status=OutboxStatus.CANCELLED, error="the surgery was cancelled")
    )
    told = session.exec(select(OutboxMessage.person_id).where(
        col(OutboxMessage.dedupe_key).startswith(prefix),
        col(OutboxMessage.status).in_([OutboxStatus.SENT, OutboxStatus.DELIVERED,
                                       OutboxStatus.SENDING]),
        col(OutboxMessage.person_id).is_not(None))).all()
    where = service_name(session, surgery.service_id)
    for person_id in sorted({p for p in told if p is not None}):
        person = session.get_one(Person, person_id)
        texts = load_catalogue(person.language)
        queue_for_person(session=session, person=person, now=now, priority=Priority.REPLY,
                         messages=[Outgoing(texts.text("surgery.cancelled", service=where))],
                         dedupe_key=f"surgery-off:{surgery_id}:person:{person_id}")
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
