"""The web application, built inside its lifespan from the settings it is given."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.clock import Clock
from voicebank.runtime import WebLoad
from voicebank.settings import Settings, load_settings
from voicebank.web import api, pages, webhooks
from voicebank.web.action_pages import action_router
from voicebank.web.api_changes import changes_router
from voicebank.web.api_setup import setup_router
from voicebank.web.election_pages import election_router
from voicebank.web.messages_pages import messages_router
from voicebank.web.people_pages import people_router
from voicebank.web.security import SignInFirst, sign_in_url
from voicebank.web.simulator import simulator_router
from voicebank.web.survey_pages import survey_router
from voicebank.wiring import Voicebank, assemble
from voicebank.worker import running


def create_app_from_environment() -> FastAPI:
    """The app as each of ``voicebank run --workers N``'s processes builds it: from the
    ``VOICEBANK_`` environment (uvicorn imports this in every worker)."""
    from voicebank.cli_support import configure_logging

    configure_logging()
    return create_app(load_settings(), long_running=True)


class CountingRequests:
    """Counts the HTTP requests in hand in ``load``, so handling in this process can give
    way to them (:class:`~voicebank.runtime.WebLoad`)."""

    def __init__(self, app: ASGIApp, load: WebLoad) -> None:
        self.app = app
        self.load = load

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.load.serving += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.load.serving -= 1


def create_app(settings: Settings, *, clock: Clock | None = None,
               long_running: bool = False) -> FastAPI:
    """The ASGI app: wiring happens when it starts, not when this module is imported.
    ``long_running`` is for a server's own process (see :func:`~voicebank.worker.running`)."""

    load = WebLoad()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        voicebank = await asyncio.to_thread(assemble, settings, clock=clock)
        app.state.voicebank = voicebank
        try:
            async with running(voicebank, web=load, long_running=long_running) as runtime:
                app.state.runtime = runtime
                yield
        finally:
            voicebank.close()

    app = FastAPI(title="Voicebank", lifespan=lifespan)
    app.add_middleware(CountingRequests, load=load)
    app.include_router(webhooks.router)
    app.include_router(pages.router)
    app.include_router(survey_router)
    app.include_router(election_router)
    app.include_router(action_router)
    app.include_router(people_router)
    app.include_router(messages_router)
    app.include_router(simulator_router)
    app.include_router(api.router)
    app.include_router(changes_router)
    app.include_router(setup_router)

    @app.exception_handler(RequestValidationError)
    async def unreadable_request(request: Request, error: RequestValidationError) -> JSONResponse:
        """FastAPI's usual 422, but never echoing text it cannot encode (a lone surrogate)."""
        details = jsonable_encoder(error.errors(), custom_encoder={
            str: lambda text: text.encode("utf-8", "replace").decode("utf-8")})
        return JSONResponse({"detail": json.loads(json.dumps(details, ensure_ascii=True))},
                            status_code=422)

    @app.exception_handler(SignInFirst)
    async def sign_in_first(request: Request, error: SignInFirst) -> RedirectResponse:
        return RedirectResponse(sign_in_url(error.path), status_code=303)

    # Pictures uploaded from the dashboard appear here, so the folder may come later.
    app.mount("/media", StaticFiles(directory=Path(settings.media_dir), check_dir=False),
              name="media")

    @app.get("/healthz")
    async def healthz(request: Request) -> JSONResponse:
        """Ready when the database answers."""
        voicebank: Voicebank = request.app.state.voicebank

        def ping() -> None:
            with voicebank.database.connect() as connection:
                connection.execute(text("SELECT 1"))

        try:
            await asyncio.to_thread(ping)
        except Exception as error:
            return JSONResponse({"status": "unhealthy", "database": str(error)}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    return app
