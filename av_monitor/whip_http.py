"""The HTTP side of WHIP/WHEP that is not media: CORS for other origins' pages, ICE server links, PATCH.

RFC 9725 (WHIP) and WHEP: a page on another origin publishes or views after a CORS preflight, so
the endpoints and their session resources answer preflights for the origins in
`webrtc_cors_origins` (none by default: same-origin pages only) and expose `Location`, `Link` and
`ETag` to scripts. Credentials are the bearer token in `Authorization`; cookies are not allowed
across origins, so a foreign page cannot ride on a logged-in console session. The 201 answer lists
the ICE servers as `Link: <url>; rel="ice-server"` headers (TURN with its username and credential),
so a client with no configuration of its own uses the same STUN/TURN as the service.
"""

from __future__ import annotations

import re

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from config.settings import Settings

# The WHIP/WHEP endpoints and their session resources (nothing else gets CORS headers).
ENDPOINT = re.compile(r"^/api/(rooms/[^/]+/(whip|whep)|watch/[^/]+/whep)(/[^/]+)?$")
METHODS: tuple[str, ...] = ("OPTIONS", "POST", "DELETE", "PATCH")
REQUEST_HEADERS: tuple[str, ...] = ("Authorization", "Content-Type", "If-Match")
EXPOSED: tuple[str, ...] = ("Location", "Link", "ETag", "Accept-Post", "Allow")
ENDPOINT_ALLOW = "OPTIONS, POST"
RESOURCE_ALLOW = "OPTIONS, DELETE"


class WhipCors:
    """ASGI middleware: Starlette's CORS handling for the WHIP/WHEP paths only."""

    def __init__(self, app: ASGIApp, *, origins: list[str], max_age: int = 600) -> None:
        self.app = app
        self.cors = CORSMiddleware(app, allow_origins=origins, allow_methods=METHODS,
                                   allow_headers=REQUEST_HEADERS, expose_headers=EXPOSED,
                                   allow_credentials=False, max_age=max_age)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and ENDPOINT.match(scope.get("path", "")):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def ice_links(settings: Settings) -> list[str]:
    """One `Link` header value per configured STUN/TURN server (RFC 9725, section 4.6)."""
    links = []
    for url in settings.webrtc_ice_servers:
        link = f'<{url}>; rel="ice-server"'
        if url.startswith(("turn:", "turns:")):
            credential = settings.webrtc_turn_credential.get_secret_value()
            link += (f"; username={_quoted(settings.webrtc_turn_username)}; credential={_quoted(credential)}"
                     '; credential-type="password"')
        links.append(link)
    return links
