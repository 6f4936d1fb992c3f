"""WeCom media in: pictures and files of a message, downloaded, decrypted and kept.

What WeCom sends (doc 接收消息, developer.work.weixin.qq.com/document/path/100719; Node SDK
dist/types/message.d.ts): `image` and `file` messages (1:1 only) and the images of a `mixed`
message carry `{url}`, "五分钟内有效", the file encrypted with AES-256-CBC, PKCS#7-padded to a
multiple of 32 bytes, IV = the key's first 16 bytes. URL-callback mode encrypts with the
callback's EncodingAESKey; the long connection adds `aeskey` (base64, one per URL) to each
(Node SDK `decryptFile`, dist/index.cjs.js:841-878; Python SDK aibot/crypto_utils.py, which
also pads a key missing its "="). A `voice` message carries only WeCom's transcript
(`voice.content`), no sound. Files come up to 100 MB; the bot keeps at most MAX_BYTES.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import aiohttp
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.model import Attachment
from storage.files import save_media

log = logging.getLogger(__name__)

MAX_BYTES = 20 * 1024 * 1024  # what the bot keeps of one file
BLOCK = 32  # WeCom's PKCS#7 block
URL_KINDS = ("image", "file", "video")  # message types whose content is a download url
_FILENAME_UTF8 = re.compile(r"filename\*=UTF-8''([^;\s]+)", re.IGNORECASE)
_FILENAME = re.compile(r'filename="?([^";]+)"?', re.IGNORECASE)
_SUFFIX = re.compile(r"\.([A-Za-z0-9]{1,8})$")
_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpg"), (b"GIF8", "gif"),
               (b"%PDF", "pdf"))


class MediaError(Exception):
    """A file that could not be fetched or read (its message is kept without the copy)."""


@dataclass(frozen=True)
class MediaRef:
    """One downloadable file of a message: its kind, url, and (long connection) its key."""

    kind: str  # "image" | "file" | "video"
    url: str
    aeskey: str = ""


def media_refs(payload: Any) -> list[MediaRef]:
    """The files a message carries: an image, file or video message's one, a mixed
    message's images; nothing for text and voice (a transcript only)."""
    if not isinstance(payload, dict):
        return []
    kind = payload.get("msgtype")
    if kind in URL_KINDS:
        ref = _ref(kind, payload.get(kind))
        return [ref] if ref else []
    if kind == "mixed":
        mixed = payload.get("mixed")
        items = mixed.get("msg_item") if isinstance(mixed, dict) else None
        if not isinstance(items, list):
            return []
        refs = [_ref("image", i.get("image")) for i in items
                if isinstance(i, dict) and i.get("msgtype") == "image"]
        return [r for r in refs if r]
    return []


def _ref(kind: str, part: Any) -> MediaRef | None:
    url = part.get("url") if isinstance(part, dict) else None
    if not isinstance(url, str) or not url.strip():
        return None
    key = part.get("aeskey") if isinstance(part, dict) else None
    return MediaRef(kind, url.strip(), key if isinstance(key, str) else "")


def media_key(aeskey: str) -> bytes | None:
    """The 32-byte AES key in a base64 `aeskey` ("=" padding optional), else None."""
    text = aeskey.strip()
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if len(key) == 32 else None


def decrypt(data: bytes, key: bytes) -> bytes:
    """A downloaded file decrypted: AES-256-CBC, IV = key[:16], PKCS#7 to 32-byte blocks."""
    if not data or len(data) % 16:
        raise MediaError("encrypted file length is not a multiple of the AES block")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= BLOCK or pad > len(plain) or plain[-pad:] != bytes([pad]) * pad:
        raise MediaError("bad padding (wrong key?)")
    return plain[:-pad]


def file_name(disposition: str) -> str:
    """The file name a Content-Disposition header gives, as the SDKs read it."""
    found = _FILENAME_UTF8.search(disposition) or _FILENAME.search(disposition)
    if not found:
        return ""
    name = unquote(found.group(1)).replace("/", "_").replace("\\", "_").strip()
    return "".join(c for c in name if c.isprintable())[:200]


def suffix_of(data: bytes, name: str) -> str:
    """A file suffix for a kept copy: from the name, else from the bytes' signature."""
    found = _SUFFIX.search(name)
    if found:
        return found.group(1)
    return next((ext for sig, ext in _SIGNATURES if data.startswith(sig)), "bin")


class MediaIn:
    """Downloads a message's files before it is handled (WeCom's URLs live 5 minutes) and
    keeps them in the data folder; a failure keeps the reference only, with one warning."""

    def __init__(self, database: str, callback_key: bytes | None,
                 allowed: tuple[str, ...] = ("https://",), timeout: float = 20.0) -> None:
        self.database = database
        self.callback_key = callback_key  # URL-callback mode: the EncodingAESKey's key
        self.allowed = allowed  # URL prefixes the bot downloads from
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def keep(self, refs: list[MediaRef], msg_id: str) -> tuple[Attachment, ...]:
        """An attachment per file, with its kept copy where the download worked."""
        if not refs:
            return ()
        kept: list[Attachment] = []
        async with aiohttp.ClientSession(timeout=self.timeout) as session:
            for ref in refs:
                try:
                    data, name = await self._fetch(session, ref)
                    path = self._save(data, name)
                except MediaError as exc:
                    log.warning("wecom message %s: its %s was not kept (%s)", msg_id,
                                ref.kind, exc)
                    kept.append(Attachment(ref.kind, "", ref.url[:2000], ""))
                    continue
                kept.append(Attachment(ref.kind, name, ref.url[:2000], path))
        return tuple(kept)

    def _save(self, data: bytes, name: str) -> str:
        try:
            return save_media(self.database, data, suffix_of(data, name))
        except OSError as exc:  # a full or read-only disk: the message is still handled
            raise MediaError(f"cannot be saved: {type(exc).__name__}") from None

    async def _fetch(self, session: aiohttp.ClientSession, ref: MediaRef) -> tuple[bytes, str]:
        if not ref.url.startswith(self.allowed):
            raise MediaError("not a download URL")
        key = media_key(ref.aeskey) if ref.aeskey else self.callback_key
        if ref.aeskey and key is None:
            raise MediaError("unreadable aeskey")
        try:
            async with session.get(ref.url) as resp:
                if resp.status != 200:
                    raise MediaError(f"HTTP {resp.status}")
                if (resp.content_length or 0) > MAX_BYTES + BLOCK:
                    raise MediaError("larger than 20 MB")
                data = await resp.content.read(MAX_BYTES + BLOCK + 1)
                name = file_name(resp.headers.get("Content-Disposition", ""))
        except (aiohttp.ClientError, TimeoutError, ValueError, OSError) as exc:
            raise MediaError(type(exc).__name__) from None
        if len(data) > MAX_BYTES + BLOCK:
            raise MediaError("larger than 20 MB")
        if key is None:  # the long connection without a key: as the SDKs do, kept as sent
            return data, name
        return decrypt(data, key), name
