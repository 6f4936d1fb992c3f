"""WeCom long connection out: replies and proactive sends as markdown, cards, pictures, files.

Bodies as the SDKs build them (Node SDK dist/index.cjs.js `replyStream`, `replyTemplateCard`,
`replyStreamWithCard`, `sendMessage`; dist/types/api.d.ts): a reply under the message's req_id
(aibot_respond_msg) is a finished `stream` (markdown, at most 20480 bytes), a `template_card`,
or both at once as `stream_with_template_card`; a proactive aibot_send_msg `{chatid, msgtype}`
is `markdown` or `template_card` (or a media message, see wecom_upload.py).

An item with buttons gets a card (see wecom_cards.py). When its whole text fits in a card and
mentions no one, the card alone carries it; otherwise the text goes as markdown (mentions
included) with a compact card beside it: in a reply in the same message, in a send just after.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.platforms.base import SendError
from bot.platforms.wecom_cards import card, fits, new_task_id, order_of, status_of
from bot.platforms.wecom_markdown import as_markdown, mention_tags, split_markdown
from bot.platforms.wecom_send import MARKDOWN_LIMIT, one_reply
from bot.platforms.wecom_upload import MediaOut
from bot.platforms.wecom_ws import RESPOND, SEND_MSG, LongConnection
from storage.records import OutboxItem
from storage.store import Store

log = logging.getLogger(__name__)

# WeCom's global return codes: -1 system busy ("建议稍候重试"), 45009 and 45033 call limits
# (developer.work.weixin.qq.com/document/path/90313).
RATE_CODES = (45009, 45033)


@dataclass(frozen=True)
class CardPlan:
    """The card one delivery shows: for which item, with or without its whole text."""

    item: OutboxItem
    full: bool
    body: dict[str, Any]


def card_plan(store: Store, run: list[OutboxItem], alone: bool) -> CardPlan | None:
    """The card for a delivery of `run` (the first item with buttons gets it); `alone`: the
    card may carry the text by itself when the run is that one item and it fits."""
    carded = next((i for i in run if i.buttons), None)
    if carded is None:
        return None
    full = alone and len(run) == 1 and fits(carded)
    task_id = new_task_id(carded, full)
    return CardPlan(carded, full, card(carded, task_id, full, status_of(store, order_of(carded))))


def markdown_content(text: str, mentions: tuple[str, ...]) -> str:
    tags = mention_tags(mentions)
    return as_markdown(text) + (f"\n{tags}" if tags else "")


def respond_body(stream_id: str, content: str, plan: CardPlan | None) -> dict[str, Any]:
    """The one reply to a message: its text as a finished stream, a card, or both."""
    if plan is not None and plan.full:
        return {"msgtype": "template_card", "template_card": plan.body}
    stream = {"id": stream_id, "finish": True,
              "content": one_reply(content)}
    if plan is None:
        return {"msgtype": "stream", "stream": stream}
    return {"msgtype": "stream_with_template_card", "stream": stream,
            "template_card": plan.body}


class WsSend:
    """Proactive sends (aibot_send_msg) of outbox items, resumable piece by piece, and the
    pictures or files items carry."""

    def __init__(self, conn: LongConnection, store: Store, database: str) -> None:
        self.conn = conn
        self.store = store
        self.media = MediaOut(conn, store, database)
        self._progress: dict[int, int] = {}  # item id → pieces already delivered
        self._no_card: set[int] = set()  # items whose card WeCom refused: text only

    def bodies(self, item: OutboxItem, chatid: str) -> list[dict[str, Any]]:
        plan = None if item.id in self._no_card else card_plan(self.store, [item], True)
        out: list[dict[str, Any]] = []
        if plan is None or not plan.full:
            content = markdown_content(item.text, item.mentions)
            out = [{"chatid": chatid, "msgtype": "markdown", "markdown": {"content": piece}}
                   for piece in split_markdown(content, MARKDOWN_LIMIT)]
        if plan is not None:
            out.append({"chatid": chatid, "msgtype": "template_card",
                        "template_card": plan.body})
        return out

    async def send(self, item: OutboxItem, chatid: str) -> str:
        bodies = self.bodies(item, chatid)
        done = self._progress.get(item.id, 0)
        while done < len(bodies):
            body = bodies[done]
            ack = await self.conn.request(SEND_MSG, body)
            code = ack.get("errcode")
            if code != 0 and code not in (-1, *RATE_CODES) and body["msgtype"] == "template_card":
                log.warning("wecom aibot_send_msg: card of item %s refused (errcode %.40r)",
                            item.id, code)
                self._no_card.add(item.id)
                if len(bodies) == 1:  # the card was to carry the text: send it as text
                    bodies, done = self.bodies(item, chatid), 0
                else:  # the text is out already
                    done += 1
                continue
            if code != 0:
                self._progress[item.id] = done
                # Busy (-1) and rate limits are worth another try; any other code is WeCom
                # refusing this message or chat (e.g. a user who never talked to the bot):
                # permanent, so the outbox re-routes it instead of retrying it for ever.
                raise SendError(f"wecom aibot_send_msg to {chatid}: errcode {code}",
                                retry_after=60.0 if code in RATE_CODES else None,
                                permanent=code not in (-1, *RATE_CODES))
            done += 1
        self._progress.pop(item.id, None)
        self._no_card.discard(item.id)
        return f"send_msg:{chatid}:{len(bodies)}"

    async def respond(self, req_id: str, msgid: str, run: list[OutboxItem], stream_id: str,
                      content: str) -> bool:
        """The reply to message `msgid` under its req_id, with the run's card; whether WeCom
        took it. A refused card is tried again without it (the text matters most)."""
        plan = card_plan(self.store, run, True)
        while True:
            ack = await self.conn.request(RESPOND, respond_body(stream_id, content, plan),
                                          req_id=req_id)
            if ack.get("errcode") == 0:
                return True
            log.warning("wecom respond for %s refused: errcode %s%s", msgid,
                        ack.get("errcode"), " (with a card)" if plan else "")
            if plan is None:
                return False
            plan = None
