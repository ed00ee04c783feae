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

DEFAULT_RETRY_AFTER = 1.0
"""Seconds to hold all texts back after a 429 that does not say how long."""


class TooManyRequests(Exception):
    """Twilio answered 429: every text waits ``retry_after`` seconds, not just this one.

    Raised here, where the response's headers are still at hand (the twilio library's own
    exceptions drop them), so the dispatcher can pause the whole SMS channel."""

    def __init__(self, retry_after: float, body: str) -> None:
        super().__init__(f"Twilio 429 Too Many Requests: {body[:200]}")
        self.retry_after = retry_after


def retry_after_seconds(value: str | None) -> float:
    """A ``Retry-After`` header in seconds; an absent or unreadable one waits a second."""
    try:
        seconds = float(value) if value is not None else DEFAULT_RETRY_AFTER
    except ValueError:
        return DEFAULT_RETRY_AFTER
    return seconds if 0 < seconds <= 3600 else DEFAULT_RETRY_AFTER


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
        if response.status_code == 429:
            raise TooManyRequests(retry_after_seconds(response.headers.get("Retry-After")),
                                  response.text)
        return Response(response.status_code, response.text, response.headers)

    async def close(self) -> None:
        await self._client.aclose()
