"""Admin slash commands (/帮助 for now; the rest arrive with the admin step), admins only."""

from __future__ import annotations

from bot.model import Incoming
from bot.router import BotError, Context, Router
from handlers.lookup import show_help

router = Router("admin")

ADMIN_ONLY = "只有管理员可以使用 {cmd}"


@router.command("帮助", "help")
async def admin_help(msg: Incoming, ctx: Context) -> None:
    """/帮助 /help：查看管理员指令"""
    if not ctx.is_admin():
        raise BotError(ADMIN_ONLY.format(cmd=msg.text.strip().split()[0]))
    await show_help(msg, ctx)
