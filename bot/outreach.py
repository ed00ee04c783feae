"""Messages the bot starts itself (invitations, reminders), sent where the person prefers.

A reply goes back on the channel the person wrote on; a message nobody asked for goes to
the address their communication profile prefers, shaped by that profile, as a bulk send
that waits out quiet hours. A dedupe key makes each one go once, even when the scheduler
runs twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from bot.conversation import Pending
from bot.messages import Outgoing
from bot.profile import adapt, choose_address
from bot.urns import scheme_of
from storage import conversations, outbox, people
from storage.tables import OutboxMessage, Person, Priority

CHANNEL_OF_SCHEME = {"tel": "sms", "telegram": "telegram", "console": "console"}


def already_queued(*, session: Session, dedupe_key: str) -> bool:
    found = session.exec(
        select(OutboxMessage.id).where(col(OutboxMessage.dedupe_key) == dedupe_key)
    ).first()
    return found is not None


def queue_for_person(
    *,
    session: Session,
    person: Person,
    messages: Sequence[Outgoing],
    now: datetime,
    dedupe_key: str,
    priority: int = Priority.BULK,
) -> bool:
    """Queue ``messages`` to the person's preferred address; False when there is none or
    they were queued before (the first message carries ``dedupe_key``)."""
    assert person.id is not None
    if person.opted_out_at is not None or already_queued(session=session, dedupe_key=dedupe_key):
        return False
    profile = people.profile_of(session=session, person_id=person.id)
    address = choose_address(people.addresses_of(session=session, person_id=person.id), profile)
    if address is None:
        return False
    channel = CHANNEL_OF_SCHEME.get(scheme_of(address.urn))
    if channel is None:
        return False
    for index, message in enumerate(messages):
        shaped = adapt(message, profile)
        outbox.queue_message(
            session=session,
            address=address.urn,
            channel=channel,
            text=shaped.text,
            options=[option.as_json() for option in shaped.options],
            footer=shaped.footer,
            picture=shaped.picture,
            audio=profile.audio,
            person_id=person.id,
            priority=priority,
            dedupe_key=dedupe_key if index == 0 else f"{dedupe_key}:{index}",
            sensitive=shaped.sensitive,
            now=now,
        )
    return True


def queue_and_ask(
    *,
    session: Session,
    person: Person,
    messages: Sequence[Outgoing],
    pending: Pending | None,
    now: datetime,
    dedupe_key: str,
) -> bool:
    """Queue ``messages`` (see :func:`queue_for_person`); when they went and end with a
    question, make it the person's pending question, so their next reply answers it."""
    queued = queue_for_person(session=session, person=person, messages=messages, now=now,
                              dedupe_key=dedupe_key)
    if queued and pending is not None:
        assert person.id is not None
        conversations.save_conversation(
            session=session, person_id=person.id, flow=pending.flow, step=pending.step,
            context=dict(pending.context), misses=0, now=now,
        )
    return queued
