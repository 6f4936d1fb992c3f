"""Admin slash commands (each with a Chinese and an English name), admins only."""

from __future__ import annotations

import re

from bot.charts import image_extra, tally_chart_png
from bot.config import dashboard_url
from bot.model import ChatKind, Incoming, Outgoing
from bot.periods import PeriodError, parse_period
from bot.router import BotError, Context, Router
from bot.text.regions import find_region
from handlers.jobs import Reminder, sweep
from handlers.lookup import show_help
from handlers.report import period_words, tally_text
from storage.tallies import Scope, tally

router = Router("admin")

ADMIN_ONLY = "只有管理员可以使用 {cmd}"
LINK = "后台登录链接（10 分钟内有效，仅能使用一次，请勿转发）：\n{url}"
LINK_SENT = "已私聊发送后台链接。"
ADMINS_USAGE = ("用法：/管理员 列表 · /管理员 添加 平台:用户ID [地区:湖州|群:群ID]"
                " · /管理员 删除 平台:用户ID")
SETTINGS_USAGE = ("用法：/设置 地区 德清 · /设置 企业 某某公司 · /设置 专家群 湖州（或 全部）"
                  " · /设置 免打扰 21:00-08:00")
SETTING_KEYS = {"地区": "region", "企业": "enterprise", "专家群": "expert_group",
                "免打扰": "quiet"}
QUIET = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)\s*[-~～至到]\s*([01]?\d|2[0-3]):([0-5]\d)$")
ACCOUNT = re.compile(r"^[a-z][a-z0-9_]*:\S+$")
SCOPED_EXPERT_GROUP = "只有超级管理员或地区管理员可以设置专家群"
OUTSIDE_REGION = "您只能把{what}设在您管理的地区（{region}）以内"
STATS_OUTSIDE = "您只能查看您管理范围（{scope}）内的统计"
SCOPE_WORDS = {"地区": "region", "服务队": "team", "专业组": "team", "群": "group"}


def need_admin(msg: Incoming, ctx: Context) -> None:
    if not ctx.is_admin():
        raise BotError(ADMIN_ONLY.format(cmd=msg.text.strip().split()[0]))


@router.command("帮助", "help")
async def admin_help(msg: Incoming, ctx: Context) -> None:
    """/帮助 /help：查看管理员指令"""
    need_admin(msg, ctx)
    await show_help(msg, ctx)


def send_dashboard_link(msg: Incoming, ctx: Context, page: str = "") -> None:
    """A one-time sign-in link to the dashboard, sent 1:1 (never into a group)."""
    if not ctx.config.dashboard.enabled:
        raise BotError("后台未启用（[dashboard] enabled = false）")
    url = ctx.store.login_link(msg.account, dashboard_url(ctx.config), page)
    ctx.tell(msg.sender_id, LINK.format(url=url))
    if msg.chat_kind is not ChatKind.SINGLE:
        ctx.reply(LINK_SENT)


@router.command("后台", "dashboard")
async def dashboard(msg: Incoming, ctx: Context) -> None:
    """/后台 /dashboard：私聊发送一次性后台登录链接（10 分钟内有效）"""
    need_admin(msg, ctx)
    send_dashboard_link(msg, ctx)


@router.command("导出", "export")
async def export(msg: Incoming, ctx: Context) -> None:
    """/导出 /export [2026-05]：导出台账（私聊发送下载链接）"""
    need_admin(msg, ctx)
    month = ctx.args.strip()
    if month:
        try:
            p = parse_period(month, ctx.now(), ctx.config.report.campaigns)
        except PeriodError as exc:
            raise BotError(str(exc)) from None
        month = f"{p.start:%Y-%m}"
    send_dashboard_link(msg, ctx, "exports" + (f"?month={month}" if month else ""))


@router.command("管理员", "admins")
async def admins(msg: Incoming, ctx: Context) -> None:
    """/管理员 /admins 列表|添加 平台:用户ID [地区:X|群:ID]|删除 平台:用户ID：管理管理员"""
    need_admin(msg, ctx)
    sub, _, rest = ctx.args.partition(" ")
    words = rest.split()
    if sub in ("", "列表", "list"):
        lines = ["管理员："] + [f"{a}（配置文件，全部范围）" for a in ctx.config.bot.admins]
        lines += [f"{r['account']}（{_scope_word(r['scope'])}，{r['added_by']} 添加）"
                  for r in ctx.store.admins()]
        ctx.reply("\n".join(lines))
        return
    if not ctx.is_super_admin():
        raise BotError("只有超级管理员（配置文件中的 admins）可以添加或删除管理员")
    if sub in ("添加", "add") and words and ACCOUNT.match(words[0]):
        scope = _scope(words[1]) if len(words) > 1 else ""
        ctx.store.add_admin(words[0], scope, msg.account)
        ctx.reply(f"已添加管理员 {words[0]}（{_scope_word(scope)}）。")
    elif sub in ("删除", "remove") and words:
        if not ctx.store.remove_admin(words[0], msg.account):
            raise BotError(f"{words[0]} 不是在聊天中添加的管理员")
        ctx.reply(f"已删除管理员 {words[0]}。")
    else:
        raise BotError(ADMINS_USAGE)


