"""Per-token rate limits on ``/api/v1`` with RateLimit headers and 429 problems.

Headers follow draft-ietf-httpapi-ratelimit-headers (structured fields, RFC 9651):
``RateLimit-Policy: "token";q=600;w=60`` announces the quota ``q`` per window ``w``
seconds; ``RateLimit: "token";r=598;t=1`` gives what remains (``r``) and the seconds
until the bucket is full again (``t``). Over the limit the answer is 429 Too Many
Requests (RFC 6585 §4) as an RFC 9457 problem with ``Retry-After`` (RFC 9110 §10.2.3).
Requests without a bearer token are not counted here (the public verification
endpoints have their own per-address limit).
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medsign.ratelimit.bucket import Decision, TokenBuckets
from medsign.runtime import Runtime
from medsign.web.problems import problem

POLICY = "token"
PURPOSE = "ratelimit"


def _fields(decision: Decision) -> tuple[str, str]:
    return (
        f'"{POLICY}";q={decision.quota};w={decision.window}',
        f'"{POLICY}";r={decision.remaining};t={decision.reset}',
    )


LIMITED_PREFIXES = ("/api/v1/", "/device/v1/")


class RateLimitMiddleware:
    """Counts each authenticated API request against its token's bucket."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.rt = runtime
        self.buckets: TokenBuckets | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        # API tokens on /api/v1, device tokens on the device API (issue [clinician]).
        if scope["type"] != "http" or not str(scope["path"]).startswith(LIMITED_PREFIXES):
            await self.app(scope, receive, send)
            return
        scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            await self.app(scope, receive, send)
            return
        if self.buckets is None:
            self.buckets = TokenBuckets(self.rt.settings.api_rate_per_minute, 60)
        decision = self.buckets.take(self.rt.keyring.hash(PURPOSE, token))
        policy, state = _fields(decision)
        if not decision.allowed:
            response = problem(
                429,
                "too-many-requests",
                "Too many requests",
                f"This token may make {decision.quota} requests per {decision.window} s; "
                f"try again in {decision.retry_after} s.",
                retry_after=decision.retry_after,
            )
            response.headers["RateLimit-Policy"] = policy
            response.headers["RateLimit"] = state
            await response(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["RateLimit-Policy"] = policy
                headers["RateLimit"] = state
            await send(message)

        await self.app(scope, receive, with_headers)
