"""The dashboard's messages page: what came in, what went out, and sending a failure again."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.audit import record_audit
from storage.database import transaction
from storage.tables import InboxMessage, InboxStatus, OutboxMessage, OutboxStatus, StaffRole
from voicebank.web.security import Viewer, check_csrf, page_for
from voicebank.wiring import Voicebank

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
messages_router = APIRouter(include_in_schema=False)
STAFF = (StaffRole.ADMIN, StaffRole.STAFF)
PAGE_SIZE = 50
SHORT_TEXT = 80
VOTING_TEXT = "[a voting message]"
STATUSES = tuple(dict.fromkeys(str(status) for status in [*InboxStatus, *OutboxStatus]))


def shorten(text: str, length: int = SHORT_TEXT) -> str:
    """The start of a message, on one line, for a table cell."""
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1].rstrip() + "…"


def local_time(moment: datetime | None, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%d %b %Y %H:%M}" if moment else ""


@dataclass
class MessageList:
    """One page of the inbox and of the outbox, with the filters that chose them."""

    inbox: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    more: bool = False
    channels: list[str] = field(default_factory=list)


def list_messages(
    *, session: Session, zone: ZoneInfo, status: str, channel: str, page: int
) -> MessageList:
    """The newest messages first, ``PAGE_SIZE`` of each kind a page, filtered when asked."""
    skip = (page - 1) * PAGE_SIZE
    result = MessageList()
    inbox_query = select(InboxMessage)
    outbox_query = select(OutboxMessage)
    if status:
        inbox_query = inbox_query.where(InboxMessage.status == status)
        outbox_query = outbox_query.where(OutboxMessage.status == status)
    if channel:
        inbox_query = inbox_query.where(InboxMessage.channel == channel)
        outbox_query = outbox_query.where(OutboxMessage.channel == channel)
    received = list(session.exec(
        inbox_query.order_by(col(InboxMessage.id).desc()).offset(skip).limit(PAGE_SIZE + 1)))
    queued = list(session.exec(
        outbox_query.order_by(col(OutboxMessage.id).desc()).offset(skip).limit(PAGE_SIZE + 1)))
    result.more = len(received) > PAGE_SIZE or len(queued) > PAGE_SIZE
    for inbound in received[:PAGE_SIZE]:
        result.inbox.append({
            "id": inbound.id, "time": local_time(inbound.received_at, zone),
            "channel": inbound.channel, "address": inbound.address,
            "text": shorten(inbound.text) or "(no words)", "status": inbound.status,
            "error": inbound.error or ""})
    for outbound in queued[:PAGE_SIZE]:
        result.outbox.append({
            "id": outbound.id, "time": local_time(outbound.created_at, zone),
            "channel": outbound.channel, "address": outbound.address,
            "text": VOTING_TEXT if outbound.sensitive else shorten(outbound.text),
            "status": outbound.status, "attempts": outbound.attempts,
            "delivery": outbound.delivery_status or "", "error": outbound.error or "",
            "failed": outbound.status == OutboxStatus.FAILED})
    known = set(session.exec(select(InboxMessage.channel).distinct()))
    known |= set(session.exec(select(OutboxMessage.channel).distinct()))
    result.channels = sorted(known)
    return result


def retry_failed(*, session: Session, message_id: int, actor: str, now: datetime) -> bool | None:
    """Queue a failed message to be sent again; False if it had not failed, None if unknown.

    The update only touches a row that is still failed, so a message a dispatcher is
    sending, or one already sent, is never sent twice.
    """
    message = session.get(OutboxMessage, message_id)
    if message is None:
        return None
    previous_error = message.error
    changed = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id,
               col(OutboxMessage.status) == OutboxStatus.FAILED)
        .values(status=OutboxStatus.QUEUED, attempts=0, next_attempt_at=now, error=None)
    )
    if int(changed.rowcount) != 1:  # type: ignore[attr-defined]
        return False
    record_audit(session=session, actor=actor, action="outbox.retried",
                 subject=f"outbox:{message_id}", at=now,
                 detail={"channel": message.channel, "error": previous_error or ""})
    return True


def _voicebank(request: Request) -> Voicebank:
    voicebank: Voicebank = request.app.state.voicebank
    return voicebank


def _filters(status: str, channel: str, page: int) -> dict[str, str]:
    chosen = {"status": status, "channel": channel, "page": str(page) if page > 1 else ""}
    return {name: value for name, value in chosen.items() if value}


@messages_router.get("/messages", response_class=HTMLResponse)
async def messages_page(
    request: Request,
    viewer: Annotated[Viewer, Depends(page_for(*STAFF))],
    status: str = "",
    channel: Annotated[str, Query(max_length=20)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    retried: int | None = None,
    unchanged: int | None = None,
) -> Response:
    voicebank = _voicebank(request)
    notice = ""
    if status and status not in STATUSES:
        notice = f"There is no status called “{status}”, so every status is shown."
        status = ""

    def load() -> MessageList:
        with transaction(voicebank.database) as session:
            return list_messages(session=session, zone=voicebank.settings.zone,
                                 status=status, channel=channel, page=page)

    data = await asyncio.to_thread(load)
    filters = _filters(status, channel, page)
    return templates.TemplateResponse(request, "messages.html", {
        "title": "Messages", "viewer": viewer, "m": data, "statuses": STATUSES,
        "status": status, "channel": channel, "page": page, "notice": notice,
        "retried": retried, "unchanged": unchanged, "filters": filters, "page_size": PAGE_SIZE,
        "previous_page": urlencode(_filters(status, channel, page - 1)),
        "next_page": urlencode(_filters(status, channel, page + 1)),
    })


@messages_router.post("/messages/{message_id}/retry")
async def retry_message(
    request: Request,
    message_id: int,
    viewer: Annotated[Viewer, Depends(page_for(*STAFF))],
    csrf: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "",
    channel: Annotated[str, Form(max_length=20)] = "",
    page: Annotated[int, Form(ge=1, le=100_000)] = 1,
) -> Response:
    check_csrf(viewer, csrf)
    voicebank = _voicebank(request)
    actor = f"staff_user:{viewer.user.id}"

    def retry() -> bool | None:
        with transaction(voicebank.database) as session:
            return retry_failed(session=session, message_id=message_id, actor=actor,
                                now=voicebank.clock.now())

    outcome = await asyncio.to_thread(retry)
    if outcome is None:
        raise HTTPException(status_code=404, detail=f"There is no message {message_id}.")
    if outcome:
        dispatcher = request.app.state.runtime.dispatcher
        if dispatcher is not None:
            dispatcher.wake()
    filters = _filters(status if status in STATUSES else "", channel, page)
    filters["retried" if outcome else "unchanged"] = str(message_id)
    return RedirectResponse(f"/messages?{urlencode(filters)}", status_code=303)