def _scope(word: str) -> str:
    key, sep, value = word.replace("：", ":").partition(":")
    kinds = {"地区": "region", "region": "region", "群": "group", "group": "group"}
    if not sep or key not in kinds or not value:
        raise BotError(ADMINS_USAGE)
    return f"{kinds[key]}:{value}"


def _scope_word(scope: str) -> str:
    if not scope:
        return "全部范围"
    kind, _, value = scope.partition(":")
    return {"region": "地区", "group": "群"}.get(kind, kind) + f"：{value}"


@router.command("设置", "settings")
async def settings(msg: Incoming, ctx: Context) -> None:
    """/设置 /settings [地区 X|企业 X|专家群 地区|免打扰 21:00-08:00]：本群设置"""
    need_admin(msg, ctx)
    key_word, _, value = ctx.args.partition(" ")
    value = value.strip()
    if not key_word:
        current = ctx.store.settings(msg.platform, msg.chat_id)
        names = {v: k for k, v in SETTING_KEYS.items()}
        ctx.reply("本群设置：" + ("；".join(f"{names.get(k, k)} {v}" for k, v in current.items())
                                  or "暂无（" + SETTINGS_USAGE + "）"))
        return
    key = SETTING_KEYS.get(key_word)
    if key is None or not value:
        raise BotError(SETTINGS_USAGE)
    if key in ("region", "expert_group") and value != "全部":
        value = find_region(value) or value
    _within_scope(ctx, key, key_word, value)
    if key == "quiet":
        m = QUIET.match(value)
        if not m:
            raise BotError("免打扰时段的格式是 21:00-08:00")
        value = f"{int(m.group(1)):02d}:{m.group(2)}-{int(m.group(3)):02d}:{m.group(4)}"
    ctx.store.set_setting(msg.platform, msg.chat_id, key, value, msg.account)
    ctx.reply(f"已设置本群{key_word}：{value}")


def _within_scope(ctx: Context, key: str, key_word: str, value: str) -> None:
    """A scoped admin may point a group only inside their own scope: an expert group (which
    receives a region's new orders) or a default region within their region; a group admin
    sets their own group's defaults, but no expert group."""
    scope = ctx.admin_scope() or ""
    kind, _, within = scope.partition(":")
    if not scope or key not in ("region", "expert_group"):
        return
    if kind == "group":
        if key == "expert_group":
            raise BotError(SCOPED_EXPERT_GROUP)
        return
    if value == "全部" or within not in value:
        raise BotError(OUTSIDE_REGION.format(what=key_word, region=within))


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
    scope = _stats_scope(ctx, scope)
    try:
        period = parse_period(" ".join(words), ctx.now(), ctx.config.report.campaigns)
    except PeriodError as exc:
        raise BotError(str(exc)) from None
    t = tally(ctx.store.db, period.start, period.end, scope)
    prev = period.previous()
    before = tally(ctx.store.db, prev.start, prev.end, scope)
    text = tally_text(t, period, scope.label() if scope.kind != "all" else "", before, chart=True)
    this_word, previous_word = period_words(period)
    png = tally_chart_png(t, before, this_word=this_word, previous_word=previous_word)
    ctx.send(Outgoing(msg.platform, msg.chat_id, text, chat_kind=msg.chat_kind,
                      in_reply_to=msg.msg_id,
                      extra=image_extra(png, f"tally-{period.start:%Y-%m-%d}.png")))


def _stats_scope(ctx: Context, asked: Scope) -> Scope:
    """What a tally may cover: anything for admins of everything; a scoped admin's own
    scope (a region admin may narrow it to a place inside their region)."""
    own = ctx.admin_scope() or ""
    if not own:
        return asked
    mine = Scope.for_admin(own)
    if asked.kind == "all":
        return mine
    if mine.kind == "region" and asked.kind == "region" and mine.value in asked.value:
        return asked
    raise BotError(STATS_OUTSIDE.format(scope=mine.label()))


@router.command("提醒", "remind")
async def remind(msg: Incoming, ctx: Context) -> None:
    """/提醒 /remind：立即检查并发送到期的提醒"""
    need_admin(msg, ctx)
    scope = ctx.admin_scope() or ""
    if ctx.sweep_later is not None:  # the bot: found and sent off the loop, as scheduled
        ctx.sweep_later(msg, scope)
        ctx.reply("正在检查到期的提醒，发送完毕后在这里告诉您结果。")
        return
    ctx.job = True  # the reminders go where they belong, not echoed here
    done = sweep(ctx)
    ctx.job = False
    ctx.reply(remind_summary(ctx, done, scope))


def remind_summary(ctx: Context, done: list[Reminder], scope: str) -> str:
    """What /提醒 sent, the lines of the orders in the admin's scope listed."""
    shown = [r for r in done if not scope or (r.order_no is not None and (
        o := ctx.store.get_order(r.order_no)) is not None and o.in_scope(scope))]
    return (f"已发送 {len(done)} 条提醒。" + "".join(f"\n· {r.line}" for r in shown)
            if done else "目前没有到期的提醒。")
