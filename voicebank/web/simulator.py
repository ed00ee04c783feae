"""The phone simulator: staff chat with the bot in the browser, as a person or a new number.

The simulator is a channel of its own ("simulator"): a message typed here goes through
the same inbox, engine and outbox as a text or a Telegram message, and the replies the
engine queues for the simulator are marked sent here, as a provider would, since the
page itself is where they are delivered. A voting message is marked sent when the page
has shown it, as its words are cleared once sent: so a ballot's choices can be pressed.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import escape
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from bot.messages import Inbound
from bot.urns import InvalidURN, normalise_urn
from channels.console import render_options
from storage import outbox, people
from storage.audit import record_audit
from storage.database import transaction
from storage.tables import Address, InboxMessage, OutboxMessage, OutboxStatus, Person, StaffRole
from voicebank.runtime import Runtime
from voicebank.web.security import Viewer, check_csrf, page_for
from voicebank.wiring import Voicebank

CHANNEL = "simulator"
HISTORY = 200
"""How many of the latest messages each way a conversation shows."""

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
simulator_router = APIRouter(include_in_schema=False)
STAFF = (StaffRole.ADMIN, StaffRole.STAFF)
UNDELIVERED = (OutboxStatus.FAILED, OutboxStatus.CANCELLED)


class NotAnAddress(ValueError):
    """What was typed or picked cannot be chatted as; the message says so kindly."""


def address_to_chat_as(*, urn: str = "", number: str = "") -> str:
    """The URN to chat as: a typed phone number, else a picked address; both normalised."""
    number = number.strip()
    if number:
        typed = number if number.lower().startswith("tel:") else f"tel:{number}"
        try:
            return normalise_urn(typed)
        except InvalidURN as error:
            raise NotAnAddress(
                f"Sorry, “{number}” does not look like a phone number. "
                "Write it like 07700 900123 or +44 7700 900123."
            ) from error
    if not urn.strip():
        raise NotAnAddress("Pick a person, or type a phone number, to start chatting.")
    try:
        return normalise_urn(urn)
    except InvalidURN as error:
        raise NotAnAddress(
            f"Sorry, “{urn}” is not an address Voicebank can chat as. "
            "Pick a person, or type a phone number."
        ) from error


def people_to_pick(*, session: Session) -> list[dict[str, Any]]:
    """Everyone with an address, by name, each with the first address they were given."""
    first = (
        sa_select(col(Address.person_id), func.min(Address.id).label("address_id"))
        .group_by(col(Address.person_id))
        .subquery()
    )
    rows = session.execute(
        sa_select(col(Person.id), col(Person.name), col(Address.urn))
        .join(first, first.c.person_id == Person.id)
        .join(Address, col(Address.id) == first.c.address_id)
        .order_by(col(Person.name), col(Person.id))
    )
    return [{"id": person_id, "name": name or f"Person {person_id} (no name)", "urn": urn}
            for person_id, name, urn in rows]


@dataclass
class Conversation:
    """What the simulator shows for one address: the messages, in order, and who it is."""

    address: str
    person: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    options: list[dict[str, Any]] = field(default_factory=list)
    latest: str = ""


def load_conversation(*, session: Session, address: str, zone: ZoneInfo) -> Conversation:
    """Every message to and from ``address`` on the simulator, replies after what they answer."""
    found = people.find_by_address(session=session, urn=address)
    result = Conversation(address=address,
                          person=(found[0].name or "someone with no name") if found else None)
    received = list(session.exec(
        select(InboxMessage)
        .where(InboxMessage.address == address, InboxMessage.channel == CHANNEL)
        .order_by(col(InboxMessage.id).desc()).limit(HISTORY)))
    replies = list(session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.address == address, OutboxMessage.channel == CHANNEL)
        .order_by(col(OutboxMessage.id).desc()).limit(HISTORY)))
    arrived = {message.id: message.received_at for message in received}
    timeline: list[tuple[tuple[datetime, int, int, int], dict[str, Any]]] = []
    for inbound in received:
        assert inbound.id is not None
        timeline.append(((inbound.received_at, inbound.id, 0, 0), {
            "direction": "in", "time": _shown(inbound.received_at, zone),
            "lines": [inbound.text] + [f"[picture: {item}]" for item in inbound.media],
            "options": []}))
    for reply in replies:
        assert reply.id is not None
        if reply.in_reply_to in arrived:
            key = (arrived[reply.in_reply_to], reply.in_reply_to or 0, 1, reply.id)
        else:
            key = (reply.created_at, 2**62, 1, reply.id)
        lines = [reply.text]
        if reply.picture:
            lines.append(f"[picture: {reply.picture}]")
        lines.extend(render_options(reply.options))
        if reply.footer:
            lines.append(reply.footer)
        timeline.append((key, {
            "direction": "out", "time": _shown(reply.created_at, zone), "lines": lines,
            "options": list(reply.options),
            "status": str(reply.status) if reply.status in UNDELIVERED else ""}))
    timeline.sort(key=lambda item: item[0])
    result.messages = [said for _, said in timeline[-HISTORY:]]
    if result.messages and result.messages[-1]["direction"] == "out":
        result.options = result.messages[-1]["options"]
    newest_in = received[0].id if received else 0
    newest_out = replies[0].id if replies else 0
    result.latest = f"in{newest_in}-out{newest_out}"
    return result


def _shown(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%d %b %H:%M}"


def deliver_replies(*, session: Session, address: str, now: datetime, voting: bool) -> int:
    """Mark the simulator's queued replies to ``address`` sent: this page is their provider.

    Voting messages are left queued unless ``voting``: sending clears their words, so they
    are delivered when the page shows them, not before.
    """
    query = select(OutboxMessage.id).where(
        OutboxMessage.address == address, OutboxMessage.channel == CHANNEL,
        OutboxMessage.status == OutboxStatus.QUEUED)
    if not voting:
        query = query.where(col(OutboxMessage.sensitive).is_(False))
    queued = list(session.exec(query.order_by(col(OutboxMessage.id))))
    for message_id in queued:
        assert message_id is not None
        outbox.mark_sent(session=session, message_id=message_id,
                         provider_ids=[f"{CHANNEL}-{message_id}"], now=now)
    return len(queued)


def _voicebank(request: Request) -> Voicebank:
    voicebank: Voicebank = request.app.state.voicebank
    return voicebank


def chat_url(address: str) -> str:
    return f"/simulator/chat?{urlencode({'as': address})}"


async def _picker(request: Request, viewer: Viewer, *, error: str = "", number: str = "",
                  status_code: int = 200) -> Response:
    voicebank = _voicebank(request)

    def load() -> list[dict[str, Any]]:
        with transaction(voicebank.database) as session:
            return people_to_pick(session=session)

    choices = await asyncio.to_thread(load)
    return templates.TemplateResponse(request, "simulator.html", {
        "title": "Phone simulator", "viewer": viewer, "people": choices, "error": error,
        "number": number, "c": None}, status_code=status_code)


async def _conversation(request: Request, address: str) -> Conversation:
    voicebank = _voicebank(request)

    def load() -> Conversation:
        with transaction(voicebank.database) as session:
            conversation = load_conversation(session=session, address=address,
                                             zone=voicebank.settings.zone)
            deliver_replies(session=session, address=address, now=voicebank.clock.now(),
                            voting=True)
            return conversation

    return await asyncio.to_thread(load)


@simulator_router.get("/simulator", response_class=HTMLResponse)
async def simulator_page(
    request: Request, viewer: Annotated[Viewer, Depends(page_for(*STAFF))]
) -> Response:
    return await _picker(request, viewer)


@simulator_router.get("/simulator/chat", response_class=HTMLResponse)
async def chat_page(
    request: Request,
    viewer: Annotated[Viewer, Depends(page_for(*STAFF))],
    urn: Annotated[str, Query(alias="as", max_length=200)] = "",
    number: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    try:
        address = address_to_chat_as(urn=urn, number=number)
    except NotAnAddress as error:
        return await _picker(request, viewer, error=str(error), number=number, status_code=400)
    if number or address != urn:
        return RedirectResponse(chat_url(address), status_code=303)
    conversation = await _conversation(request, address)
    return templates.TemplateResponse(request, "simulator.html", {
        "title": "Phone simulator", "viewer": viewer, "c": conversation, "error": ""})


@simulator_router.get("/simulator/messages", response_class=HTMLResponse)
async def conversation_fragment(
    request: Request,
    viewer: Annotated[Viewer, Depends(page_for(*STAFF))],
    urn: Annotated[str, Query(alias="as", max_length=200)] = "",
) -> Response:
    """Just the conversation, for the page's script to refresh it."""
    try:
        address = address_to_chat_as(urn=urn)
    except NotAnAddress as error:
        return HTMLResponse(f"<p>{escape(str(error))}</p>", status_code=400)
    conversation = await _conversation(request, address)
    template = templates.env.get_template("simulator.html")
    context = template.new_context({"viewer": viewer, "c": conversation})
    return HTMLResponse("".join(template.blocks["conversation"](context)))


