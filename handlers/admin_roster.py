"""Admin commands for the roster and the service menu: /专家 and /清单."""

from __future__ import annotations

import re
from datetime import date

from bot.model import Incoming
from bot.roster import account_taken
from bot.roster_cells import BAD_REGION
from bot.router import BotError, Context, Router
from bot.text.regions import place_region
from bot.text.roster_words import split_words
from handlers.admin import need_admin
from handlers.common import expert_line, mention_of
from storage.records import Expert, MenuItem
from storage.roster_store import AccountTaken

router = Router("admin_roster")

EXPERTS_USAGE = ("用法：/专家 列表 [关键词] · /专家 详情 编号"
                 " · /专家 添加 编号 姓名 专长1、专长2 [地区] [服务队]"
                 " · /专家 停用 编号 [至 2026-06-30] · /专家 启用 编号"
                 " · /专家 绑定 编号 平台:用户ID · /专家 确认 平台:用户ID [编号]")
MENU_USAGE = ("用法：/清单 列表 · /清单 添加 标题|类别|提供者(编号或服务队)|线上/现场|说明"
              " · /清单 下架 序号")
NO_EXPERT = "没有找到专家「{who}」"
MANY = "「{who}」对应多位专家：{names}，请用编号"
ACCOUNT = re.compile(r"^[a-z][a-z0-9_]*:\S+$")
SUPER_OR_REGION = "只有超级管理员或地区管理员可以{what}"
OUT_OF_REGION = "专家 {name}（{id}）不在您管理的地区（{scope}）"
NEW_OUT_OF_REGION = "专家 {name}（{id}）的地区「{region}」不在您管理的地区（{scope}）"
TAKEN = "{taken}，未作更改。"
SWITCHED = ("账号 {account} 的绑定申请现在是专家 {name}（{id}），不是 {asked}。"
            "请核对后再确认：/专家 确认 {account} {id}")
SHARED_PHONE = ("账号 {account} 申请时填的号码登记在多位专家名下，"
                "请核实后用「/专家 绑定 编号 {account}」绑定。")
MENU_SUPER_ONLY = "服务清单由所有群共用，只有超级管理员（或管理全部范围的管理员）可以修改"


def region_scope(ctx: Context, what: str) -> str | None:
    """The region a region admin manages, None for an admin of everything; other admins
    (those of one group) may not change the roster."""
    scope = ctx.admin_scope()
    if scope == "":
        return None
    if scope is not None and scope.startswith("region:") and scope[7:]:
        return scope[7:]
    raise BotError(SUPER_OR_REGION.format(what=what))


def in_region(scope: str, region: str) -> bool:
    """Whether a region (full or short) lies inside a region admin's scope: the scope's name
    is part of the region's full path (湖州 in 浙江省湖州市德清县), as for orders."""
    full = place_region(region) or region
    return bool(full) and scope in full


def need_region(ctx: Context, e: Expert, what: str) -> None:
    """Refuse unless the sender may change expert `e` (super admin, or its region's admin)."""
    scope = region_scope(ctx, what)
    if scope is not None and not in_region(scope, e.region):
        raise BotError(OUT_OF_REGION.format(name=e.name, id=e.id, scope=scope))


def find_one(ctx: Context, who: str) -> Expert:
    """One expert by roster id or name (BotError when none or several)."""
    found = ctx.store.find_experts(who)
    if not found:
        raise BotError(NO_EXPERT.format(who=who))
    if len(found) > 1:
        raise BotError(MANY.format(who=who, names="、".join(f"{e.name}({e.id})" for e in found)))
    return found[0]


