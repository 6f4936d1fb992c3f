"""The DingTalk double's files: media upload, robot message file download, picture messages.

As the sources describe them (see /work/notes/platforms_dingtalk_cards_media.md): media/upload
on the old API host takes the token in the query and a multipart form with `type` (image ≤ 20
MB jpg/gif/png/bmp, voice ≤ 2 MB amr/mp3/wav, video ≤ 20 MB mp4, file ≤ 20 MB doc, docx, xls,
xlsx, ppt, pptx, zip, pdf, rar) and `media`, and answers errcode/media_id; a message's
downloadCode is exchanged by POST /v1.0/robot/messageFiles/download {robotCode, downloadCode}
for a temporary downloadUrl.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from tests.doubles_dingtalk import DingTalkDouble

MB = 1024 * 1024
FORMATS = {"image": ({"jpg", "jpeg", "gif", "png", "bmp"}, 20 * MB),
           "voice": ({"amr", "mp3", "wav"}, 2 * MB),
           "video": ({"mp4"}, 20 * MB),
           "file": ({"doc", "docx", "xls", "xlsx", "ppt", "pptx", "zip", "pdf", "rar"}, 20 * MB)}
BAD_TYPE = {"errcode": 40004, "errmsg": "不合法的媒体文件类型"}
BAD_SIZE = {"errcode": 40006, "errmsg": "不合法的文件大小"}  # code unverified
BAD_TOKEN = {"errcode": 40014, "errmsg": "不合法的access_token"}  # code unverified


@dataclass(frozen=True)
class Upload:
    """One file the bot uploaded."""

    media_id: str
    type: str
    name: str
    data: bytes


class MediaServer:
    """Media endpoints of the double; `double.media` is the one instance."""

    def __init__(self, double: DingTalkDouble) -> None:
        self.double = double
        self.uploads: dict[str, Upload] = {}  # media_id -> upload
        self.files: dict[str, bytes] = {}  # downloadCode -> bytes users sent
        self.links: dict[str, bytes] = {}  # temporary link token -> bytes
        self.downloads = 0  # links the bot fetched

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/media/upload", self._upload),
                web.post("/v1.0/robot/messageFiles/download", self._download),
                web.get("/files/{token}", self._file)]

    def add_file(self, data: bytes) -> str:
        """A file a user sent: its downloadCode (long, opaque)."""
        code = uuid.uuid4().hex * 4
        self.files[code] = data
        return code

    def known(self, media_id: Any, kind: str) -> bool:
        upload = self.uploads.get(media_id) if isinstance(media_id, str) else None
        return upload is not None and upload.type == kind

    def message(self, msgtype: str, content: dict[str, Any], **kw: Any) -> dict[str, Any]:
        """A robot message of another type than text (picture, richText, file, audio,
        video), with its `content`."""
        return self.double.message(None, msgtype=msgtype, content=content, **kw)

    # -- the servers ------------------------------------------------------------------------

    async def _upload(self, request: web.Request) -> web.Response:
        double = self.double
        token = request.query.get("access_token", "")
        if double.tokens.get(token, 0.0) < double.clock.now().timestamp():
            return await double.refuse("upload: bad token", 200, BAD_TOKEN)
        injected = await double.injected("upload")
        if injected is not None:
            return injected
        form = await request.post()
        kind, media = form.get("type"), form.get("media")
        if not isinstance(kind, str) or kind not in FORMATS or not isinstance(
                media, web.FileField):
            return await double.refuse("upload: bad type or no media", 200, BAD_TYPE)
        data = media.file.read()
        suffix = media.filename.rsplit(".", 1)[-1].lower() if "." in media.filename else ""
        formats, limit = FORMATS[kind]
        if suffix not in formats:
            return await double.refuse(f"upload: {suffix!r} is no {kind}", 200, BAD_TYPE)
        if not data or len(data) > limit:
            return await double.refuse("upload: bad size", 200, BAD_SIZE)
        media_id = f"@lAD{uuid.uuid4().hex}"
        self.uploads[media_id] = Upload(media_id, kind, media.filename, data)
        await double.notify()
        return web.json_response({"errcode": 0, "errmsg": "ok", "media_id": media_id,
                                  "type": kind, "created_at": double.now_ms()})

    async def _download(self, request: web.Request) -> web.Response:
        double = self.double
        body, refusal = await double.authorized(request, "download")
        if refusal is not None:
            return refusal
        data = self.files.get(str(body.get("downloadCode")))
        if body.get("robotCode") != double.robot_code or data is None:
            return await double.refuse("download: bad robotCode or downloadCode", 400,
                                       {"code": "invalidParameter.downloadCode"})
        token = uuid.uuid4().hex
        self.links[token] = data
        return web.json_response({"downloadUrl": f"{double.base_url}/files/{token}"})

    async def _file(self, request: web.Request) -> web.StreamResponse:
        data = self.links.get(request.match_info["token"])
        if data is None:
            return web.Response(status=404)
        self.downloads += 1
        return web.Response(body=data, content_type="application/octet-stream")