@simulator_router.post("/simulator/send")
async def send_message(
    request: Request,
    viewer: Annotated[Viewer, Depends(page_for(*STAFF))],
    csrf: Annotated[str, Form()] = "",
    urn: Annotated[str, Form(alias="as", max_length=200)] = "",
    text: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(viewer, csrf)
    try:
        address = address_to_chat_as(urn=urn)
    except NotAnAddress as error:
        return await _picker(request, viewer, error=str(error), status_code=400)
    if not text.strip():
        conversation = await _conversation(request, address)
        return templates.TemplateResponse(request, "simulator.html", {
            "title": "Phone simulator", "viewer": viewer, "c": conversation,
            "error": "Type a message first, then press Send."}, status_code=400)
    voicebank = _voicebank(request)
    runtime: Runtime = request.app.state.runtime
    now = voicebank.clock.now()
    actor = f"staff_user:{viewer.user.id}"

    def note() -> None:
        # Staff may chat as a real person's address, so who did it is kept (never what was said).
        with transaction(voicebank.database) as session:
            record_audit(session=session, actor=actor, action="simulator.message",
                         subject=address[:120], at=now)

    await asyncio.to_thread(note)
    await runtime.accept(Inbound(address=address, text=text, channel=CHANNEL,
                                 provider_id=uuid.uuid4().hex, received_at=now))
    await runtime.settle()

    def deliver() -> None:
        with transaction(voicebank.database) as session:
            deliver_replies(session=session, address=address, now=voicebank.clock.now(),
                            voting=False)

    await asyncio.to_thread(deliver)
    return RedirectResponse(f"{chat_url(address)}#latest", status_code=303)
