"""The service menu (服务清单): browsing it, and ordering an item by its number."""

from __future__ import annotations

from bot.matching import Suggestion
from bot.model import ChatKind, Incoming
from bot.router import BotError, Context, Router
from handlers.announce import announce
from handlers.common import order_place
from storage.records import Expert, MenuItem, NewOrder

router = Router("menu")

EMPTY = "服务清单还是空的，请直接发「点单：问题描述」。"
NONE_IN = "服务清单里没有「{cat}」类的项目。发送「服务清单」查看全部。"
HEAD = "【技术服务清单】回复「点单 序号 补充说明」即可点单："
NO_ITEM = "服务清单没有第 {no} 项，发送「服务清单」查看全部。"
PROVIDER = "服务清单第 {no} 项的提供者"


@router.message("menu")
async def show_menu(msg: Incoming, ctx: Context) -> None:
    """服务清单 [类别]：查看可以直接点的服务项目"""
    items = ctx.store.menu()
    if not items:
        raise BotError(EMPTY)
    word = (ctx.parsed.note or "").strip()
    if word:
        items = [m for m in items if word in m.category or word in m.title
                 or word in m.description]
        if not items:
            raise BotError(NONE_IN.format(cat=word))
    lines = [HEAD]
    for m in items:
        lines.append(f"{m.no}. {m.title}（{m.category} · {m.mode}）")
        if m.description:
            lines.append(f"   {m.description[:60]}")
    ctx.reply("\n".join(lines))


def providers(ctx: Context, item: MenuItem) -> list[Expert]:
    """The available experts behind a menu item: one expert, or the members of a team."""
    today = ctx.now().date()
    experts = [e for e in ctx.store.experts() if e.available(today)]
    direct = [e for e in experts if item.provider in (e.id, e.name)]
    if direct:
        return direct
    team = [e for e in experts if e.team and e.team == item.provider]
    loads = ctx.store.open_loads()
    return sorted(team, key=lambda e: (loads.get(e.id, 0) / max(e.capacity, 1), e.id))


@router.message("menu_order")
async def menu_order(msg: Incoming, ctx: Context) -> None:
    """点单 N [补充说明]：按服务清单序号点单，直接派给提供者"""
    p = ctx.parsed
    item = next((m for m in ctx.store.menu() if m.no == p.menu_no), None)
    if item is None:
        raise BotError(NO_ITEM.format(no=p.menu_no))
    note = (p.note or "").strip()
    enterprise, region = order_place(ctx)
    order = ctx.store.create_order(
        NewOrder(
            platform=msg.platform, chat_id=msg.chat_id, chat_kind=msg.chat_kind.value,
            requester=msg.account, requester_name=msg.sender_name,
            text=f"【服务清单 {item.no}】{item.title}" + (f"：{note}" if note else ""),
            summary=f"{item.title}" + (f"：{note[:40]}" if note else ""),
            enterprise=enterprise, contact=p.contact or msg.sender_name, phone=p.phone,
            deadline=p.deadline, urgent=p.urgent, category=item.category or p.category,
            service_type=p.service_type, region=region,
            menu_no=item.no, private=msg.chat_kind is ChatKind.SINGLE,
        ),
        actor=msg.account,
    )
    top = ctx.config.bot.announce_top
    matches = [Suggestion(e, 1.0, (PROVIDER.format(no=item.no), *(
        (f"专长：{'、'.join(e.skills[:2])}",) if e.skills else ())))
        for e in providers(ctx, item)[:top]]
    announce(ctx, order, matches=matches or None)
