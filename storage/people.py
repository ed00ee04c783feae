"""People, their addresses, roles and communication profiles; services and constituencies."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from storage.prepared import Prepared
from storage.tables import (
    Address,
    CommunicationProfile,
    Constituency,
    Conversation,
    Person,
    PersonRole,
    Role,
    Service,
)

_BY_ADDRESS = (select(Person, Address).join(Address, col(Address.person_id) == col(Person.id))
               .where(Address.urn == bindparam("urn")))


def find_by_address(*, session: Session, urn: str) -> tuple[Person, Address] | None:
    """The person an address belongs to, and the address itself, or None for a stranger."""
    row = session.exec(_BY_ADDRESS, params={"urn": urn}).first()
    return (row[0], row[1]) if row else None


_PERSON = Person.__table__  # type: ignore[attr-defined]
_ADDRESS = Address.__table__  # type: ignore[attr-defined]
_PROFILE = CommunicationProfile.__table__  # type: ignore[attr-defined]
_CONVERSATION = Conversation.__table__  # type: ignore[attr-defined]
_SERVICE = Service.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Sender:
    """The person a message came from, as handling it needs them, and the address it came
    from (whether it was marked inactive)."""

    id: int
    language: str
    service_id: int | None
    opted_out_at: datetime | None
    address_id: int
    address_active: bool


_SENDER = Prepared(
    sa.select(_PERSON.c.id, _PERSON.c.language, _PERSON.c.service_id, _PERSON.c.opted_out_at,
           _ADDRESS.c.id, _ADDRESS.c.active)
    .join(_ADDRESS, _ADDRESS.c.person_id == _PERSON.c.id)
    .where(_ADDRESS.c.urn == bindparam("urn"))
    .with_for_update(of=_PERSON)
)


def sender_at(*, session: Session, urn: str) -> Sender | None:
    """Who wrote from ``urn`` (None for a stranger), their row locked until the transaction
    ends (on PostgreSQL), so two workers with messages from two of their phones take turns."""
    rows = _SENDER.rows(session, {"urn": urn})
    if not rows:
        return None
    person_id, language, service_id, opted_out_at, address_id, active = rows[0]
    return Sender(id=person_id, language=language, service_id=service_id,
                  opted_out_at=opted_out_at, address_id=address_id, address_active=active)


@dataclass(frozen=True)
class Profile:
    """How a person wants to be written to (see :class:`CommunicationProfile`), as plain
    data; the defaults when none was recorded."""

    pictures: bool = True
    easy_words: bool = True
    audio: bool = False
    supporter_name: str | None = None


@dataclass(frozen=True)
class SavedConversation:
    """The question a person was asked and has not answered yet (see :class:`Conversation`)."""

    flow: str
    step: str
    context: Mapping[str, Any]
    misses: int


@dataclass(frozen=True)
class Surroundings:
    """What handling a message needs of a person besides the person: how to write to them,
    the question they were asked (None if none) and their service's constituency."""

    profile: Profile
    conversation: SavedConversation | None
    constituency_id: int | None


_SURROUNDINGS = Prepared(
    sa.select(_PROFILE.c.person_id, _PROFILE.c.pictures, _PROFILE.c.easy_words, _PROFILE.c.audio,
           _PROFILE.c.supporter_name, _CONVERSATION.c.flow, _CONVERSATION.c.step,
           _CONVERSATION.c.context, _CONVERSATION.c.misses, _SERVICE.c.constituency_id)
    .select_from(_PERSON)
    .outerjoin(_PROFILE, _PROFILE.c.person_id == _PERSON.c.id)
    .outerjoin(_CONVERSATION, _CONVERSATION.c.person_id == _PERSON.c.id)
    .outerjoin(_SERVICE, _SERVICE.c.id == _PERSON.c.service_id)
    .where(_PERSON.c.id == bindparam("person_id"))
)


def surroundings_of(*, session: Session, person_id: int) -> Surroundings:
    """The person's profile, pending question and constituency, in one query. Read after
    :func:`sender_at` has locked the person, so it sees what the worker before us committed."""
    (has_profile, pictures, easy_words, audio, supporter_name, flow, step, context, misses,
     constituency_id) = _SURROUNDINGS.rows(session, {"person_id": person_id})[0]
    profile = Profile(pictures=pictures, easy_words=easy_words, audio=audio,
                      supporter_name=supporter_name) if has_profile is not None else Profile()
    conversation = SavedConversation(flow=flow, step=step, context=context, misses=misses) if (
        flow is not None) else None
    return Surroundings(profile=profile, conversation=conversation,
                        constituency_id=constituency_id)


