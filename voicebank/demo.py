"""A demo organisation to try Voicebank with: constituencies, services, people."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.clock import Clock
from storage import people
from storage.audit import record_audit
from storage.database import transaction
from storage.tables import CommunicationProfile, Role, Service

DRAMA_NUMBER = "tel:+44770090{:04d}"

CONSTITUENCIES = {
    "Riverside": [("Willow House", "WILLOW1"), ("The Boathouse", "BOAT2")],
    "Hillview": [("Oak Lodge", "OAK3"), ("Hilltop Flats", "HILL4")],
    "Parkside": [("Maple Court", "MAPLE5"), ("Parkside Hub", "PARK6")],
}

SERVICE_USERS = [
    "Amir K", "Beth L", "Callum M", "Dana P", "Eddie R", "Fatima S", "Gary T", "Hannah W",
    "Imran A", "Jess B", "Kieran C", "Lucy D", "Mo E", "Nina F", "Owen G", "Priya H",
    "Quinn J", "Rosie N", "Sam O", "Tariq Q", "Una V", "Vic Y", "Wendy Z", "Xander U",
    "Yasmin I",
]
MPS = ["Zoe Hart", "Dev Patel"]
STAFF = ["Helen Lewis", "Ed Foster", "Bea Dunn"]


@dataclass(frozen=True)
class DemoService:
    name: str
    constituency: str
    join_code: str


def demo_services() -> list[DemoService]:
    return [
        DemoService(name=name, constituency=constituency, join_code=code)
        for constituency, services in CONSTITUENCIES.items()
        for name, code in services
    ]


def ensure_demo_organisation(*, database: Engine, clock: Clock) -> bool:
    """Fill the database with the demo organisation; False when it was already there."""
    first_code = demo_services()[0].join_code
    now = clock.now()
    with transaction(database) as session:
        if session.exec(select(Service).where(Service.join_code == first_code)).first():
            return False
        services: list[Service] = []
        for constituency_name, entries in CONSTITUENCIES.items():
            constituency = people.add_constituency(session=session, name=constituency_name)
            assert constituency.id is not None
            for name, code in entries:
                services.append(
                    people.add_service(
                        session=session, name=name, constituency_id=constituency.id,
                        join_code=code,
                    )
                )
        number = 1
        for index, name in enumerate(SERVICE_USERS):
            service = services[index % len(services)]
            profile = _demo_profile(index)
            people.add_person(
                session=session, urns=[DRAMA_NUMBER.format(number)], now=now, name=name,
                service_id=service.id, profile=profile,
            )
            number += 1
        for index, name in enumerate(MPS):
            service = services[index * 2]
            people.add_person(
                session=session, urns=[DRAMA_NUMBER.format(number)], now=now, name=name,
                roles=(Role.SERVICE_USER, Role.MP), service_id=service.id,
            )
            number += 1
        for index, name in enumerate(STAFF):
            roles = (Role.STAFF, Role.ADMIN) if index == 0 else (Role.STAFF,)
            people.add_person(
                session=session, urns=[DRAMA_NUMBER.format(number)], now=now, name=name,
                roles=roles, service_id=services[index].id,
            )
            number += 1
        record_audit(session=session, actor="demo", action="demo.created", at=now,
                     detail={"people": number - 1})
    return True


def _demo_profile(index: int) -> CommunicationProfile | None:
    """A few people with a recorded communication profile, to show what it changes."""
    if index == 1:
        return CommunicationProfile(person_id=0, supporter_name="Mike (key worker)")
    if index == 4:
        return CommunicationProfile(person_id=0, pictures=False, notes="Uses a screen reader.")
    if index == 7:
        return CommunicationProfile(person_id=0, easy_words=False)
    return None


DEMO_LEAD_EMAIL = "lead@demo.voicebank"
DEMO_LEAD_PASSWORD = "voicebank-demo"  # noqa: S105  (the local demo's, printed on start)


def ensure_demo_account(*, database: Engine, clock: Clock) -> None:
    """The demo's participation lead account for the dashboard, made once."""
    from sqlmodel import select as select_rows

    from storage.tables import StaffUser
    from voicebank.accounts import add_user

    with transaction(database) as session:
        found = session.exec(select_rows(StaffUser).where(
            StaffUser.email == DEMO_LEAD_EMAIL)).first()
        if found is None:
            add_user(session=session, email=DEMO_LEAD_EMAIL, name="Helen Lewis (demo)",
                     role="admin", password=DEMO_LEAD_PASSWORD, now=clock.now(), actor="demo")