@router.command("专家", "experts")
async def experts(msg: Incoming, ctx: Context) -> None:
    """/专家 /experts 列表|详情|添加|停用|启用|绑定|确认：管理专家库"""
    need_admin(msg, ctx)
    sub, _, rest = ctx.args.partition(" ")
    rest = rest.strip()
    if sub in ("", "列表", "list"):
        _list(ctx, rest)
    elif sub in ("详情", "show"):
        _show(ctx, find_one(ctx, rest))
    elif sub in ("添加", "add"):
        _add(msg, ctx, rest)
    elif sub in ("停用", "pause"):
        region_scope(ctx, "停用专家")
        who, _, until = rest.partition(" ")
        e = find_one(ctx, who)
        need_region(ctx, e, "停用专家")
        m = re.search(r"(\d{4}-\d{1,2}-\d{1,2})", until)
        status = "paused"
        if m:
            try:
                status = f"leave:{date.fromisoformat(_pad(m.group(1))).isoformat()}"
            except ValueError:
                raise BotError(f"日期 {m.group(1)} 不存在") from None
        ctx.store.set_expert_status(e.id, status, msg.account)
        ctx.reply(f"已停用 {e.name}（{e.id}）" + (f"，{m.group(1)} 后自动恢复" if m else "")
                  + "；停用期间不再推荐和接单。")
    elif sub in ("启用", "resume"):
        region_scope(ctx, "启用专家")
        e = find_one(ctx, rest)
        need_region(ctx, e, "启用专家")
        ctx.store.set_expert_status(e.id, "active", msg.account)
        ctx.reply(f"已启用 {e.name}（{e.id}）。")
    elif sub in ("绑定", "link"):
        region_scope(ctx, "为专家绑定账号")
        who, _, account = rest.partition(" ")
        e = find_one(ctx, who)
        need_region(ctx, e, "为专家绑定账号")
        _link(msg, ctx, e, account.strip())
    elif sub in ("确认", "confirm"):
        region_scope(ctx, "确认绑定申请")
        _confirm(msg, ctx, rest)
    else:
        raise BotError(EXPERTS_USAGE)


def _pad(d: str) -> str:
    y, m, day = d.split("-")
    return f"{y}-{int(m):02d}-{int(day):02d}"


def _list(ctx: Context, word: str) -> None:
    roster = ctx.store.experts()
    if word:
        roster = [e for e in roster if word in e.name or word in e.team or word in e.region
                  or any(word in s for s in (*e.skills, *e.tags))]
    if not roster:
        raise BotError("专家库为空，可用 diandan experts import 导入名单。" if not word
                       else f"没有与「{word}」相关的专家")
    lines = [f"专家 {len(roster)} 位："]
    for e in roster[:40]:
        load = ctx.store.open_load(e.id)
        lines.append(f"{e.id} {e.name} {'、'.join(e.skills[:3])} 负载 {load}/{e.capacity}"
                     + ("" if e.status == "active" else f" [{e.status_word}]"))
    if len(roster) > 40:
        lines.append(f"……另有 {len(roster) - 40} 位，请加关键词筛选")
    ctx.reply("\n".join(lines))


def _show(ctx: Context, e: Expert) -> None:
    served, _ = ctx.store.search_orders(expert=e.id, limit=5)
    lines = [
        f"{expert_line(e)} 编号 {e.id}",
        f"地区：{e.region or '未填'}  状态：{e.status_word}  "
        f"负载：{ctx.store.open_load(e.id)}/{e.capacity}",
        f"专长：{'、'.join(e.skills) or '未填'}",
        f"标签：{'、'.join(e.tags) or '未填'}",
        f"账号：{'、'.join(e.accounts) or '未绑定'}",
    ]
    if served:
        lines.append("最近服务：" + "，".join(f"#{o.no} {o.state.word}" for o in served))
    ctx.reply("\n".join(lines))


def _confirm(msg: Incoming, ctx: Context, rest: str) -> None:
    """/专家 确认 平台:用户ID [编号]: link the account as its 绑定 request asked (and only if
    that is still the expert the admin names)."""
    account, _, asked = rest.partition(" ")
    asked = asked.strip()
    req = ctx.store.link_request(account)
    if req is None:
        raise BotError(f"没有账号 {account} 的绑定申请")
    if not req["expert_id"]:
        raise BotError(SHARED_PHONE.format(account=account))
    target = ctx.store.get_expert(req["expert_id"])
    if target is None:
        raise BotError(NO_EXPERT.format(who=req["expert_id"]))
    need_region(ctx, target, "确认绑定申请")
    if asked and asked != target.id:
        raise BotError(SWITCHED.format(account=account, name=target.name, id=target.id,
                                       asked=asked))
    _link(msg, ctx, target, account)


