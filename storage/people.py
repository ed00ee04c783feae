"""People, their addresses, roles and communication profiles; services and constituencies."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

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
_BY_ADDRESS_LOCKED = _BY_ADDRESS.with_for_update(of=Person)


def find_by_address(*, session: Session, urn: str, lock: bool = False
                    ) -> tuple[Person, Address] | None:
    """The person an address belongs to, and the address itself, or None for a stranger.

    ``lock`` holds the person's row until the transaction ends (on PostgreSQL), so two
    workers with messages from two of their phones take turns."""
    query = _BY_ADDRESS_LOCKED if lock else _BY_ADDRESS
    row = session.exec(query, params={"urn": urn}).first()
    return (row[0], row[1]) if row else None


@dataclass(frozen=True)
class Surroundings:
    """What handling a message needs of a person besides the person: how to write to them,
    the question they were asked (None if none) and their service (None if none).

    Holding these keeps them in the session, so a later ``session.get`` of one of them
    finds it there instead of asking the database again."""

    profile: CommunicationProfile
    conversation: Conversation | None
    service: Service | None


_SURROUNDINGS = (
    select(CommunicationProfile, Conversation, Service)
    .select_from(Person)
    .outerjoin(CommunicationProfile, col(CommunicationProfile.person_id) == col(Person.id))
    .outerjoin(Conversation, col(Conversation.person_id) == col(Person.id))
    .outerjoin(Service, col(Service.id) == col(Person.service_id))
    .where(Person.id == bindparam("person_id"))
)


def surroundings_of(*, session: Session, person: Person) -> Surroundings:
    """The person's profile (the defaults when none was recorded), pending question and
    service, in one query. Read after the person is locked, so it sees what the worker
    before us committed."""
    assert person.id is not None
    profile, conversation, service = session.exec(
        _SURROUNDINGS, params={"person_id": person.id}).one()
    return Surroundings(
        profile=profile if profile is not None else CommunicationProfile(person_id=person.id),
        conversation=conversation, service=service,
    )


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
