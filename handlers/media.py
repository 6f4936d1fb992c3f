"""Pictures, files and voice messages: attached to the order they belong to, else a hint."""

from __future__ import annotations

from datetime import timedelta

from bot.model import Attachment, Incoming
from bot.router import Context, Router
from handlers.common import serves
from storage.records import OrderState

router = Router("media")

# A picture sent this soon after an order, by its requester in the same chat, belongs to it.
WINDOW = timedelta(minutes=10)
OPEN = (OrderState.OPEN, OrderState.CLAIMED, OrderState.SCHEDULED)
ATTACHED = "已把{what}附在 #{no}（共 {count} 个附件），接单专家可以看到。"
NO_ORDER = ("收到{what}。要请专家，请用文字描述问题，例如「点单：设备……出现……」，"
            "点单后 10 分钟内发来的图片、文件会附在这张点单上；也可以引用点单消息再发。")
VOICE = "收到语音，但我还听不懂语音。请用文字描述，例如「点单：……」；发送「帮助」查看全部用法。"


@router.message("other", listed=False, when=lambda msg, ctx: bool(msg.attachments))
async def media(msg: Incoming, ctx: Context) -> None:
    """A picture, file or voice message without words the bot can act on."""
    what = _what(msg.attachments)
    if all(a.kind == "voice" and not a.ref and not a.path for a in msg.attachments):
        ctx.reply(VOICE)  # a voice the platform gives no sound of: nothing to keep
        return
    no = _order_for(msg, ctx)
    if no is None:
        voice_only = all(a.kind == "voice" for a in msg.attachments)
        ctx.reply(VOICE if voice_only else NO_ORDER.format(what=what))
        return
    for attachment in msg.attachments:
        ctx.store.attach(no, attachment, msg.platform, msg.account)
    ctx.reply(ATTACHED.format(what=what, no=no, count=len(ctx.store.attachments(no))))


def attach_all(msg: Incoming, ctx: Context, no: int) -> None:
    """Keep what came with the message that opened order #no."""
    for attachment in msg.attachments:
        ctx.store.attach(no, attachment, msg.platform, msg.account)


def _order_for(msg: Incoming, ctx: Context) -> int | None:
    """The order a picture belongs to: the one its message quotes (if the sender asked for it
    or serves it), else the sender's own order in this chat from the last few minutes."""
    if ctx.quoted_order is not None:
        order = ctx.store.get_order(ctx.quoted_order)
        if order is not None and order.state in OPEN and (
                order.requester == msg.account or serves(ctx, order)):
            return order.no
    return ctx.store.recent_order_of(msg.platform, msg.chat_id, msg.account,
                                     ctx.now() - WINDOW)


def _what(attachments: tuple[Attachment, ...]) -> str:
    words = list(dict.fromkeys(a.word for a in attachments))
    return "、".join(words)
