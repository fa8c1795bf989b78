"""ASGI middleware for the public API: a request-body limit and security headers."""

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..i18n import negotiate, translate


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` under ``prefix`` with 413, declared or streamed;
    paths under ``exempt`` (the document uploads, which have their own limit) pass."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        prefix: str | tuple[str, ...],
        exempt: tuple[str, ...] = (),
    ) -> None:
        self.app, self.max_bytes, self.prefix, self.exempt = app, max_bytes, prefix, exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        if not path.startswith(self.prefix) or path.startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._too_large(scope, receive, send)
            return
        # Read the body up front (it is small by then) so a lying or chunked sender is caught too.
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body, sent = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        # the body is not read, so only Accept-Language can say the language of the message
        accept = dict(scope["headers"]).get(b"accept-language", b"").decode("latin-1")
        message = translate(
            negotiate("", accept),
            "The request is too large (limit {kib} KiB).",
            kib=self.max_bytes // 1024,
        )
        response = JSONResponse({"error": "too_large", "message": message}, 413)
        await response(scope, receive, send)


class SecurityHeadersMiddleware:
    """``frame-ancestors`` on every HTML page (unless it sets its own CSP), and ``nosniff``."""

    def __init__(self, app: ASGIApp, *, frame_ancestors: str) -> None:
        self.app, self.csp = app, frame_ancestors.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                html = dict(headers).get(b"content-type", b"").startswith(b"text/html")
                if html and b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", self.csp))
                if b"x-content-type-options" not in names:
                    headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"strict-origin-when-cross-origin"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