def _add(msg: Incoming, ctx: Context, rest: str) -> None:
    scope = region_scope(ctx, "添加或修改专家")
    parts = rest.split()
    if len(parts) < 3:
        raise BotError(EXPERTS_USAGE)
    eid, name, skills = parts[0], parts[1], split_words(parts[2])
    region = place_region(parts[3]) if len(parts) > 3 else ""
    if region is None:
        raise BotError(BAD_REGION.format(cell=parts[3]))
    team = parts[4] if len(parts) > 4 else ""
    old = ctx.store.get_expert(eid)
    if scope is not None:
        if old is not None:
            need_region(ctx, old, "添加或修改专家")
        final = region or (old.region if old else "")
        if not in_region(scope, final):
            raise BotError(NEW_OUT_OF_REGION.format(name=name, id=eid, region=final or "未填",
                                                    scope=scope))
    e = Expert(eid, name, phone=old.phone if old else "", title=old.title if old else "",
               team=team or (old.team if old else ""), region=region or (old.region if old else ""),
               skills=skills, tags=old.tags if old else (), accounts=old.accounts if old else (),
               capacity=old.capacity if old else 3)
    added = ctx.store.upsert_expert(e, msg.account)
    ctx.reply(f"已{'添加' if added else '更新'}专家 {name}（{eid}）：{'、'.join(skills)}")


def _link(msg: Incoming, ctx: Context, e: Expert, account: str) -> None:
    if not ACCOUNT.match(account):
        raise BotError("账号格式应为 平台:用户ID，例如 dingtalk:0123456、wecom:zhangsan、local:e1")
    try:
        ctx.store.link_account_if_free(e.id, account, msg.account)
    except AccountTaken as exc:
        raise BotError(TAKEN.format(
            taken=account_taken(account, exc.holder.id, exc.holder.name))) from None
    ctx.reply(f"已把账号 {account} 绑定到专家 {e.name}（{e.id}）。")
    plat, _, uid = account.partition(":")
    if mention_of(account, plat):
        ctx.tell(uid, f"您的账号已绑定为专家 {e.name}（{e.id}），现在可以接单了。", platform=plat)


@router.command("清单", "menu")
async def menu_admin(msg: Incoming, ctx: Context) -> None:
    """/清单 /menu 列表|添加|下架：管理服务清单"""
    need_admin(msg, ctx)
    sub, _, rest = ctx.args.partition(" ")
    rest = rest.strip()
    if sub in ("", "列表", "list"):
        items = ctx.store.menu(active_only=False)
        if not items:
            raise BotError("服务清单还是空的。" + MENU_USAGE)
        ctx.reply("\n".join(["服务清单："] + [
            f"{m.no}. {m.title}（{m.category} · {m.mode}）提供：{m.provider}"
            + ("" if m.active else " [已下架]") for m in items]))
    elif sub in ("添加", "add", "下架", "remove") and ctx.admin_scope() != "":
        raise BotError(MENU_SUPER_ONLY)
    elif sub in ("添加", "add"):
        fields = [f.strip() for f in re.split(r"[|｜]", rest)]
        if len(fields) < 3 or not fields[0]:
            raise BotError(MENU_USAGE)
        title, category, provider = fields[:3]
        mode = fields[3] if len(fields) > 3 and fields[3] else "线上/现场"
        description = fields[4] if len(fields) > 4 else ""
        no = max((m.no for m in ctx.store.menu(active_only=False)), default=0) + 1
        ctx.store.upsert_menu_item(MenuItem(no, title, description, provider, category, mode),
                                   msg.account)
        ctx.reply(f"已添加服务清单第 {no} 项：{title}")
    elif sub in ("下架", "remove"):
        item = next((m for m in ctx.store.menu(active_only=False) if str(m.no) == rest), None)
        if item is None:
            raise BotError(f"服务清单没有第 {rest} 项")
        ctx.store.upsert_menu_item(MenuItem(item.no, item.title, item.description, item.provider,
                                            item.category, item.mode, active=False), msg.account)
        ctx.reply(f"已下架服务清单第 {item.no} 项：{item.title}")
    else:
        raise BotError(MENU_USAGE)
