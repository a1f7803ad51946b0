"""An ASGI middleware that bounds request bodies: the HR API and the terminal panel both install it.

A request whose Content-Length is over its route's limit is answered 413 before the app sees it (nothing
is read); a body sent without a length (chunked) is counted as it streams, and the moment it passes the
limit the middleware answers 413 itself, tells the app the client has gone (``http.disconnect``) and
drops whatever the app still tries to send. The app's own, finer checks (a per-photo limit, a form's
field count) run on bodies within the limit.

Starlette and FastAPI have had a body limit of their own only since recent releases; this one works with
every version the project allows and answers in each app's own error shape (``refuse``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Bodies of JSON requests and small forms: far more than any of them needs.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class RouteLimit:
    """``max_bytes`` for requests with ``method`` whose path matches ``path`` (a regular expression)."""

    method: str
    path: str
    max_bytes: int

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and re.fullmatch(self.path, path) is not None


#: (limit in bytes) -> (content type, body) of the 413 answer.
Refusal = Callable[[int], tuple[str, bytes]]


def plain_refusal(limit: int) -> tuple[str, bytes]:
    text = (f"The request body is larger than {_size(limit)}, the most this address accepts. "
            "Send less at a time (fewer or smaller files).")
    return "text/plain; charset=utf-8", text.encode("utf-8")


class BodyLimit:
    """Pure ASGI middleware: ``app.add_middleware(BodyLimit, default=..., routes=[...], refuse=...)``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        default: int = DEFAULT_MAX_BODY_BYTES,
        routes: Sequence[RouteLimit] = (),
        refuse: Refusal = plain_refusal,
    ) -> None:
        self.app, self.default, self.routes, self.refuse = app, default, tuple(routes), refuse

    def limit_for(self, method: str, path: str) -> int:
        return next((r.max_bytes for r in self.routes if r.matches(method, path)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        length = _content_length(scope)
        if length is not None and length > limit:
            await self._answer(send, limit)
            return
        state = {"received": 0, "answered": False, "started": False}

        async def counted_receive() -> Message:
            if state["answered"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    if state["started"]:  # the app answered already: only cut the body off
                        return {"type": "http.disconnect"}
                    state["answered"] = True
                    await self._answer(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if state["answered"]:
                return  # the 413 went out; what the app says after the "disconnect" goes nowhere
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not state["answered"]:
                raise
            # The app stumbled over the cut-off body after the 413 was sent: nothing is lost.
            log.debug("request body over %d bytes cut off at %s", limit, scope["path"], exc_info=True)

    async def _answer(self, send: Send, limit: int) -> None:
        content_type, body = self.refuse(limit)
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", content_type.encode("latin-1")),
                                (b"content-length", str(len(body)).encode("ascii")),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


def _size(limit: int) -> str:
    mib = 1024 * 1024
    return f"{limit // mib} MiB" if limit >= mib and limit % mib == 0 else f"{limit} bytes"
