"""Messages the bot starts itself (invitations, reminders), sent where the person prefers.

A reply goes back on the channel the person wrote on; a message nobody asked for goes to
the address their communication profile prefers, shaped by that profile, as a bulk send
that waits out quiet hours. A dedupe key makes each one go once, even when the scheduler
runs twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from bot.conversation import Pending
from bot.messages import Outgoing
from bot.profile import adapt, choose_address
from bot.urns import scheme_of
from storage import conversations, outbox, people
from storage.tables import Address, CommunicationProfile, Person, Priority

CHANNEL_OF_SCHEME = {"tel": "sms", "telegram": "telegram", "console": "console"}


def already_queued(*, session: Session, dedupe_key: str) -> bool:
    return dedupe_key in outbox.keys_queued(session=session, keys=[dedupe_key])


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
    queued = _queue_shaped(session, person, profile,
                           people.addresses_of(session=session, person_id=person.id), messages,
                           dedupe_key=dedupe_key, now=now, priority=priority)
    session.flush()
    return queued


def queue_for_people(
    *,
    session: Session,
    letters: Sequence[tuple[Person, Outgoing, str]],
    now: datetime,
    priority: int = Priority.BULK,
) -> int:
    """Queue one message each to many people, (person, message, dedupe key), just as
    :func:`queue_for_person` would one at a time but with a few queries for a few hundred
    people; returns how many were queued."""
    queued_now = 0
    for start in range(0, len(letters), BATCH):
        batch = [letter for letter in letters[start:start + BATCH]
                 if letter[0].opted_out_at is None]
        known = people.profiles_and_addresses_of(
            session=session, person_ids=[person.id for person, _, _ in batch
                                         if person.id is not None])
        sent_before = outbox.keys_queued(session=session, keys=[key for _, _, key in batch])
        for person, message, key in batch:
            if person.id is None or key in sent_before:
                continue
            profile, addresses = known[person.id]
            queued_now += _queue_shaped(session, person, profile, addresses, [message],
                                        dedupe_key=key, now=now, priority=priority)
        session.flush()
    return queued_now


BATCH = 500
"""People looked up together by :func:`queue_for_people`."""


def _queue_shaped(
    session: Session, person: Person, profile: CommunicationProfile, addresses: Sequence[Address],
    messages: Sequence[Outgoing], *, dedupe_key: str, now: datetime, priority: int,
) -> bool:
    """Add ``messages`` to the outbox for the person's preferred address, shaped by their
    profile; False when no channel reaches them."""
    address = choose_address(list(addresses), profile)
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
