"""Conversation state: the pending question each person has been asked.

Every message handled saves or clears it, so both are prepared statements; a copy of the
row the session holds (from :func:`load_conversation`) is read again after they write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert
from sqlmodel import Session

from storage.database import held_row
from storage.prepared import Prepared, updating
from storage.tables import Conversation

_TABLE = Conversation.__table__  # type: ignore[attr-defined]
_STATE = ("flow", "step", "context", "misses", "updated_at")
_UPDATE = Prepared(updating(_TABLE, keys=["person_id"], columns=_STATE))
_INSERT = Prepared(insert(_TABLE), given=["person_id", *_STATE])
_DELETE = Prepared(delete(_TABLE).where(_TABLE.c.person_id == bindparam("key_person_id")))


def load_conversation(*, session: Session, person_id: int) -> Conversation | None:
    return session.get(Conversation, person_id)


def save_conversation(
    *,
    session: Session,
    person_id: int,
    flow: str,
    step: str,
    context: dict[str, Any],
    misses: int,
    now: datetime,
) -> None:
    """Make ``step`` of ``flow`` the person's pending question."""
    state = {"flow": flow, "step": step, "context": dict(context), "misses": misses,
             "updated_at": now}
    changed = _UPDATE.write(session, {
        "key_person_id": person_id, **{f"new_{name}": value for name, value in state.items()}})
    if not changed:
        _INSERT.write(session, {"person_id": person_id, **state})
    held = held_row(session, Conversation, person_id)
    if held is not None:
        session.expire(held)  # read again if used: what was just written is the truth


def clear_conversation(*, session: Session, person_id: int) -> None:
    """The person has no pending question."""
    _DELETE.write(session, {"key_person_id": person_id})
    held = held_row(session, Conversation, person_id)
    if held is not None:
        session.expunge(held)
