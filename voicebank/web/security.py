"""Who is asking: the signed-in account behind a page, or the token behind an API call.

Pages: an anonymous request is sent to sign in; a role that may not see the page gets
403. Every form carries the session's CSRF token, checked in constant time. API: a
``Bearer`` token, 401 without one, 403 for a role that may not call the route.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import HTTPException, Request

from storage.database import transaction
from storage.tables import StaffUser
from voicebank import accounts
from voicebank.wiring import Voicebank

COOKIE = "voicebank_session"


@dataclass(frozen=True)
class Viewer:
    """The signed-in account and its session's CSRF token, for templates and forms."""

    user: StaffUser
    csrf: str

    @property
    def role(self) -> str:
        return self.user.role


class SignInFirst(Exception):
    """Raised for an anonymous page request; the app turns it into a redirect."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def sign_in_url(path: str) -> str:
    return f"/sign-in?next={quote(path, safe='/')}"


def secure_cookies(public_url: str) -> bool:
    """Cookies are Secure everywhere but plain-HTTP local use."""
    local = ("http://127.0.0.1", "http://localhost", "http://[::1]")
    return not public_url.startswith(local)


def _voicebank(request: Request) -> Voicebank:
    voicebank: Voicebank = request.app.state.voicebank
    return voicebank


def viewer_of(request: Request) -> Viewer | None:
    """The account signed in on this browser, or None (called in a worker thread)."""
    voicebank = _voicebank(request)
    with transaction(voicebank.database) as session:
        found = accounts.session_user(session=session, token=request.cookies.get(COOKIE),
                                      now=voicebank.clock.now())
        if found is None:
            return None
        user, web_session = found
        session.expunge(user)
        return Viewer(user=user, csrf=web_session.csrf)


def page_for(*roles: str) -> Callable[[Request], Coroutine[Any, Any, Viewer]]:
    """A dependency for a page only ``roles`` may see."""

    async def dependency(request: Request) -> Viewer:
        viewer = await asyncio.to_thread(viewer_of, request)
        if viewer is None:
            raise SignInFirst(request.url.path)
        if viewer.role not in roles:
            raise HTTPException(status_code=403, detail="Your account cannot see this page.")
        return viewer

    return dependency


def check_csrf(viewer: Viewer, given: str | None) -> None:
    """Refuse a form that did not come from one of our pages."""
    if not given or not hmac.compare_digest(viewer.csrf.encode(), given.encode()):
        raise HTTPException(status_code=403, detail="This form has expired. Go back, "
                                                    "reload the page and try again.")


def api_for(*roles: str) -> Callable[[Request], Coroutine[Any, Any, StaffUser]]:
    """A dependency for an API route only ``roles`` may call."""

    def look_up(request: Request) -> StaffUser | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        voicebank = _voicebank(request)
        with transaction(voicebank.database) as session:
            user = accounts.token_user(session=session, token=token.strip(),
                                       now=voicebank.clock.now())
            if user is not None:
                session.expunge(user)
            return user

    async def dependency(request: Request) -> StaffUser:
        user = await asyncio.to_thread(look_up, request)
        if user is None:
            raise HTTPException(status_code=401, detail="Send a token: Authorization: Bearer …",
                                headers={"WWW-Authenticate": "Bearer"})
        if user.role not in roles:
            raise HTTPException(status_code=403, detail="This token's account cannot do that.")
        return user

    return dependency
