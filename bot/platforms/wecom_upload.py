"""WeCom pictures and files out over the long connection: chunked upload, then a media message.

As the Node SDK 1.0.7 does it (`uploadMedia`, `sendMediaMessage`, dist/index.cjs.js:1171-1318;
types dist/types/api.d.ts): `aibot_upload_media_init {type, filename, total_size,
total_chunks, md5}` answers `body.upload_id`; then `aibot_upload_media_chunk {upload_id,
chunk_index (from 0), base64_data}` for each piece of at most 512 KB (before base64), at most
100 pieces; then `aibot_upload_media_finish {upload_id}` answers `body.media_id` (valid 3
days). The picture or file then goes as `{msgtype: "image"|"file", image|file: {media_id}}`
through aibot_send_msg (or aibot_respond_msg). WeCom's size limits for uploaded media (doc
上传临时素材, developer.work.weixin.qq.com/document/path/96484): more than 5 bytes, images
(JPG, PNG) up to 10 MB, files up to 20 MB.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from typing import Any

from bot.charts import IMAGE_NAME, image_of
from bot.platforms.base import SendError
from bot.platforms.wecom_ws import (
    SEND_MSG,
    UPLOAD_CHUNK,
    UPLOAD_FINISH,
    UPLOAD_INIT,
    LongConnection,
)
from storage.files import media_file
from storage.records import ATTACHMENT, OutboxItem
from storage.store import Store

log = logging.getLogger(__name__)

CHUNK = 512 * 1024
MAX_CHUNKS = 100
MIN_BYTES = 6
LIMITS = {"image": 10 * 1024 * 1024, "file": 20 * 1024 * 1024}
PICTURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")  # what an image message may carry


class UploadRefused(Exception):
    """WeCom refused an upload step (errcode) or answered without the id it should give."""


async def upload(conn: LongConnection, data: bytes, kind: str, filename: str) -> str:
    """Upload `data` as temporary media of `kind` ("image" or "file"); its media_id."""
    chunks = [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)]
    if not MIN_BYTES <= len(data) <= LIMITS[kind] or len(chunks) > MAX_CHUNKS:
        raise UploadRefused(f"{len(data)} bytes cannot be uploaded as {kind}")
    init = await conn.request(UPLOAD_INIT, {
        "type": kind, "filename": filename, "total_size": len(data),
        "total_chunks": len(chunks),
        "md5": hashlib.md5(data, usedforsecurity=False).hexdigest()})
    upload_id = _answer(init, "upload_id", "init")
    for index, chunk in enumerate(chunks):
        ack = await conn.request(UPLOAD_CHUNK, {
            "upload_id": upload_id, "chunk_index": index,
            "base64_data": base64.b64encode(chunk).decode("ascii")})
        if ack.get("errcode") != 0:
            raise UploadRefused(f"chunk {index}: errcode {ack.get('errcode')!r:.40}")
    return _answer(await conn.request(UPLOAD_FINISH, {"upload_id": upload_id}), "media_id",
                   "finish")


def _answer(ack: dict[str, Any], field: str, step: str) -> str:
    body = ack.get("body")
    value = body.get(field) if isinstance(body, dict) else None
    if ack.get("errcode") != 0 or not isinstance(value, str) or not value:
        raise UploadRefused(f"{step}: errcode {ack.get('errcode')!r:.40}, no {field}")
    return value


class MediaOut:
    """Sends the picture (a chart) or the order's attachment an outbox item carries, after
    its text, to the item's chat or person. A failure is one warning: the text is out and
    says what it carried."""

    def __init__(self, conn: LongConnection, store: Store, database: str) -> None:
        self.conn = conn
        self.store = store
        self.database = database

    async def deliver(self, item: OutboxItem, chatid: str) -> None:
        png = image_of(item.extra)
        if png is not None:
            await self._send(item, chatid, png, "image", item.extra.get(IMAGE_NAME) or "chart.png")
        found = self._attachment(item)
        if found is not None:
            data, name = found
            fits = data.startswith(PICTURES) and len(data) <= LIMITS["image"]
            await self._send(item, chatid, data, "image" if fits else "file", name)

    def _attachment(self, item: OutboxItem) -> tuple[bytes, str] | None:
        raw = item.extra.get(ATTACHMENT, "")
        kept = self.store.attachment(int(raw)) if raw.isdigit() and len(raw) < 12 else None
        if kept is None:
            return None
        path = media_file(self.database, kept.attachment.path) if kept.attachment.path else None
        if path is None:
            log.info("wecom item %s: attachment %s has no kept copy to send", item.id, raw)
            return None
        try:
            data = path.read_bytes()
        except OSError as exc:
            log.warning("wecom item %s: attachment %s unreadable (%s)", item.id, raw, exc)
            return None
        return data, kept.attachment.name or path.name

    async def _send(self, item: OutboxItem, chatid: str, data: bytes, kind: str,
                    name: str) -> None:
        try:
            media_id = await upload(self.conn, data, kind, name)
            ack = await self.conn.request(SEND_MSG, {"chatid": chatid, "msgtype": kind,
                                                     kind: {"media_id": media_id}})
        except (SendError, UploadRefused) as exc:
            log.warning("wecom item %s: its %s was not sent (%s); the text was", item.id,
                        kind, exc)
            return
        if ack.get("errcode") != 0:
            log.warning("wecom item %s: its %s was refused (errcode %.40r); the text was sent",
                        item.id, kind, ack.get("errcode"))
