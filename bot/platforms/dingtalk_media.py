"""DingTalk pictures and files: inbound ones downloaded and kept, outbound ones uploaded.

In: a message's downloadCode is exchanged for a temporary link (POST
/v1.0/robot/messageFiles/download {robotCode, downloadCode} → {downloadUrl}), whose bytes are
kept in the data folder's media copies. Out: a file is uploaded (oapi media/upload, multipart)
and its media_id sent as a robot message (msgKey sampleImageMsg {photoURL} or sampleFile
{mediaId, fileName, fileType}). Limits from DingTalk's media upload page: images jpg, gif, png,
bmp and files doc(x), xls(x), ppt(x), zip, pdf, rar, 20 MB each.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace
from pathlib import PurePath

from bot.model import Attachment, Incoming
from bot.platforms.base import SendError
from bot.platforms.dingtalk_api import DingTalkApi
from storage.files import save_media

log = logging.getLogger(__name__)

DOWNLOAD_PATH = "/v1.0/robot/messageFiles/download"
MAX_BYTES = 20 * 1024 * 1024  # DingTalk's own limit for images, videos and files
DOWNLOAD_SECONDS = 30.0
IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "bmp": "image/bmp"}
FILE_TYPES = frozenset({"doc", "docx", "xls", "xlsx", "ppt", "pptx", "zip", "pdf", "rar"})
_MAGIC = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpg"), (b"GIF8", "gif"),
          (b"BM", "bmp"), (b"%PDF", "pdf"), (b"#!AMR", "amr"), (b"PK\x03\x04", "zip"),
          (b"Rar!", "rar"), (b"RIFF", "wav"), (b"ID3", "mp3"))


def sniff(data: bytes, name: str = "") -> str:
    """A file's type (its usual suffix) from its first bytes, else from its name."""
    for magic, suffix in _MAGIC:
        if data.startswith(magic):
            if suffix == "zip" and _ext(name) in ("docx", "xlsx", "pptx"):
                return _ext(name)  # Office files are zip files
            return suffix
    if data[4:8] == b"ftyp":
        return "mp4"
    return _ext(name)


def _ext(name: str) -> str:
    suffix = PurePath(name).suffix.lower().lstrip(".")
    return suffix if suffix.isascii() and suffix.isalnum() and len(suffix) <= 8 else ""


def image_message(media_id: str) -> tuple[str, str]:
    """(msgKey, msgParam) of a picture; photoURL takes a media_id (robot message types)."""
    return "sampleImageMsg", json.dumps({"photoURL": media_id})


def file_message(media_id: str, name: str, kind: str) -> tuple[str, str]:
    """(msgKey, msgParam) of a file."""
    return "sampleFile", json.dumps({"mediaId": media_id, "fileName": name, "fileType": kind},
                                    ensure_ascii=False)


class Media:
    """Downloads what users send and uploads what the bot sends."""

    def __init__(self, api: DingTalkApi, robot_code: str, database: str) -> None:
        self.api = api
        self.robot_code = robot_code
        self.database = database

    # -- in ---------------------------------------------------------------------------------

    async def keep(self, msg: Incoming, robot_code: str = "") -> Incoming:
        """The message with a kept copy of each attachment it could download; one warning
        names what could not be (those keep their downloadCode only)."""
        kept: list[Attachment] = []
        failed: list[str] = []
        for attachment in msg.attachments:
            if attachment.path or not attachment.ref:
                kept.append(attachment)
                continue
            try:
                async with asyncio.timeout(DOWNLOAD_SECONDS):  # a stop is never lost
                    path = await self._download(attachment, robot_code)
            except (SendError, ValueError, OSError, TimeoutError) as exc:
                failed.append(f"{attachment.kind}: {str(exc)[:120] or type(exc).__name__}")
                kept.append(attachment)
                continue
            kept.append(replace(attachment, path=path))
        if failed:
            log.warning("DingTalk message %s: %d attachment(s) not downloaded, kept by their "
                        "download code only (%s)", msg.msg_id, len(failed), "; ".join(failed))
        return replace(msg, attachments=tuple(kept))

    async def _download(self, attachment: Attachment, robot_code: str) -> str:
        answer = await self.api.openapi(DOWNLOAD_PATH, {
            "robotCode": robot_code or self.robot_code, "downloadCode": attachment.ref})
        url = answer.get("downloadUrl")
        if not isinstance(url, str) or not url:
            raise ValueError("no downloadUrl in the answer")
        data = await self.api.fetch(url, MAX_BYTES)
        if not data:
            raise ValueError("empty file")
        suffix = sniff(data, attachment.name) or {"image": "jpg", "video": "mp4"}.get(
            attachment.kind, "")
        return await asyncio.to_thread(save_media, self.database, data, suffix)

    # -- out --------------------------------------------------------------------------------

    async def picture(self, png: bytes, name: str) -> tuple[str, str]:
        """Upload a picture; the (msgKey, msgParam) that shows it."""
        kind = sniff(png) or "png"
        if kind not in IMAGE_TYPES or len(png) > MAX_BYTES:
            raise SendError(f"picture of type {kind or '?'} and {len(png)} bytes not sendable",
                            permanent=True)
        media_id = await self.api.upload("image", f"{_stem(name)}.{kind}", png,
                                         IMAGE_TYPES[kind])
        return image_message(media_id)

    async def attachment(self, attachment: Attachment,
                         data: bytes) -> tuple[str, str] | None:
        """Upload an order's attachment; the message that forwards it, or None when DingTalk
        takes no such file from a robot (voice, video, other formats: the text says so)."""
        kind = sniff(data, attachment.name)
        if not data or len(data) > MAX_BYTES:
            return None
        if attachment.kind == "image" and kind in IMAGE_TYPES:
            return await self.picture(data, attachment.name or "picture")
        if attachment.kind == "file" and kind in FILE_TYPES:
            name = attachment.name if _ext(attachment.name) == kind else f"附件.{kind}"
            media_id = await self.api.upload("file", name, data, "application/octet-stream")
            return file_message(media_id, name, kind)
        return None


def _stem(name: str) -> str:
    stem = PurePath(name).stem
    return stem if stem and len(stem) <= 60 else "picture"
