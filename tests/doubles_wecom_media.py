"""The WeCom double's media: encrypted downloads of what users send, uploads of what the bot sends.

As WeCom's docs and SDKs describe them (see /work/notes/platforms_wecom_cards_media.md):
- image and file messages (1:1 only) and a mixed message's images carry a `url` that works
  for five minutes and serves the file encrypted with AES-256-CBC (PKCS#7 to 32-byte blocks,
  IV = key[:16]): with the callback's EncodingAESKey in URL-callback mode, with the `aeskey`
  beside the url (one per url, base64) on the long connection — doc 接收消息 (100719), Node SDK
  message.d.ts and decryptFile; a voice message carries only its transcript;
- the long connection uploads media in three steps (init → chunks of at most 512 KB, at most
  100, indexed from 0 → finish, which gives a media_id valid 3 days) — Node SDK uploadMedia;
  image and file messages then carry only `{media_id}` (a url or base64 is refused with 40058,
  an unknown media_id with 40007: a real-device probe published on GitHub, see the notes);
  size limits as for WeCom's other temporary media (doc 上传临时素材, 96484).
Other error codes are assumed."""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import math
import os
import secrets
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

from aiohttp import web
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.platforms.wecom_crypto import WeComCrypto

URL_SECONDS = 300.0  # a download url works for five minutes
MEDIA_ID_SECONDS = 3 * 24 * 3600.0
CHUNK = 512 * 1024
MAX_CHUNKS = 100
LIMITS = {"image": 10 * 1024 * 1024, "voice": 2 * 1024 * 1024, "video": 10 * 1024 * 1024,
          "file": 20 * 1024 * 1024}
BAD_PARAM, BAD_MEDIA_ID = 40058, 40007
PICTURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


def encrypt_media(data: bytes, key: bytes) -> bytes:
    """A file as WeCom serves it: AES-256-CBC, IV = key[:16], PKCS#7 padded to 32 bytes."""
    pad = 32 - len(data) % 32
    plain = data + bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return encryptor.update(plain) + encryptor.finalize()


@dataclass
class _File:
    data: bytes  # as served: encrypted
    issued: float
    name: str


@dataclass
class _Upload:
    kind: str
    filename: str
    size: int
    total: int
    md5: str
    chunks: dict[int, bytes] = field(default_factory=dict)


@dataclass
class Uploaded:
    """A finished upload: what the bot sent as a picture or file."""

    kind: str
    filename: str
    data: bytes
    at: float


class _Clock(Protocol):
    def now(self) -> float: ...


class MediaSide:
    """Media in WeComDouble (which supplies the clock, the crypto, the mode and `base`)."""

    clock: _Clock
    crypto: WeComCrypto
    mode: str  # "callback" or "websocket": how the bot receives
    _ids: itertools.count[int]

    @property
    def base(self) -> str:
        raise NotImplementedError

    def init_media(self) -> None:
        self.files: dict[str, _File] = {}
        self.downloads = 0
        self.uploads: dict[str, _Upload] = {}
        self.media: dict[str, Uploaded] = {}  # media_id → the upload

    # -- what users send -------------------------------------------------------------------

    def media_part(self, data: bytes, name: str = "") -> dict[str, str]:
        """The `{url}` (and on the long connection `aeskey`) of one file a user sends."""
        token = secrets.token_hex(8)
        part: dict[str, str] = {}
        if self.mode == "websocket":
            key = os.urandom(32)
            part["aeskey"] = base64.b64encode(key).decode("ascii").rstrip("=")
        else:
            key = self.crypto.media_key
        self.files[token] = _File(encrypt_media(data, key), self.clock.now(), name)
        part["url"] = f"{self.base}/media/{token}?sign=q-sign-{secrets.token_hex(6)}"
        return {"url": part["url"], **({"aeskey": part["aeskey"]} if "aeskey" in part else {})}

    async def _media(self, request: web.Request) -> web.Response:
        found = self.files.get(request.match_info["token"])
        if found is None:
            return web.Response(status=404)
        if self.clock.now() - found.issued > URL_SECONDS:
            return web.Response(status=403, text="Request has expired")
        self.downloads += 1
        headers = {}
        if found.name:
            headers["Content-Disposition"] = (
                f"attachment; filename*=UTF-8''{quote(found.name, safe='')}")
        return web.Response(body=found.data, headers=headers,
                            content_type="application/octet-stream")

    # -- what the bot sends ----------------------------------------------------------------

    def upload_step(self, cmd: str, body: Any) -> tuple[int, dict[str, Any] | None]:
        """One aibot_upload_media_* frame: its errcode and the ack's body."""
        if not isinstance(body, dict):
            return BAD_PARAM, None
        if cmd == "aibot_upload_media_init":
            return self._init(body)
        upload = self.uploads.get(str(body.get("upload_id")))
        if upload is None:
            return BAD_PARAM, None
        if cmd == "aibot_upload_media_chunk":
            return self._chunk(upload, body), None
        data = b"".join(upload.chunks.get(i, b"") for i in range(upload.total))
        if (len(upload.chunks) != upload.total or len(data) != upload.size
                or hashlib.md5(data).hexdigest() != upload.md5
                or (upload.kind == "image" and not data.startswith(PICTURES))):
            return BAD_PARAM, None
        del self.uploads[str(body["upload_id"])]
        media_id = secrets.token_urlsafe(64)
        self.media[media_id] = Uploaded(upload.kind, upload.filename, data, self.clock.now())
        return 0, {"type": upload.kind, "media_id": media_id,
                   "created_at": int(self.clock.now())}

    def _init(self, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        kind, size, total = body.get("type"), body.get("total_size"), body.get("total_chunks")
        if (kind not in LIMITS or not isinstance(body.get("filename"), str)
                or not body["filename"] or not isinstance(size, int) or isinstance(size, bool)
                or not 5 < size <= LIMITS[str(kind)] or not isinstance(total, int)
                or not math.ceil(size / CHUNK) <= total <= MAX_CHUNKS
                or not isinstance(body.get("md5"), str)):
            return BAD_PARAM, None
        upload_id = secrets.token_hex(16)
        self.uploads[upload_id] = _Upload(str(kind), body["filename"], size, total, body["md5"])
        return 0, {"upload_id": upload_id}

    def _chunk(self, upload: _Upload, body: dict[str, Any]) -> int:
        index = body.get("chunk_index")
        if (not isinstance(index, int) or isinstance(index, bool)
                or not 0 <= index < upload.total or index in upload.chunks):
            return BAD_PARAM
        try:
            chunk = base64.b64decode(str(body.get("base64_data")), validate=True)
        except (binascii.Error, ValueError):
            return BAD_PARAM
        if not chunk or len(chunk) > CHUNK:
            return BAD_PARAM
        upload.chunks[index] = chunk
        return 0

    def media_message(self, body: dict[str, Any]) -> int:
        """The errcode for an image or file message the bot sends or replies with."""
        kind = body.get("msgtype")
        part = body.get(kind) if isinstance(kind, str) else None
        media_id = part.get("media_id") if isinstance(part, dict) else None
        if not isinstance(media_id, str):
            return BAD_PARAM  # "missing field `body.image.media_id`" for a url or base64
        found = self.media.get(media_id)
        if (found is None or found.kind != kind
                or self.clock.now() - found.at > MEDIA_ID_SECONDS):
            return BAD_MEDIA_ID
        return 0

    def sent_media(self) -> list[Uploaded]:
        """Every picture or file the bot uploaded, in order."""
        return list(self.media.values())
