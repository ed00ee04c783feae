"""Actions in the database: made from ideas (or a participation standard), owned by a
member of staff, signed off with who and when, and told back to the people who asked.

Also the safeguarding alert: an idea whose words suggest someone may be at risk goes at
once to everyone with the safeguarding role.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from bot.catalogue import load_catalogue
from bot.clock import spoken_day
from bot.messages import Outgoing
from bot.outreach import queue_for_person
from storage import people
from storage.audit import record_audit
from storage.tables import (
    Action,
    ActionStatus,
    ActionSuggestion,
    Person,
    PersonRole,
    Priority,
    Role,
    Service,
    Suggestion,
)


class ActionError(ValueError):
    """A step that cannot be taken; the message says why, in words staff understand."""


def _people_with_role(session: Session, role: str) -> list[Person]:
    return list(session.exec(
        select(Person).join(PersonRole, col(PersonRole.person_id) == col(Person.id))
        .where(PersonRole.role == role, col(Person.opted_out_at).is_(None))
        .order_by(col(Person.id))
    ))


def create_action(
    *,
    session: Session,
    what: str,
    owner_id: int,
    due_on: date,
    now: datetime,
    actor: str,
    suggestion_ids: Sequence[int] = (),
    standard: str | None = None,
) -> Action:
    """Turn ideas (or a standard) into an action; the owner is told straight away."""
    owner = session.get(Person, owner_id)
    if owner is None:
        raise ActionError(f"there is no person {owner_id}")
    roles = people.roles_of(session=session, person_id=owner_id)
    if not roles & {Role.STAFF, Role.ADMIN}:
        raise ActionError(f"{owner.name or owner_id} is not staff; an action's owner must be")
    if not what.strip():
        raise ActionError("say what is happening next")
    if not suggestion_ids and not standard:
        raise ActionError("link the action to an idea or to a participation standard")
    for suggestion_id in suggestion_ids:
        if session.get(Suggestion, suggestion_id) is None:
            raise ActionError(f"there is no idea {suggestion_id}")
    action = Action(what=what.strip(), owner_id=owner_id, due_on=due_on, standard=standard,
                    created_at=now, created_by=actor)
    session.add(action)
    session.flush()
    assert action.id is not None
    for suggestion_id in dict.fromkeys(suggestion_ids):
        session.add(ActionSuggestion(action_id=action.id, suggestion_id=suggestion_id))
    texts = load_catalogue(owner.language)
    told = Outgoing(texts.text("action.yours", number=action.id, what=action.what,
                               due=spoken_day(due_on)))
    queue_for_person(session=session, person=owner, messages=[told], now=now,
                     priority=Priority.REPLY, dedupe_key=f"action:{action.id}:owner")
    record_audit(session=session, actor=actor, action="action.created",
                 subject=f"action:{action.id}", at=now,
                 detail={"owner": owner_id, "ideas": list(suggestion_ids), "standard": standard})
    return action


@dataclass(frozen=True)
class Completion:
    """What came of a DONE: ``done`` and how many people were told, or why not."""

    done: bool
    why: str | None = None
    told: int = 0


def complete_action(
    *, session: Session, action_id: int, by: Person, note: str, now: datetime,
    by_staff_command: bool = False, actor: str | None = None,
) -> Completion:
    """Sign an action off as done, by its owner (or an admin), and tell the people whose
    ideas led to it what was done."""
    assert by.id is not None
    action = session.get(Action, action_id)
    if action is None:
        return Completion(done=False, why="unknown")
    roles = people.roles_of(session=session, person_id=by.id)
    if action.owner_id != by.id and Role.ADMIN not in roles and not by_staff_command:
        return Completion(done=False, why="not_owner")
    if action.status == ActionStatus.DONE:
        return Completion(done=False, why="already")
    action.status = ActionStatus.DONE
    action.done_at = now
    action.done_by = by.id
    action.done_note = note.strip() or None
    session.add(action)
    record_audit(session=session, actor=actor or f"person:{by.id}", action="action.done",
                 subject=f"action:{action_id}", at=now,
                 detail={"note": action.done_note, "signed_by": by.id})
    return Completion(done=True, told=you_said_we_did(session=session, action=action, now=now))


def you_said_we_did(*, session: Session, action: Action, now: datetime) -> int:
    """Tell everyone whose idea led to ``action`` (not anonymous, not opted out) what was
    done, in plain words; returns how many were told."""
    assert action.id is not None
    rows = session.exec(
        select(Suggestion).join(ActionSuggestion,
                                col(ActionSuggestion.suggestion_id) == col(Suggestion.id))
        .where(ActionSuggestion.action_id == action.id, col(Suggestion.person_id).is_not(None),
               col(Suggestion.anonymous).is_(False))
        .order_by(col(Suggestion.id))
    )
    told = 0
    seen: set[int] = set()
    for suggestion in rows:
        assert suggestion.person_id is not None
        if suggestion.person_id in seen:
            continue
        seen.add(suggestion.person_id)
        person = session.get_one(Person, suggestion.person_id)
        texts = load_catalogue(person.language)
        said = " ".join(suggestion.text.split())
        if len(said) > 120:
            said = said[:117].rsplit(" ", 1)[0] + "…"
        message = Outgoing(texts.text("action.we_did", said=said, did=action.what,
                                      reference=suggestion.id))
        if queue_for_person(session=session, person=person, messages=[message], now=now,
                            dedupe_key=f"action:{action.id}:we_did:person:{person.id}"):
            told += 1
    return told


def alert_safeguarding(
    *, session: Session, suggestion: Suggestion, person: Person, words: Sequence[str],
    now: datetime,
) -> int:
    """Tell every safeguarding contact at once (replies' priority, no quiet hours), and
    keep a record in the audit log. Returns how many were told."""
    assert suggestion.id is not None
    service = session.get(Service, person.service_id) if person.service_id else None
    told = 0
    for contact in _people_with_role(session, Role.SAFEGUARDING):
        texts = load_catalogue(contact.language)
        alert = Outgoing(texts.text(
            "safeguarding.alert", reference=suggestion.id, name=person.name or "someone",
            service=service.name if service else "no service", text=suggestion.text[:600],
        ))
        if queue_for_person(session=session, person=contact, messages=[alert], now=now,
                            priority=Priority.REPLY,
                            dedupe_key=f"safeguarding:{suggestion.id}:person:{contact.id}"):
            told += 1
    record_audit(session=session, actor=f"person:{person.id}", action="safeguarding.alert",
                 subject=f"suggestion:{suggestion.id}", at=now,
                 detail={"words": list(words), "contacts_told": told})
    return told


def lead_contacts(*, session: Session) -> list[Person]:
    """The participation leads: everyone with the admin role."""
    return _people_with_role(session, Role.ADMIN)
