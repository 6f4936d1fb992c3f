"""Admin slash commands (each with a Chinese and an English name), admins only."""

from __future__ import annotations

from bot.model import Incoming
from bot.periods import PeriodError, parse_period
from bot.router import BotError, Context, Router
from handlers.lookup import show_help
from handlers.report import tally_text
from storage.tallies import Scope, tally

router = Router("admin")

ADMIN_ONLY = "只有管理员可以使用 {cmd}"
SCOPE_WORDS = {"地区": "region", "服务队": "team", "专业组": "team", "群": "group"}


def need_admin(msg: Incoming, ctx: Context) -> None:
    if not ctx.is_admin():
        raise BotError(ADMIN_ONLY.format(cmd=msg.text.strip().split()[0]))


@router.command("帮助", "help")
async def admin_help(msg: Incoming, ctx: Context) -> None:
    """/帮助 /help：查看管理员指令"""
    need_admin(msg, ctx)
    await show_help(msg, ctx)


@router.command("统计", "stats")
async def stats(msg: Incoming, ctx: Context) -> None:
    """/统计 /stats [2026-05|上月|今年|2026-05-01~2026-05-31|活动名] [地区:湖州]：统计数据"""
    need_admin(msg, ctx)
    words = ctx.args.split()
    scope = Scope()
    for w in list(words):
        key, sep, value = w.replace("：", ":").partition(":")
        if sep and (key in SCOPE_WORDS or key in ("region", "team", "group")):
            scope = Scope(SCOPE_WORDS.get(key, key), value)
            words.remove(w)
    try:
        period = parse_period(" ".join(words), ctx.now(), ctx.config.report.campaigns)
    except PeriodError as exc:
        raise BotError(str(exc)) from None
    t = tally(ctx.store.db, period.start, period.end, scope)
    prev = period.previous()
    before = tally(ctx.store.db, prev.start, prev.end, scope)
    ctx.reply(tally_text(t, period, scope.label() if scope.kind != "all" else "", before))


@router.command("提醒", "remind")
async def remind(msg: Incoming, ctx: Context) -> None:
    """/提醒 /remind：立即检查并发送到期的提醒"""
    from handlers.jobs import sweep

    need_admin(msg, ctx)
    ctx.job = True  # the reminders go where they belong, not echoed here
    done = sweep(ctx)
    ctx.job = False
    ctx.reply(f"已发送 {len(done)} 条提醒。" + "".join(f"\n· {r.line}" for r in done)
              if done else "目前没有到期的提醒。")
