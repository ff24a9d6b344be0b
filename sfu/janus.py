"""A client of the Janus WebRTC server's HTTP API (REST transport): sessions, handles, plugin messages.

Every call is one HTTP request any service process can make: a session or handle id is all it
takes to send a keepalive, a message or a hangup, so the ids live in the database (sfu.models) and
whichever process is alive keeps every session going. Asynchronous plugin requests (a publisher's
join, a viewer's watch) answer `ack` and deliver their event on the session's long poll, which
this client reads until the event of its own transaction arrives.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any

import httpx

logger = logging.getLogger(__name__)
NO_SUCH_SESSION = 458
NO_SUCH_HANDLE = 459


class JanusError(RuntimeError):
    """Janus refused a request (`code` is Janus's or its plugin's error code)."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code

    @property
    def gone(self) -> bool:
        """The session or handle no longer exists on the server."""
        return self.code in (NO_SUCH_SESSION, NO_SUCH_HANDLE)


class JanusClient:
    """Janus's REST API at `url` (e.g. http://127.0.0.1:8088/janus)."""

    def __init__(self, url: str, *, timeout: float = 15.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout, read=timeout + 35),
                                       limits=httpx.Limits(max_connections=200, max_keepalive_connections=50))

    async def close(self) -> None:
        await self._http.aclose()

    async def _post(self, path: str, message: dict[str, Any]) -> dict[str, Any]:
        message = {**message, "transaction": message.get("transaction") or secrets.token_hex(8)}
        try:
            response = await self._http.post(self.url + path, json=message)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise JanusError(f"the SFU at {self.url} cannot be reached: {exc}") from exc
        answer: dict[str, Any] = response.json()
        if answer.get("janus") == "error":
            err = answer.get("error", {})
            raise JanusError(str(err.get("reason", "error")), int(err.get("code", 0)))
        return answer

    async def info(self) -> dict[str, Any]:
        """The server's description (version, plugins, ICE-lite, ...)."""
        try:
            response = await self._http.get(self.url + "/info")
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise JanusError(f"the SFU at {self.url} cannot be reached: {exc}") from exc
        info: dict[str, Any] = response.json()
        return info

    async def create_session(self) -> int:
        return int((await self._post("", {"janus": "create"}))["data"]["id"])

    async def attach(self, session: int, plugin: str) -> int:
        return int((await self._post(f"/{session}", {"janus": "attach", "plugin": plugin}))["data"]["id"])

    async def keepalive(self, session: int) -> None:
        await self._post(f"/{session}", {"janus": "keepalive"})

    async def poll(self, session: int) -> list[dict[str, Any]]:
        """The session's next events (Janus answers within 30 s, with a `keepalive` when nothing happened).

        A poll does not keep the session alive (`keepalive` does). A poll given up before Janus
        answers would take the next event with it (Janus only notices the closed connection when it
        writes), so callers keep polling rather than poll briefly.
        """
        try:
            response = await self._http.get(f"{self.url}/{session}", params={"maxev": 100})
        except httpx.HTTPError as exc:
            raise JanusError(f"the SFU at {self.url} cannot be reached: {exc}") from exc
        if response.status_code == 404:  # Janus's answer to a poll of a session it does not have
            raise JanusError(f"no such session {session}", NO_SUCH_SESSION)
        try:
            events = response.json()
        except ValueError:
            raise JanusError(f"the SFU at {self.url} answered {response.status_code}") from None
        events = events if isinstance(events, list) else [events]
        for event in events:
            if event.get("janus") == "error":
                err = event.get("error", {})
                raise JanusError(str(err.get("reason", "error")), int(err.get("code", 0)))
        return [dict(e) for e in events]

    async def send(self, session: int, handle: int, body: dict[str, Any]) -> None:
        """A plugin request whose outcome is not awaited (its event goes to whoever polls the session)."""
        await self._post(f"/{session}/{handle}", {"janus": "message", "body": body})

    async def destroy(self, session: int) -> None:
        """End the session and everything on it (its PeerConnections hang up); gone already is fine."""
        try:
            await self._post(f"/{session}", {"janus": "destroy"})
        except JanusError as exc:
            if not exc.gone:
                raise

    async def request(self, session: int, handle: int, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous plugin request: its plugin data (an `error` in it raises)."""
        answer = await self._post(f"/{session}/{handle}", {"janus": "message", "body": body})
        return _plugin_data(answer)

    async def message(self, session: int, handle: int, body: dict[str, Any], jsep: dict[str, str] | None = None,
                      ) -> tuple[dict[str, Any], dict[str, str] | None]:
        """An asynchronous plugin request: the plugin data and JSEP of its event."""
        transaction = secrets.token_hex(8)
        message: dict[str, Any] = {"janus": "message", "body": body, "transaction": transaction}
        if jsep is not None:
            message["jsep"] = jsep
        answer = await self._post(f"/{session}/{handle}", message)
        if answer.get("janus") != "ack":
            return _plugin_data(answer), answer.get("jsep")
        event = await self._event(session, transaction)
        return _plugin_data(event), event.get("jsep")

    async def _event(self, session: int, transaction: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            try:
                response = await self._http.get(f"{self.url}/{session}", params={"maxev": 10})
                response.raise_for_status()
            except httpx.HTTPError as exc:
                raise JanusError(f"the SFU at {self.url} cannot be reached: {exc}") from exc
            events = response.json()
            for event in events if isinstance(events, list) else [events]:
                if event.get("janus") == "error":
                    err = event.get("error", {})
                    raise JanusError(str(err.get("reason", "error")), int(err.get("code", 0)))
                if event.get("transaction") == transaction and event.get("janus") == "event":
                    return dict(event)
            await asyncio.sleep(0)
        raise JanusError(f"the SFU did not answer within {self.timeout:g} s")


def _plugin_data(answer: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = answer.get("plugindata", {}).get("data", {})
    if "error" in data:
        raise JanusError(str(data["error"]), int(data.get("error_code", 0)))
    return data