def service_by_join_code(*, session: Session, code: str) -> Service | None:
    return session.exec(select(Service).where(Service.join_code == code.upper())).first()


def add_constituency(*, session: Session, name: str) -> Constituency:
    constituency = Constituency(name=name)
    session.add(constituency)
    session.flush()
    return constituency


def add_service(*, session: Session, name: str, constituency_id: int, join_code: str) -> Service:
    service = Service(name=name, constituency_id=constituency_id, join_code=join_code.upper())
    session.add(service)
    session.flush()
    return service


def add_person(
    *,
    session: Session,
    urns: Iterable[str],
    now: datetime,
    name: str = "",
    roles: Iterable[str] = (Role.SERVICE_USER,),
    service_id: int | None = None,
    language: str = "en",
    profile: CommunicationProfile | None = None,
) -> Person:
    """Create a person with their addresses, roles and communication profile.

    ``profile`` is the communication profile to record (its ``person_id`` is set here);
    without one the person gets the defaults: pictures, easy words, no audio.
    """
    person = Person(name=name, language=language, service_id=service_id, created_at=now)
    session.add(person)
    session.flush()
    assert person.id is not None
    for urn in urns:
        session.add(Address(urn=urn, person_id=person.id, created_at=now))
    for role in sorted(set(roles)):
        session.add(PersonRole(person_id=person.id, role=role))
    if profile is None:
        profile = CommunicationProfile(person_id=person.id)
    else:
        profile.person_id = person.id
    session.add(profile)
    session.flush()
    return person


def roles_of(*, session: Session, person_id: int) -> frozenset[str]:
    rows = session.exec(select(PersonRole.role).where(PersonRole.person_id == person_id))
    return frozenset(rows)


def profile_of(*, session: Session, person_id: int) -> CommunicationProfile:
    """The person's communication profile; the defaults when none was recorded."""
    profile = session.get(CommunicationProfile, person_id)
    return profile if profile is not None else CommunicationProfile(person_id=person_id)


def addresses_of(*, session: Session, person_id: int) -> list[Address]:
    return list(
        session.exec(
            select(Address).where(Address.person_id == person_id).order_by(col(Address.id))
        )
    )


def profiles_and_addresses_of(
    *, session: Session, person_ids: Collection[int]
) -> dict[int, tuple[CommunicationProfile, list[Address]]]:
    """What :func:`profile_of` and :func:`addresses_of` give, for many people in two queries."""
    ids = list(person_ids)
    profiles = {profile.person_id: profile for profile in session.exec(
        select(CommunicationProfile).where(col(CommunicationProfile.person_id).in_(ids)))}
    addresses: dict[int, list[Address]] = {person_id: [] for person_id in ids}
    for address in session.exec(select(Address).where(col(Address.person_id).in_(ids))
                                .order_by(col(Address.id))):
        addresses[address.person_id].append(address)
    return {
        person_id: (profiles.get(person_id) or CommunicationProfile(person_id=person_id),
                    addresses[person_id])
        for person_id in ids
    }


def deactivate_address(*, session: Session, urn: str, reason: str, now: datetime) -> bool:
    """Stop sending to an address (blocked the bot, opted out at the carrier).

    Returns False when the address is unknown or was already inactive.
    """
    address = session.exec(select(Address).where(Address.urn == urn).with_for_update()).first()
    if address is None or not address.active:
        return False
    address.active = False
    address.inactive_reason = reason[:200]
    address.inactive_at = now
    session.add(address)
    return True


def reactivate_address(*, session: Session, address: Address) -> bool:
    """A person wrote from an inactive address, so it works again; True if it was inactive."""
    if address.active:
        return False
    address.active = True
    address.inactive_reason = None
    address.inactive_at = None
    session.add(address)
    return True


def add_address(*, session: Session, person_id: int, urn: str, now: datetime) -> Address:
    """Another way to reach a person (their Telegram as well as their phone, say)."""
    address = Address(urn=urn, person_id=person_id, created_at=now)
    session.add(address)
    session.flush()
    return address
