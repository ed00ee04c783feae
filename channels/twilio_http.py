"""The HTTP client the twilio library sends through: httpx, asynchronous, one pool.

twilio's own async client is built on aiohttp's deprecated ``BasicAuth``; this one fills
the same port (``twilio.http.AsyncHttpClient``) with httpx, which the Telegram library
already uses, and keeps one connection pool for the life of the app.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from twilio.http import AsyncHttpClient
from twilio.http.response import Response

log = logging.getLogger(__name__)


class HttpxTwilioClient(AsyncHttpClient):
    """An async ``HttpClient`` for ``twilio.rest.Client(http_client=...)``."""

    def __init__(self, *, timeout: float = 15.0, max_connections: int = 16) -> None:
        super().__init__(logger=log, is_async=True, timeout=timeout)
        self._client = httpx.AsyncClient(
            timeout=timeout, limits=httpx.Limits(max_connections=max_connections)
        )

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109  (the port's signature)
        allow_redirects: bool = False,
    ) -> Response:
        response = await self._client.request(
            method.upper(), url, params=params, data=data, headers=headers,
            auth=httpx.BasicAuth(*auth) if auth else None,
            timeout=timeout if timeout is not None else self.timeout,
            follow_redirects=allow_redirects,
        )
        return Response(response.status_code, response.text, response.headers)

    async def close(self) -> None:
        await self._client.aclose()
