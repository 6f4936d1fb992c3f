"""Where a message goes when it cannot go where it was meant to: nothing is dropped silently.

A 1:1 message the platform cannot deliver (WeCom in callback mode cannot message a person; a
user the platform refuses) becomes a post in a group the person is in, @-mentioning them: the
order's group when the message is about a public order, else the group they were last seen in.
A group post that cannot be delivered (no webhook for that WeCom group), or a person in no
reachable group, is reported to the admins, 1:1 where the platform can, else in a group where
the admin was seen. A group only ever sees text that is safe for it: masked phones, and of a
private matter nothing but a nudge to ask the bot 1:1.
"""

from __future__ import annotations

import logging
import re

from bot.model import ChatKind, Outgoing
from bot.text.phone_mask import mask_phones
from storage.records import OutboxItem
from storage.store import Store

log = logging.getLogger(__name__)

# Keys in an outbox item's `extra` (set by Context.tell, read here).
GROUP_TEXT = "group_text"  # what a group may read instead of the 1:1 text ("" = a nudge)
FALLBACK_CHAT = "fallback_chat"  # the group to use first (the order's own)
ABOUT = "about"  # the order number the message is about
LEVEL = "fallback"  # "" (the original), "group" (redirected to a group), "admins" (a report)

NUDGE = "#{no} 有一条给您的私聊消息未能送达（平台无法私聊您），请私聊我发送「查询 {no}」查看。"
NUDGE_PLAIN = "有一条给您的私聊消息未能送达（平台无法私聊您），请私聊我重新发一次刚才的指令。"
TO_ADMINS_USER = ("无法把{about}消息送达 {who}：平台无法私聊对方，也没在任何群里见过对方。"
                  "请联系对方私聊机器人（例如发送「我的单」）。")
TO_ADMINS_GROUP = "无法把消息发到群 {chat}（{error}）。{hint}内容：\n{text}"
# The same report where admins are reached only in a group: another group reads no content.
TO_ADMINS_GROUP_SHORT = "无法把消息发到群 {chat}（{error}）。{hint}（内容不在别的群里转发。）"
HINTS = {"wecom": "请在该群添加群机器人（Webhook），把它的 key 写入配置 [wecom.webhooks]。"}
_ORDER_NO = re.compile(r"#(\d{1,9})")


def group_safe(item: OutboxItem, own_group: bool) -> str:
    """What a group may read of a 1:1 item: in the order's own group, the text its sender
    marked safe (masked); anywhere else, or without one, a nudge to ask the bot 1:1, naming
    the order when there is one."""
    text = item.extra.get(GROUP_TEXT, "")
    if text and own_group:
        return mask_phones(text)
    no = _order_of(item)
    return NUDGE.format(no=no) if no else NUDGE_PLAIN


def _order_of(item: OutboxItem) -> str:
    """The number of the order an item is about ("" if none)."""
    return item.extra.get(ABOUT) or next(iter(_ORDER_NO.findall(item.text)), "")


class Fallback:
    """Re-routes what could not be delivered; called inside the transaction that marks the
    item failed, so the new item is queued exactly once."""

    def __init__(self, store: Store, admins: tuple[str, ...]) -> None:
        self.store = store
        self.admins = admins

    def redirect(self, item: OutboxItem, error: str, can_tell: bool) -> int | None:
        """Queue where `item` should go instead (the new outbox id), or None when there is
        nowhere left (logged as an error). `can_tell`: whether the platform sends 1:1."""
        level = item.extra.get(LEVEL, "")
        single = item.chat_kind == ChatKind.SINGLE.value
        # A 1:1 item is for its to_user, or (a reply in a 1:1 chat) for the one who wrote.
        to_user = item.extra.get("to_user") or (item.extra.get("for_user") if single else None)
        if level == "" and (to_user or single):
            if not to_user:  # a 1:1 reply to someone unknown: its words stay out of groups
                return self._admins(item, TO_ADMINS_USER.format(who=item.chat_id, about=""),
                                    can_tell)
            own = item.extra.get(FALLBACK_CHAT, "")
            chat = (own if own and self.store.seen_in(item.platform, own, to_user)
                    else self.store.last_group_of(item.platform, to_user))
            if chat:
                return self._queue(Outgoing(
                    item.platform, chat, group_safe(item, chat == own), (to_user,),
                    ChatKind.GROUP, extra={LEVEL: "group", "for_user": to_user}))
            no = _order_of(item)
            text = TO_ADMINS_USER.format(who=to_user, about=f"关于 #{no} 的" if no else "")
            return self._admins(item, text, can_tell)
        if level in ("", "group"):
            hint = HINTS.get(item.platform, "")
            text = TO_ADMINS_GROUP.format(chat=item.chat_id, error=error[:120], hint=hint,
                                          text=mask_phones(item.text))
            short = TO_ADMINS_GROUP_SHORT.format(chat=item.chat_id, error=error[:120], hint=hint)
            return self._admins(item, text, can_tell, in_group=short)
        log.error("outbox item %s: could not tell the admins either: %s", item.id, error)
        return None

    def _admins(self, item: OutboxItem, text: str, can_tell: bool,
                in_group: str | None = None) -> int | None:
        """Report to the admins of everything on this platform: 1:1 where the platform can,
        else in the group where each was last seen (there `in_group`, when given, instead of
        `text`: no content of one chat is posted in another)."""
        queued = None
        for account in self._admin_accounts():
            platform, _, user = account.partition(":")
            if platform != item.platform or not user:
                continue
            if can_tell:
                queued = self._queue(Outgoing(platform, user, text, chat_kind=ChatKind.SINGLE,
                                              to_user=user, extra={LEVEL: "admins"}))
                continue
            chat = self.store.last_group_of(platform, user)
            if chat:
                said = text if in_group is None or chat == item.chat_id else in_group
                queued = self._queue(Outgoing(platform, chat, mask_phones(said), (user,),
                                              ChatKind.GROUP, extra={LEVEL: "admins"}))
        if queued is None:
            log.error("outbox item %s to %s could not be delivered and no admin can be told",
                      item.id, item.chat_id)
        return queued

    def _admin_accounts(self) -> list[str]:
        unscoped = [str(r["account"]) for r in self.store.admins() if not r["scope"]]
        return list(dict.fromkeys([*self.admins, *unscoped]))

    def _queue(self, out: Outgoing) -> int:
        new = self.store.enqueue(out)
        log.warning("undeliverable message re-routed to %s:%s as outbox item %s",
                    out.platform, out.chat_id, new)
        return new
