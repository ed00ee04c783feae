"""The dashboard's people and services pages: who is in Voicebank, adding them one at a
time or from a spreadsheet, and the constituencies and services they belong to."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, or_, select

from bot.onboarding import CODE
from bot.urns import InvalidURN, normalise_urn
from storage import people
from storage.audit import record_audit
from storage.database import transaction
from storage.tables import Address, Constituency, Person, PersonRole, Service, StaffRole
from voicebank import people_import
from voicebank.people_import import ImportProblem, RowCheck
from voicebank.web.security import Viewer, check_csrf, page_for
from voicebank.wiring import Voicebank

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
people_router = APIRouter(include_in_schema=False)
ADMIN = page_for(StaffRole.ADMIN)
SHOWN = 200
CONFIRM_FIELD_LIMIT = 4 * people_import.MAX_BYTES
CHANGED = ("This list was changed after it was checked, so nobody was added. "
           "Upload the file again.")


def _voicebank(request: Request) -> Voicebank:
    voicebank: Voicebank = request.app.state.voicebank
    return voicebank


def _actor(viewer: Viewer) -> str:
    return f"staff_user:{viewer.user.id}"


def known_numbers(session: Session) -> set[str]:
    return set(session.exec(select(Address.urn)))


def join_codes(session: Session) -> dict[str, int]:
    return {service.join_code: service.id for service in session.exec(select(Service))
            if service.id is not None}


def _search_terms(query: str) -> list[str]:
    """What to look for in addresses: the words as typed, their digits, and the number
    in international form (so 07700 900123 finds tel:+447700900123)."""
    terms = [query]
    digits = re.sub(r"\D", "", query)
    if len(digits) >= 3:
        terms.append(digits)
        with suppress(InvalidURN):
            terms.append(normalise_urn(f"tel:{query}").removeprefix("tel:+"))
    return terms


def list_people(*, session: Session, query: str, zone: ZoneInfo) -> tuple[list[dict[str, Any]],
                                                                            bool]:
    """Everyone, or those whose name or address matches ``query``; the first ``SHOWN``."""
    chosen = select(Person)
    if query:
        addresses = select(Address.person_id).where(or_(
            *(col(Address.urn).contains(term, autoescape=True) for term in _search_terms(query))))
        chosen = chosen.where(or_(col(Person.name).icontains(query, autoescape=True),
                                  col(Person.id).in_(addresses)))
    found = list(session.exec(chosen.order_by(func.lower(Person.name), col(Person.id))
                              .limit(SHOWN + 1)))
    ids = [person.id for person in found[:SHOWN]]
    roles: dict[int, list[str]] = {}
    for role in session.exec(select(PersonRole).where(col(PersonRole.person_id).in_(ids))
                             .order_by(col(PersonRole.role))):
        roles.setdefault(role.person_id, []).append(role.role)
    addresses_of: dict[int, list[Address]] = {}
    for address in session.exec(select(Address).where(col(Address.person_id).in_(ids))
                                .order_by(col(Address.id))):
        addresses_of.setdefault(address.person_id, []).append(address)
    services = {service.id: service for service in session.exec(select(Service))}
    rows = []
    for person in found[:SHOWN]:
        service = services.get(person.service_id)
        rows.append({
            "id": person.id, "name": person.name or "(no name)",
            "roles": roles.get(person.id or 0, []),
            "service": f"{service.name} ({service.join_code})" if service else "",
            "addresses": [{"urn": address.urn, "active": address.active,
                           "reason": address.inactive_reason or ""}
                          for address in addresses_of.get(person.id or 0, [])],
            "opted_out": f"{person.opted_out_at.astimezone(zone):%d %b %Y}"
            if person.opted_out_at else ""})
    return rows, len(found) > SHOWN


def service_choices(session: Session) -> list[dict[str, str]]:
    return [{"code": service.join_code, "name": service.name}
            for service in session.exec(select(Service).order_by(col(Service.name)))]


@dataclass
class PersonForm:
    """What was typed into the add-a-person form, kept to show it again."""

    name: str = ""
    kind: str = "tel"
    address: str = ""
    service: str = ""
    role: str = "service_user"
    problems: list[str] = field(default_factory=list)


def add_one_person(*, session: Session, form: PersonForm, actor: str, now: datetime
                   ) -> Person | None:
    """Add the person on the form, checked by the same rules as an import; None, with
    ``form.problems`` filled in, when something is wrong."""
    address = form.address.strip()
    if form.kind == "telegram" and address:
        try:
            address = normalise_urn(f"telegram:{address}")
        except InvalidURN:
            form.problems.append(f"“{form.address}” is not a Telegram chat id. It is a "
                                 "number, like 123456789.")
            return None
    [check] = people_import.check_rows(
        [{"name": form.name, "phone": address, "service": form.service, "role": form.role}],
        known_numbers=known_numbers(session), services=join_codes(session))
    if not check.ok or check.urn is None:
        form.problems.extend(problem.replace("There is no phone number.",
                                             "There is no phone number or Telegram id.")
                             for problem in check.problems)
        return None
    person = people.add_person(session=session, urns=[check.urn], now=now, name=check.name,
                               roles=[check.role], service_id=check.service_id)
    record_audit(session=session, actor=actor, action="person.added",
                 subject=f"person:{person.id}", at=now,
                 detail={"role": check.role, "service": check.service})
    return person


async def _people_page(request: Request, viewer: Viewer, *, query: str = "",
                       form: PersonForm | None = None, added: int | None = None,
                       status_code: int = 200) -> Response:
    voicebank = _voicebank(request)

    def load() -> tuple[list[dict[str, Any]], bool, list[dict[str, str]], str]:
        with transaction(voicebank.database) as session:
            found, more = list_people(session=session, query=query, zone=voicebank.settings.zone)
            person = session.get(Person, added) if added is not None else None
            notice = f"{person.name or 'The person'} is added." if person else ""
            return found, more, service_choices(session), notice

    found, more, services, notice = await asyncio.to_thread(load)
    return templates.TemplateResponse(request, "people.html", {
        "title": "People", "viewer": viewer, "people": found, "more": more, "shown": SHOWN,
        "query": query, "form": form or PersonForm(), "services": services,
        "roles": people_import.ROLES, "notice": notice}, status_code=status_code)


@people_router.get("/people", response_class=HTMLResponse)
async def people_page(
    request: Request,
    viewer: Annotated[Viewer, Depends(ADMIN)],
    q: Annotated[str, Query(max_length=120)] = "",
    added: Annotated[str, Query(max_length=12)] = "",
) -> Response:
    return await _people_page(request, viewer, query=q.strip(),
                              added=int(added) if added.isdigit() else None)


@people_router.post("/people")
async def add_person_page(
    request: Request,
    viewer: Annotated[Viewer, Depends(ADMIN)],
    csrf: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "tel",
    address: Annotated[str, Form()] = "",
    service: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "service_user",
) -> Response:
    check_csrf(viewer, csrf)
    voicebank = _voicebank(request)
    form = PersonForm(name=name[:200], kind=kind, address=address[:200], service=service[:20],
                      role=role[:40])

    def add() -> int | None:
        try:
            with transaction(voicebank.database) as session:
                person = add_one_person(session=session, form=form, actor=_actor(viewer),
                                        now=voicebank.clock.now())
                return person.id if person else None
        except IntegrityError:
            form.problems.append("Someone added that number at the same moment. "
                                 "Look for it in the list below.")
            return None

    added = await asyncio.to_thread(add)
    if added is None:
        return await _people_page(request, viewer, form=form, status_code=422)
    return RedirectResponse(f"/people?added={added}", status_code=303)


def list_services(session: Session) -> list[dict[str, Any]]:
    """Every constituency, its services, their join codes and how many people are in each."""
    counts = Counter(session.exec(select(Person.service_id).where(
        col(Person.service_id).is_not(None))))
    listed: list[dict[str, Any]] = []
    for constituency in session.exec(select(Constituency).order_by(col(Constituency.name))):
        services = session.exec(select(Service).where(
            Service.constituency_id == constituency.id).order_by(col(Service.name)))
        listed.append({"id": constituency.id, "name": constituency.name, "services": [
            {"name": service.name, "code": service.join_code,
             "people": counts.get(service.id, 0)} for service in services]})
    return listed


@dataclass
class ServicesForm:
    constituency: str = ""
    service: str = ""
    code: str = ""
    in_constituency: int | None = None
    constituency_problem: str = ""
    service_problems: list[str] = field(default_factory=list)


async def _services_page(request: Request, viewer: Viewer, *, form: ServicesForm | None = None,
                         added: str = "", status_code: int = 200) -> Response:
    voicebank = _voicebank(request)

    def load() -> tuple[list[dict[str, Any]], str]:
        with transaction(voicebank.database) as session:
            kind, _, number = added.partition(":")
            notice = ""
            if kind == "service" and number.isdigit():
                service = session.get(Service, int(number))
                if service is not None:
                    notice = (f"{service.name} is added. People join it by sending: "
                              f"JOIN {service.join_code}")
            elif kind == "constituency" and number.isdigit():
                constituency = session.get(Constituency, int(number))
                if constituency is not None:
                    notice = f"{constituency.name} is added. Now add its services."
            return list_services(session), notice

    listed, notice = await asyncio.to_thread(load)
    return templates.TemplateResponse(request, "services.html", {
        "title": "Services", "viewer": viewer, "constituencies": listed,
        "form": form or ServicesForm(), "notice": notice}, status_code=status_code)


@people_router.get("/services", response_class=HTMLResponse)
async def services_page(
    request: Request,
    viewer: Annotated[Viewer, Depends(ADMIN)],
    added: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    return await _services_page(request, viewer, added=added)


@people_router.post("/services/constituencies")
async def add_constituency_page(
    request: Request,
    viewer: Annotated[Viewer, Depends(ADMIN)],
    csrf: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(viewer, csrf)
    voicebank = _voicebank(request)
    form = ServicesForm(constituency=" ".join(name.split())[:200])

    def add() -> int | None:
        now = voicebank.clock.now()
        with transaction(voicebank.database) as session:
            if not form.constituency or len(form.constituency) > 120:
                form.constituency_problem = "Write the constituency's name, up to 120 letters."
            elif session.exec(select(Constituency).where(func.lower(Constituency.name)
                                                         == form.constituency.lower())).first():
                form.constituency_problem = f"There is already a constituency called " \
                                            f"{form.constituency}."
            else:
                added = people.add_constituency(session=session, name=form.constituency)
                record_audit(session=session, actor=_actor(viewer), action="constituency.added",
                             subject=f"constituency:{added.id}", at=now)
                return added.id
            return None

    added = await asyncio.to_thread(add)
    if added is None:
        return await _services_page(request, viewer, form=form, status_code=422)
    return RedirectResponse(f"/services?added=constituency:{added}", status_code=303)


@people_router.post("/services")
async def add_service_page(
    request: Request,
    viewer: Annotated[Viewer, Depends(ADMIN)],
    csrf: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    constituency_id: Annotated[str, Form()] = "",
    join_code: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(viewer, csrf)
    voicebank = _voicebank(request)
    form = ServicesForm(service=" ".join(name.split())[:200],
                        code="".join(join_code.split()).upper()[:40],
                        in_constituency=int(constituency_id) if constituency_id.isdigit()
                        else None)

    def add() -> int | None:
        now = voicebank.clock.now()
        problems = form.service_problems
        with transaction(voicebank.database) as session:
            if not form.service or len(form.service) > 120:
                problems.append("Write the service's name, up to 120 letters.")
            if form.in_constituency is None or session.get(
                    Constituency, form.in_constituency) is None:
                problems.append("Choose the constituency the service is in.")
            if not CODE.match(form.code):
                problems.append("A join code is 3 to 10 letters and numbers, like OAK3.")
            elif people.service_by_join_code(session=session, code=form.code):
                problems.append(f"The join code {form.code} is already used. Choose another.")
            if problems or form.in_constituency is None:
                return None
            added = people.add_service(session=session, name=form.service,
                                       constituency_id=form.in_constituency,
                                       join_code=form.code)
            record_audit(session=session, actor=_actor(viewer), action="service.added",
                         subject=f"service:{added.id}", at=now,
                         detail={"join_code": form.code})
            return added.id

    added = await asyncio.to_thread(add)
    if added is None:
        return await _services_page(request, viewer, form=form, status_code=422)
    return RedirectResponse(f"/services?added=service:{added}", status_code=303)


def _import_page(request: Request, viewer: Viewer, *, status_code: int = 200,
                 **context: Any) -> Response:
    return templates.TemplateResponse(request, "people_import.html", {
        "title": "Add people from a file", "viewer": viewer, "error": "", "checks": None,
        "result": None, "max_mb": people_import.MAX_BYTES // (1024 * 1024), **context},
        status_code=status_code)


@people_router.get("/people/import", response_class=HTMLResponse)
async def import_page(request: Request, viewer: Annotated[Viewer, Depends(ADMIN)]) -> Response:
    return _import_page(request, viewer)


@people_router.post("/people/import")
async def check_import(
    request: Request,
    viewer: Annotated[Viewer, Depends(ADMIN)],
    csrf: Annotated[str, Form()] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    check_csrf(viewer, csrf)
    voicebank = _voicebank(request)
    data = await file.read(people_import.MAX_BYTES + 1) if file is not None else b""
    filename = (file.filename or "") if file is not None else ""
    try:
        if not filename and not data:
            raise ImportProblem("Choose a CSV file to upload.")
        if filename.lower().endswith((".xlsx", ".xls", ".ods")):
            raise ImportProblem("This is a spreadsheet file, not a CSV file. In your "
                                "spreadsheet, choose “Save as” and then “CSV UTF-8”.")
        rows = people_import.read_csv(data)
    except ImportProblem as problem:
        return _import_page(request, viewer, error=str(problem), status_code=422)

    def check() -> list[RowCheck]:
        with transaction(voicebank.database) as session:
            return people_import.check_rows(rows, known_numbers=known_numbers(session),
                                            services=join_codes(session))

    checks = await asyncio.to_thread(check)
    good = [row.as_row() for row in checks if row.ok]
    sealed = people_import.seal_rows(good, left_out=len(checks) - len(good), key=viewer.csrf)
    return _import_page(request, viewer, checks=checks, will_add=len(good),
                        left_out=len(checks) - len(good), sealed=sealed, filename=filename)


def import_people(*, session: Session, rows: list[dict[str, str]], left_out: int, actor: str,
                  now: datetime) -> tuple[int, list[RowCheck]]:
    """Check ``rows`` again and add the ones that still pass; how many were added, and the
    rows that no longer pass. ``left_out`` rows of the file had failed the first check."""
    checks = people_import.check_rows(rows, known_numbers=known_numbers(session),
                                      services=join_codes(session))
    added = 0
    for row in checks:
        if row.ok and row.urn is not None:
            people.add_person(session=session, urns=[row.urn], now=now, name=row.name,
                              roles=[row.role], service_id=row.service_id)
            added += 1
    if added:
        record_audit(session=session, actor=actor, action="people.imported", at=now,
                     detail={"count": added, "left_out": left_out + len(checks) - added})
    return added, [row for row in checks if not row.ok]


@people_router.post("/people/import/confirm")
async def confirm_import(request: Request, viewer: Annotated[Viewer, Depends(ADMIN)]
                         ) -> Response:
    submitted = await request.form(max_part_size=CONFIRM_FIELD_LIMIT)
    csrf, sealed = submitted.get("csrf"), submitted.get("rows")
    check_csrf(viewer, csrf if isinstance(csrf, str) else "")
    opened = people_import.open_sealed(sealed if isinstance(sealed, str) else "",
                                       key=viewer.csrf)
    if opened is None:
        return _import_page(request, viewer, error=CHANGED, status_code=400)
    rows, left_out = opened
    voicebank = _voicebank(request)

    def add() -> tuple[int, list[RowCheck]] | None:
        try:
            with transaction(voicebank.database) as session:
                return import_people(session=session, rows=rows, left_out=left_out,
                                     actor=_actor(viewer),
                                     now=voicebank.clock.now())
        except IntegrityError:
            return None

    outcome = await asyncio.to_thread(add)
    if outcome is None:
        return _import_page(request, viewer, status_code=409, error=(
            "Someone added some of these numbers at the same moment, so nobody was added. "
            "Upload the file again to check it."))
    added, failed = outcome
    return _import_page(request, viewer, result={
        "added": added, "left_out": left_out + len(failed), "failed": failed})
