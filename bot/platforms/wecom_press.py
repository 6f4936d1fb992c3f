"""WeCom card presses (template_card_event) in both modes: handled as typed, card updated in time.

WeCom takes the update of a pressed card only within 5 s of the press: on the long connection
as `aibot_respond_update_msg` under the event's req_id (Node SDK `updateTemplateCard`,
dist/index.cjs.js:1119-1128, "收到事件回调后需在 5 秒内发送回复"; Python SDK client.py:260-284),
in URL-callback mode as the passive reply to the event's one and only callback ("企业微信服务只会
发起一次请求，企业微信服务器在五秒内收不到响应会断掉连接，丢弃该回调事件", doc 接收事件,
developer.work.weixin.qq.com/document/path/101027; the update body: doc 被动回复消息 101031).

So the press is handed to the same handling as a typed message at once, and the update waits
for that handling at most BUDGET seconds, then goes out from the order's state as it is then:
in the usual case the press's own outcome (已由X接单), under load what is known. The handling
itself is never cut short, and its replies go through the outbox as usual.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from bot.core import Core
from bot.model import Incoming
from bot.platforms.wecom_cards import press, refreshed, update_body

log = logging.getLogger(__name__)

BUDGET = 3.0  # seconds a press's handling may take before its card is updated anyway

Spawn = Callable[[Incoming], "asyncio.Task[None] | None"]


class Presses:
    """Turns a press into the presser's typed message and answers with the card's update."""

    def __init__(self, app: Core, spawn: Spawn, budget: float = BUDGET) -> None:
        self.app = app
        self.spawn = spawn
        self.budget = budget

    async def answer(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Handle one template_card_event; the update_template_card body, or None (nothing
        to update: not a press of one of the bot's cards about an order)."""
        found = press(payload, self.app.store, self.app.clock.now())
        if found is None:
            log.info("wecom template_card_event that is no press of a bot card: ignored")
            return None
        msg, task = found
        handling = self.spawn(msg)
        if handling is not None:
            done, _ = await asyncio.wait({handling}, timeout=self.budget)
            if not done:
                log.warning("wecom press %s is still being handled after %.1f s: its card is "
                            "updated from what is known now", msg.msg_id, self.budget)
        card = refreshed(self.app.store, task)
        return update_body(card) if card is not None else None
