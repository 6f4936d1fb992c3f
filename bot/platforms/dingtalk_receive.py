"""DingTalk Stream mode: the `dingtalk-stream` SDK's client, run in its own thread and loop.

The SDK (0.24.3) supplies the client class, the credential, the frame and ACK types and the
host-ip probe. Three of its client methods are left unused because they cannot serve as shipped:
`start()` swallows cancellation, waits a fixed 10 s between attempts and logs the ticket;
`open_connection()` makes a blocking call without timeout to an endpoint fixed at import time
(env DINGTALK_OPENAPI_ENDPOINT); `route_message()` never ACKs a frame it cannot parse or route,
and it ACKs a robot message only once its handler has returned. `run()`, `open_stream()` and
`handle_frame()` take their place: the endpoint follows `[dingtalk] api_base`, reconnects back off
exponentially with jitter, and every frame is ACKed within milliseconds. DingTalk never pushes a
robot message again (fire-and-forget, see the protocol FAQ), so a robot message is ACKed as soon
as the bot has stored it, and ACKed even when it could not be: not ACKing would save nothing.
The client lives in one thread with its own event loop, so nothing it does can stall the bot's
loop; each usable message is handed over through a callback.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import platform as pyplatform
import random
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

import aiohttp
import dingtalk_stream
import websockets
from dingtalk_stream.frames import AckMessage, Headers
from websockets.asyncio.client import ClientConnection, connect

from bot.platforms.dingtalk_cards import CARD_TOPIC
from bot.platforms.dingtalk_inbound import BOT_TOPIC
from bot.web.jsonbody import BadRequest, parse_json

log = logging.getLogger(__name__)

OPEN_PATH = "/v1.0/gateway/connections/open"
DISCONNECT = "disconnect"
OPEN_TIMEOUT_SECONDS = 10.0
STORE_WAIT_SECONDS = 5.0  # a robot message not stored by then is ACKed all the same
CARD_ANSWER_SECONDS = 2.5  # a card press not handled by then is answered without a new card

# Given a robot message in the stream thread, starts storing it and returns a future that tells
# (True) once it is stored, or False when it could not be; None when nothing is being stored.
OnMessage = Callable[[dict[str, Any]], "concurrent.futures.Future[bool] | None"]
# Given a card callback's data and its stream messageId, starts handling the press and returns
# a future of the `response` to ACK it with (the card's new data), or None.
OnCard = Callable[[dict[str, Any], str], "concurrent.futures.Future[dict[str, Any]] | None"]


class OpenFailed(Exception):
    """The gateway refused to open a connection (bad credentials, server trouble)."""


class StreamClient(dingtalk_stream.DingTalkStreamClient):  # type: ignore[misc]
    """The SDK's client with a stoppable, backing-off connection loop; a robot message is
    ACKed once the bot has stored it, every other frame at once."""

    def __init__(self, *, endpoint: str, client_id: str, client_secret: str,
                 on_message: OnMessage, on_card: OnCard | None = None,
                 backoff: tuple[float, float] = (1.0, 60.0)) -> None:
        super().__init__(dingtalk_stream.Credential(client_id, client_secret), logger=log)
        self.websocket: ClientConnection | None = None
        self.endpoint = endpoint.rstrip("/")
        self.on_message = on_message
        self.on_card = on_card
        self._answering: set[asyncio.Task[None]] = set()  # card presses awaiting their ACK
        self.backoff = backoff
        self.stopping = threading.Event()
        self.connected = threading.Event()  # set while a websocket is open (tests wait on it)
        self.connections = 0  # websockets opened so far

    async def run(self) -> None:
        """Connect, serve frames, reconnect after any failure, until cancelled or stopped."""
        try:
            await self._connect_loop()
        finally:  # presses awaiting their answer end with the stream
            for task in self._answering:
                task.cancel()
            await asyncio.gather(*self._answering, return_exceptions=True)

    async def _connect_loop(self) -> None:
        base, cap = self.backoff
        delay = base
        async with aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=OPEN_TIMEOUT_SECONDS)) as http:
            while not self.stopping.is_set():
                served = asked = False
                try:
                    uri = await self.open_stream(http)
                    async with connect(uri, open_timeout=OPEN_TIMEOUT_SECONDS,
                                       close_timeout=2, max_size=4 * 1024 * 1024) as ws:
                        served = True
                        asked = await self.serve(ws)
                    if not asked:
                        log.info("DingTalk stream closed by the server")
                except asyncio.CancelledError:
                    raise
                except (OpenFailed, OSError, TimeoutError, aiohttp.ClientError,
                        websockets.exceptions.WebSocketException) as exc:
                    log.warning("DingTalk stream: %s", _describe(exc))
                except Exception:
                    log.exception("DingTalk stream: unexpected error")
                finally:
                    self.connected.clear()
                    self.websocket = None
                if self.stopping.is_set():
                    break
                if asked:  # DingTalk asked for a new connection: reconnect at once
                    delay = base
                    continue
                delay = base if served else delay
                wait = delay * random.uniform(0.8, 1.2)
                log.info("DingTalk stream: reconnecting in %.1f s", wait)
                await asyncio.sleep(wait)
                delay = min(delay * 2, cap)

    async def open_stream(self, http: aiohttp.ClientSession) -> str:
        """Ask the gateway for an endpoint and a single-use ticket; the websocket URI."""
        body = {
            "clientId": self.credential.client_id,
            "clientSecret": self.credential.client_secret,
            "subscriptions": [{"type": "CALLBACK", "topic": topic} for topic in (
                BOT_TOPIC, *([CARD_TOPIC] if self.on_card else []))],
            "ua": f"diandan-bot dingtalk-stream/{_sdk_version()} "
                  f"Python/{pyplatform.python_version()}",
            "localIp": self.get_host_ip(),  # a UDP connect: sends nothing, never blocks
        }
        async with http.post(self.endpoint + OPEN_PATH, json=body) as resp:
            raw = await resp.read()
            status = resp.status
        try:
            data = parse_json(raw or b"{}")
        except BadRequest:
            data = {}
        if status != 200 or not isinstance(data, dict):
            code = data.get("code", "") if isinstance(data, dict) else ""
            raise OpenFailed(f"connection open refused: HTTP {status} {code}".rstrip())
        endpoint, ticket = data.get("endpoint"), data.get("ticket")
        if not isinstance(endpoint, str) or not isinstance(ticket, str) or not ticket:
            raise OpenFailed("connection open answered without endpoint or ticket")
        log.info("DingTalk stream: connecting to %s", endpoint)
        return f"{endpoint}?ticket={quote_plus(ticket)}"

    async def serve(self, ws: ClientConnection) -> bool:
        """Read frames until the server closes (False) or asks us to reconnect (True)."""
        self.websocket = ws
        self.connections += 1
        self.connected.set()
        log.info("DingTalk stream connected")
        async for raw in ws:
            if await self.handle_frame(raw) == DISCONNECT:
                log.info("DingTalk stream: server asked to reconnect")
                return True
        return False

    async def handle_frame(self, raw: Any) -> str:
        """ACK one frame: a robot message once it is handed over and stored, anything else at
        once. Returns DISCONNECT when the server asks for a new connection."""
        try:
            if not isinstance(raw, str | bytes):
                raise BadRequest(400, "not text")
            frame = parse_json(raw)
        except BadRequest as exc:
            log.warning("DingTalk stream: unreadable frame skipped (%s)", exc.message)
            return ""
        if not isinstance(frame, dict):
            log.warning("DingTalk stream: frame is not an object; skipped")
            return ""
        found = frame.get("headers")
        headers: dict[str, Any] = found if isinstance(found, dict) else {}
        kind, topic = frame.get("type"), headers.get("topic")
        message_id = headers.get("messageId")
        data = _decode(frame.get("data"))
        if kind == "SYSTEM":
            await self._ack(message_id, data if data is not None else {})
            return DISCONNECT if topic == DISCONNECT else ""
        if kind == "CALLBACK" and topic == CARD_TOPIC and self.on_card is not None:
            pending = self.on_card(data, _text(message_id)) if isinstance(data, dict) else None
            task = asyncio.create_task(self._answer(message_id, pending))  # frames go on
            self._answering.add(task)
            task.add_done_callback(self._answering.discard)
            return ""
        # Even while stopping: DingTalk would not push the frame again (fire-and-forget).
        if kind != "CALLBACK" or topic != BOT_TOPIC:
            log.info("DingTalk stream: %.40r frame on topic %.80r skipped", kind, topic)
        elif not isinstance(data, dict):
            log.warning("DingTalk stream: message %.64r without a readable JSON object; skipped",
                        message_id)
        else:
            await self._stored(self.on_message(data), data)
        await self._ack(message_id, {"response": "OK"})
        return ""

    async def _stored(self, stored: concurrent.futures.Future[bool] | None,
                      data: dict[str, Any]) -> None:
        """Wait (bounded) until the bot has stored a robot message."""
        if stored is None:
            return
        try:
            async with asyncio.timeout(STORE_WAIT_SECONDS):
                await asyncio.shield(asyncio.wrap_future(stored))
        except TimeoutError:
            log.warning("DingTalk message %.64r not stored within %.0f s; acknowledged anyway",
                        data.get("msgId"), STORE_WAIT_SECONDS)

    async def _answer(self, message_id: Any,
                      pending: concurrent.futures.Future[dict[str, Any]] | None) -> None:
        """ACK a card press with the card's new data once the press is handled, or with
        nothing to change when it takes too long (the cards are refreshed after)."""
        answer: dict[str, Any] = {}
        if pending is not None:
            try:
                async with asyncio.timeout(CARD_ANSWER_SECONDS):
                    answer = await asyncio.shield(asyncio.wrap_future(pending))
            except TimeoutError:
                log.info("DingTalk card press not handled within %.1f s; answered without a "
                         "new card", CARD_ANSWER_SECONDS)
            except Exception as exc:  # the press failed on the bot's loop (logged there)
                log.info("DingTalk card press answered without a new card: %s",
                         type(exc).__name__)
        with contextlib.suppress(websockets.exceptions.WebSocketException, OSError):
            await self._ack(message_id, {"response": answer})

    async def _ack(self, message_id: Any, data: Any) -> None:
        ack = AckMessage()
        ack.code = AckMessage.STATUS_OK
        ack.headers.message_id = message_id if isinstance(message_id, str) else ""
        ack.headers.content_type = Headers.CONTENT_TYPE_APPLICATION_JSON
        ack.data = data
        if self.websocket is not None:
            await self.websocket.send(json.dumps(ack.to_dict(), ensure_ascii=False))


class StreamReceiver:
    """Runs a StreamClient in a daemon thread with its own event loop; start() and stop()."""

    def __init__(self, client: StreamClient) -> None:
        self.client = client
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="dingtalk-stream", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> bool:
        """Close the stream and wait for the thread (blocking: call it via asyncio.to_thread).
        Returns whether the thread ended in time."""
        self.client.stopping.set()
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the loop may have closed already
                loop.call_soon_threadsafe(task.cancel)
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._task = loop.create_task(self.client.run())
            if self.client.stopping.is_set():
                self._task.cancel()
            loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("DingTalk stream thread failed")
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()
        log.info("DingTalk stream stopped")


def _decode(data: Any) -> Any:
    """A frame's `data`: a JSON string (decoded, see `parse_json`), or None when it is not
    readable."""
    if not isinstance(data, str):
        return data if isinstance(data, dict) else None
    try:
        return parse_json(data)
    except BadRequest:
        return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _describe(exc: BaseException) -> str:
    text = str(exc)
    if "ticket=" in text:  # never log a ticket (a websockets error may quote the URI)
        text = text.split("ticket=")[0] + "ticket=…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _sdk_version() -> str:
    try:
        from dingtalk_stream.version import VERSION_STRING
    except ImportError:  # pragma: no cover
        return "unknown"
    return str(VERSION_STRING)
