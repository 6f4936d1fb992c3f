"""Generate a large realistic database (experts, orders over two years, full lifecycles)."""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.model import SHANGHAI  # noqa: E402
from bot.text.match_lexicon import Specialty, default_lexicon  # noqa: E402
from bot.workdays import add_workdays  # noqa: E402
from storage.schema import connect  # noqa: E402

DEFAULT_OUT = "/tmp/diandan_big.db"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
GIVEN = "国建立志明伟强军平海东文华金德永新春晓红丽芳敏静燕玲秀英兰宏卫忠斌杰涛波俊峰磊超勇毅刚健林辉鹏飞云霞"  # noqa: E501
TITLES = ["全国劳动模范", "浙江省劳动模范", "浙江工匠", "高级技师", "首席技师", "高级工程师",
          "技师", "主任医师", "律师", "注册会计师", "心理咨询师", "农艺师"]
TEAMS = ["电仪组", "热动组", "集控环化组", "综合组", "焊接专业组", "机械专业组", "数控专业组",
         "模具专业组", "化工专业组", "环保专业组", "纺织专业组", "质量专业组", "精益专业组",
         "安全专业组", "数字化专业组", "农业服务队", "医疗服务队", "法律服务队", "金融服务队",
         "心理服务队", "技能培训队", "劳模工匠服务队", "金牌技术服务队", "青年工匠服务队"]
SUFFIXES = ["", "技术", "工艺", "维修", "调试", "优化", "改造", "管理", "咨询", "培训"]
INDUSTRIES = ["钢构", "机械", "电机", "泵阀", "纺织", "印染", "化工", "食品", "家具", "汽配",
              "五金", "塑料", "包装", "电子", "建材", "养殖", "制药", "服装", "轴承", "模具"]
WORDS = ["鑫", "恒", "华", "达", "兴", "宏", "隆", "泰", "盛", "通", "金", "新", "远", "瑞", "丰"]
ASKS = ["想请{spec}方面的师傅来厂指导", "有没有懂{spec}的老师帮忙看看", "需要{spec}专家远程指导",
        "希望安排{spec}师傅上门诊断", "请{spec}专家帮忙出个方案"]
WHEN = ["下周三前", "本周五前", "月底前", "三天内", "越快越好", "", "", "下周一之前"]
RESULTS = [("solved", "已解决"), ("solved", "已解决"), ("solved", "已解决"),
           ("partial", "部分解决"), ("unsolved", "未解决")]
RATINGS = [("满意", 5), ("满意", 5), ("满意", 4), ("满意", None), ("基本满意", 3),
           ("基本满意", None), ("不满意", 2)]
BATCH = 50_000


def ts(t: datetime) -> str:
    return t.isoformat(timespec="microseconds")


class Writer:
    """Rows bucketed by day, flushed in time order so ids grow with time as in the app."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.buckets: dict[int, dict[str, list[tuple[str, tuple[Any, ...]]]]] = defaultdict(
            lambda: defaultdict(list))
        self.pending: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        self.counts: dict[str, int] = defaultdict(int)
        self.sql = {
            "events": "INSERT INTO events (at, actor, kind, order_no, data) VALUES (?,?,?,?,?)",
            "inbound": "INSERT INTO inbound (platform, msg_id, at, ref) VALUES (?,?,?,?)",
            "outbox": "INSERT INTO outbox (created_at, platform, chat_id, chat_kind, text, "
                      "mentions, in_reply_to, extra, state, attempts, next_at, sent_at, "
                      "last_error) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            "sessions": "INSERT INTO sessions (order_no, at, mode, hours, suggestions, "
                        "beneficiaries, experts, note, actor) VALUES (?,?,?,?,?,?,?,?,?)",
            "reminders_sent": "INSERT OR IGNORE INTO reminders_sent (key, at, order_no) "
                              "VALUES (?,?,?)",
            "order_experts": "INSERT OR REPLACE INTO order_experts (order_no, expert_id, role, "
                             "joined_at) VALUES (?,?,?,?)",
        }

    def add(self, table: str, at: datetime, row: tuple[Any, ...]) -> None:
        self.buckets[at.toordinal()][table].append((ts(at), row))

    def flush_until(self, day: int) -> None:
        for d in sorted(k for k in self.buckets if k <= day):
            for table, rows in self.buckets.pop(d).items():
                rows.sort(key=lambda r: r[0])
                out = self.pending[table]
                out.extend(r for _, r in rows)
                if len(out) >= BATCH:
                    self._write(table)

    def _write(self, table: str) -> None:
        rows = self.pending[table]
        if rows:
            self.db.executemany(self.sql[table], rows)
            self.counts[table] += len(rows)
            rows.clear()

    def close(self) -> None:
        self.flush_until(10**9)
        for table in list(self.pending):
            self._write(table)


def _event(w: Writer, at: datetime, actor: str, kind: str, no: int | None, **data: Any) -> None:
    w.add("events", at, (ts(at), actor, kind, no,
                         json.dumps(data, ensure_ascii=False, default=str)))


def _out(w: Writer, at: datetime, platform: str, chat: str, kind: str, text: str,
         mentions: list[str], to_user: str | None = None) -> None:
    extra = json.dumps({"to_user": to_user}) if to_user else "{}"
    sent = at + timedelta(seconds=1)
    w.add("outbox", at, (ts(at), platform, chat, kind, text, json.dumps(mentions), None, extra,
                         "sent", 1, ts(at), ts(sent), f"out{w.counts['outbox']}"))


def _regions() -> list[str]:
    rows = (ROOT / "bot" / "data" / "regions.csv").read_text(encoding="utf-8").splitlines()
    out = []
    for line in rows:
        if line.startswith("#") or line.startswith("province"):
            continue
        p, c, county = [*line.split(","), "", ""][:3]
        out.append(p + c + county)
    return [r for r in out if r]


def _name(rnd: random.Random) -> str:
    return rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2, 2))))


def _phone(rnd: random.Random) -> str:
    return f"1{rnd.choice('35789')}{rnd.randrange(10**9):09d}"


def make_experts(db: sqlite3.Connection, rnd: random.Random, n: int, specs: list[Specialty],
                 regions: list[str], at: datetime) -> dict[str, list[str]]:
    """Write the roster; returns expert ids by specialty name."""
    by_spec: dict[str, list[str]] = defaultdict(list)
    experts, accounts, events = [], [], []
    for i in range(n):
        eid = f"X{i + 1:05d}"
        chosen = rnd.sample(specs, rnd.choice((1, 1, 2)))
        skills = list(dict.fromkeys(rnd.choice(s.terms) + rnd.choice(SUFFIXES)
                                    for s in chosen for _ in range(rnd.randint(2, 3))))
        tags = list(dict.fromkeys(rnd.choice(s.terms) for s in chosen for _ in range(3)))
        for s in chosen:
            by_spec[s.name].append(eid)
        r = rnd.random()
        status = "active" if r < 0.96 else ("paused" if r < 0.98 else "leave:2026-01-31")
        name = _name(rnd)
        experts.append((eid, name, _phone(rnd), rnd.choice(TITLES), rnd.choice(TEAMS),
                        rnd.choice(regions), json.dumps(skills, ensure_ascii=False),
                        json.dumps(tags, ensure_ascii=False), rnd.choice((3, 3, 4, 5)), status,
                        ts(at)))
        accounts.append((f"dingtalk:ding{i + 1}", eid))
        if rnd.random() < 0.3:
            accounts.append((f"wecom:wx{i + 1}", eid))
        events.append((ts(at), "cli", "expert.added", None,
                       json.dumps({"expert": eid, "name": name}, ensure_ascii=False)))
    db.executemany("INSERT INTO experts (id, name, phone, title, team, region, skills, tags, "
                   "capacity, status, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)", experts)
    db.executemany("INSERT INTO expert_accounts (account, expert_id) VALUES (?,?)", accounts)
    db.executemany("INSERT INTO events (at, actor, kind, order_no, data) VALUES (?,?,?,?,?)",
                   events)
    return by_spec


def make_menu(db: sqlite3.Connection, rnd: random.Random, specs: list[Specialty],
              by_spec: dict[str, list[str]], at: datetime) -> None:
    rows, events = [], []
    for no in range(1, 61):
        s = rnd.choice(specs)
        title = f"{rnd.choice(s.terms)}诊断与指导"
        provider = rnd.choice(by_spec[s.name]) if by_spec[s.name] else rnd.choice(TEAMS)
        rows.append((no, title, f"{'、'.join(s.terms[:4])}等问题的现场或远程服务", provider,
                     s.category, rnd.choice(("现场", "线上", "线上/现场")), 1))
        events.append((ts(at), "cli", "menu.updated", None,
                       json.dumps({"no": no, "title": title}, ensure_ascii=False)))
    db.executemany("INSERT INTO menu_items (no, title, description, provider, category, mode, "
                   "active) VALUES (?,?,?,?,?,?,?)", rows)
    db.executemany("INSERT INTO events (at, actor, kind, order_no, data) VALUES (?,?,?,?,?)",
                   events)


def order_times(rnd: random.Random, start: datetime, end: datetime, n: int) -> Iterator[datetime]:
    """n creation times, ascending: weekdays busier, office hours, growing over time."""
    days = (end.date() - start.date()).days + 1
    weights = []
    for d in range(days):
        day = start.date() + timedelta(days=d)
        growth = 0.6 + 0.8 * d / max(days - 1, 1)
        weights.append(growth * (1.0 if day.weekday() < 5 else 0.3))
    total = sum(weights)
    acc, done = 0.0, 0
    for d, wgt in enumerate(weights):
        acc += wgt
        upto = round(n * acc / total)
        k, done = upto - done, upto
        day = datetime.combine(start.date() + timedelta(days=d), datetime.min.time(),
                               tzinfo=SHANGHAI)
        lo = max(0.0, (start - day).total_seconds())
        hi = min(86_399.0, (end - day).total_seconds() - 1)
        span = 86_399.0
        secs = sorted(min(span, max(0.0, rnd.gauss(13.5, 3.2) * 3600)) for _ in range(k))
        for s in secs:  # the first and last days are partial: squeeze into [lo, hi]
            yield day + timedelta(seconds=lo + s * (hi - lo) / span)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", nargs="?", default=DEFAULT_OUT, help=f"SQLite file ({DEFAULT_OUT})")
    ap.add_argument("--experts", type=int, default=10_000)
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=730, help="history length ending at --end")
    ap.add_argument("--end", help="ISO time the history ends (default: now)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--force", action="store_true", help="overwrite an existing file")
    args = ap.parse_args(argv)
    out = Path(args.out).resolve()
    if out == ROOT or ROOT in out.parents:
        ap.error("the database must not be written inside the repository")
    if out.exists():
        if not args.force:
            ap.error(f"{out} exists (use --force to overwrite)")
        for suffix in ("", "-wal", "-shm"):
            Path(str(out) + suffix).unlink(missing_ok=True)
    end = (datetime.fromisoformat(args.end) if args.end else datetime.now(SHANGHAI))
    end = end if end.tzinfo else end.replace(tzinfo=SHANGHAI)
    end = end.astimezone(SHANGHAI)
    start = end - timedelta(days=args.days)
    t0 = time.perf_counter()
    connect(out).conn.close()  # the app's own schema and migrations
    db = sqlite3.connect(str(out), isolation_level=None)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -2000000")
    db.execute("PRAGMA temp_store = MEMORY")
    db.execute("BEGIN")
    rnd = random.Random(args.seed)
    lex = default_lexicon()
    specs = [s for s in lex.specialties.values() if s.terms]
    regions = _regions()
    counties = [r for r in regions if r.endswith(("县", "区")) or r.count("市") >= 2]
    by_spec = make_experts(db, rnd, args.experts, specs, counties or regions,
                           start - timedelta(days=30))
    make_menu(db, rnd, specs, by_spec, start - timedelta(days=29))
    w = Writer(db)
    stats = generate_orders(db, w, rnd, args.orders, start, end, specs, by_spec, counties)
    w.close()
    db.execute("COMMIT")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.close()
    took = time.perf_counter() - t0
    size = out.stat().st_size / 2**20
    print(f"wrote {out} in {took:.0f} s, {size:.0f} MB; history {start:%Y-%m-%d} → {end:%Y-%m-%d}")
    for k, v in sorted({**w.counts, **stats}.items()):
        print(f"  {k}: {v:,}")
    return 0


def generate_orders(db: sqlite3.Connection, w: Writer, rnd: random.Random, n: int,
                    start: datetime, end: datetime, specs: list[Specialty],
                    by_spec: dict[str, list[str]], counties: list[str]) -> dict[str, int]:
    """Every order's life up to `end`, written as the app writes it."""
    groups = [(rnd.choice(("dingtalk", "dingtalk", "wecom")), f"cid{g:04d}", rnd.choice(counties))
              for g in range(800)]
    chat_first: dict[tuple[str, str], datetime] = {}
    people = [(_name(rnd), rnd.randrange(len(groups))) for _ in range(20_000)]
    expert_ids = sorted({e for ids in by_spec.values() for e in ids})
    orders: list[tuple[Any, ...]] = []
    states: dict[str, int] = defaultdict(int)
    msg = 0
    no = 0
    last_day = 0

    def inbound(platform: str, at: datetime) -> None:
        nonlocal msg
        msg += 1
        w.add("inbound", at, (platform, f"m{msg}", ts(at), ""))

    for created in order_times(rnd, start, end, n):
        no += 1
        day = created.toordinal()
        if day != last_day:
            w.flush_until(day - 1)
            last_day = day
            if created.day == 1:
                _monthly_keys(w, chat_first, created.date(), end)
        if len(orders) >= BATCH:
            _write_orders(db, orders)
        person, g = people[rnd.randrange(len(people))]
        platform, chat, region = groups[g]
        chat_first.setdefault((platform, chat), created)
        requester = f"{platform}:u{g}_{person}"
        spec = rnd.choice(specs)
        cue = rnd.choice(spec.cues) if spec.cues else rnd.choice(spec.terms)
        term = rnd.choice(spec.terms)
        ent = (f"{region[-3:-1]}{rnd.choice(WORDS)}{rnd.choice(WORDS)}"
               f"{rnd.choice(INDUSTRIES)}有限公司")
        phone = _phone(rnd)
        summary = f"{cue}，{term}方面的问题"
        text = (f"点单：我们是{ent}，最近{cue}，{term}方面一直解决不了，"
                f"{rnd.choice(ASKS).format(spec=spec.name)}。联系人{person} {phone}，"
                f"{rnd.choice(WHEN)}")
        deadline = (created.date() + timedelta(days=rnd.randint(2, 14))
                    if rnd.random() < 0.4 else None)
        pool = by_spec.get(spec.name) or expert_ids
        announced = sorted(rnd.sample(pool, min(3, len(pool))))
        inbound(platform, created)
        _event(w, created, requester, "order.created", no, summary=summary, chat=chat)
        _event(w, created, "bot", "order.announced", no, experts=announced, again=False)
        _out(w, created, platform, chat, "group",
             f"已收到点单 #{no}\n企业：{ent}\n需求：{summary}\n联系人：{person} "
             f"{phone[:3]}****{phone[-4:]}\n推荐专家：…\n请回复「接单 {no}」认领（先到先得）。",
             [e.replace("X", "ding") for e in announced])
        row: dict[str, Any] = {
            "state": "open", "updated": created, "lead": None, "claimed_at": None,
            "visit_at": None, "visit_mode": None, "active_at": None, "completed_at": None,
            "outcome": None, "rating": None, "stars": None, "comment": None, "rated_at": None,
            "ended_at": None, "end_reason": None,
        }
        _life(w, rnd, no, created, end, platform, chat, requester, announced, pool, row,
              inbound)
        _reminders(w, rnd, no, created, end, row, deadline)
        states[row["state"]] += 1
        orders.append((
            no, ts(created), ts(row["updated"]), row["state"], platform, chat, "group",
            requester, person, text, summary, ent, person, phone,
            deadline.isoformat() if deadline else None, int(rnd.random() < 0.05), spec.category,
            "职工生活" if spec.category in ("医疗健康", "法律", "金融", "心理") else "技术攻关",
            region, None, row["lead"], _t(row["claimed_at"]), 0, json.dumps(announced),
            _t(row["visit_at"]), row["visit_mode"], _t(row["active_at"]),
            _t(row["completed_at"]), row["outcome"], row["rating"], row["stars"],
            row["comment"], _t(row["rated_at"]), _t(row["ended_at"]), row["end_reason"],
            int(row["state"] == "rated" and rnd.random() < 0.01),
        ))
    _write_orders(db, orders)
    db.executemany(
        "INSERT INTO chats (platform, chat_id, kind, title, reply_handle, first_at, updated_at) "
        "VALUES (?,?,?,?,?,?,?)",
        [(p, c, "group", f"{r}企业服务群", "", ts(t), ts(end)) for (p, c), t in chat_first.items()
         for r in [next(x[2] for x in groups if x[1] == c)]])
    return {"orders": no, **{f"state {k}": v for k, v in states.items()}}


def _t(t: datetime | None) -> str | None:
    return ts(t) if t else None


def _write_orders(db: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    db.executemany(
        "INSERT INTO orders (no, created_at, updated_at, state, platform, chat_id, chat_kind, "
        "requester, requester_name, text, summary, enterprise, contact, phone, deadline, urgent, "
        "category, service_type, region, menu_no, lead, claimed_at, private, announced, "
        "visit_at, visit_mode, active_at, completed_at, outcome, rating, rating_stars, "
        "rating_comment, rated_at, ended_at, end_reason, excellent) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    rows.clear()


def _life(w: Writer, rnd: random.Random, no: int, created: datetime, end: datetime,
          platform: str, chat: str, requester: str, announced: list[str], pool: list[str],
          row: dict[str, Any], inbound: Any) -> None:
    """Claim, assist, schedule, progress, complete, rate (or cancel, close): up to `end`."""
    r = rnd.random()
    if r < 0.05:  # cancelled by the requester before anyone claimed
        at = created + timedelta(hours=rnd.uniform(0.5, 72))
        if at < end:
            inbound(platform, at)
            _event(w, at, requester, "order.cancelled", no, reason="问题已自行解决")
            _out(w, at, platform, chat, "group", f"#{no} 已撤销（问题已自行解决）。", [])
            row.update(state="cancelled", updated=at, ended_at=at, end_reason="问题已自行解决")
        return
    if r < 0.08:  # nobody claimed: closed by an admin after the escalation
        at = created + timedelta(days=rnd.uniform(3, 10))
        if at < end:
            inbound(platform, at)
            _event(w, at, "dingtalk:admin", "order.closed", no, reason="企业已另行解决")
            _out(w, at, platform, chat, "group", f"#{no} 已关闭（企业已另行解决）。", [])
            row.update(state="closed", updated=at, ended_at=at, end_reason="企业已另行解决")
        return
    at = created + timedelta(hours=min(rnd.expovariate(1 / 5), 120))
    if at >= end:
        return
    lead = rnd.choice(announced) if rnd.random() < 0.75 else rnd.choice(pool)
    inbound(platform, at)
    if rnd.random() < 0.05:
        _event(w, at, "dingtalk:admin", "order.assigned", no, expert=lead, previous=None,
               reason="")
    else:
        _event(w, at, f"{platform}:{lead.replace('X', 'ding')}", "order.claimed", no,
               expert=lead)
    w.add("order_experts", at, (no, lead, "lead", ts(at)))
    _out(w, at, platform, chat, "group", f"接单成功 #{no}\n您的点单由 {lead} 接单。", [])
    _out(w, at, platform, f"dm-{lead}", "single", f"您已接单 #{no}\n需求：…", [],
         to_user=lead)
    row.update(state="claimed", updated=at, lead=lead, claimed_at=at)
    team = [lead]
    if rnd.random() < 0.15:
        a_at = at + timedelta(hours=rnd.uniform(0.5, 48))
        helper = rnd.choice(pool)
        if a_at < end and helper != lead:
            inbound(platform, a_at)
            w.add("order_experts", a_at, (no, helper, "assist", ts(a_at)))
            _event(w, a_at, f"{platform}:{helper}", "order.assisted", no, expert=helper)
            team.append(helper)
            row.update(updated=a_at)
    actor = f"{platform}:{lead.replace('X', 'ding')}"
    t = at
    if rnd.random() < 0.6:
        t = at + timedelta(hours=rnd.uniform(1, 48))
        if t >= end:
            return
        visit = datetime.combine(t.date() + timedelta(days=rnd.randint(1, 7)),
                                 datetime.min.time(), tzinfo=SHANGHAI) + timedelta(
            hours=rnd.choice((9, 10, 14, 15)))
        mode = rnd.choice(("现场", "现场", "线上"))
        inbound(platform, t)
        _event(w, t, actor, "order.scheduled", no, visit_at=ts(visit), mode=mode, expert=lead)
        _out(w, t, platform, chat, "group", f"#{no} 已预约：{visit:%m月%d日 %H:%M} {mode}", [])
        row.update(state="scheduled", updated=t, visit_at=visit, visit_mode=mode, active_at=t)
        t = visit
    if rnd.random() < 0.25:
        p_at = t + timedelta(hours=rnd.uniform(1, 24))
        if p_at >= end:
            return
        inbound(platform, p_at)
        _event(w, p_at, actor, "order.progress", no, note="已远程指导，调整了工艺参数")
        if rnd.random() < 0.4:
            _session(w, rnd, no, p_at, actor, team)
        _out(w, p_at, platform, chat, "group", f"已记录 #{no} 的进展：已远程指导", [])
        row.update(updated=p_at, active_at=p_at)
        t = p_at
    c_at = t + timedelta(hours=rnd.uniform(2, 24 * rnd.choice((1, 3, 7))))
    if c_at >= end:
        return
    code, word = rnd.choice(RESULTS)
    inbound(platform, c_at)
    _event(w, c_at, actor, "order.completed", no, outcome=code, note=f"{word} 服务2小时")
    _session(w, rnd, no, c_at, actor, team)
    _out(w, c_at, platform, chat, "group",
         f"#{no} 已办结：{word}。感谢 {'、'.join(team)} 的服务！\n"
         f"请点单人回复「评价 {no} 满意」", [])
    row.update(state="completed", updated=c_at, completed_at=c_at, outcome=code, active_at=c_at)
    if rnd.random() < 0.75:
        r_at = c_at + timedelta(hours=min(rnd.expovariate(1 / 30), 24 * 20))
        if r_at >= end:
            return
        word, stars = rnd.choice(RATINGS)
        inbound(platform, r_at)
        _event(w, r_at, requester, "order.rated", no, rating=word, stars=stars,
               comment="师傅很专业")
        _out(w, r_at, platform, chat, "group", f"感谢评价！#{no} {word}：师傅很专业", [])
        row.update(state="rated", updated=r_at, rating=word, stars=stars, comment="师傅很专业",
                   rated_at=r_at)


def _session(w: Writer, rnd: random.Random, no: int, at: datetime, actor: str,
             team: list[str]) -> None:
    hours = rnd.choice((1.0, 2.0, 2.0, 3.0, 4.0, 0.5, None))
    sugg = rnd.choice((0, 1, 2, 3, 5, None))
    ben = rnd.choice((5, 10, 20, 30, 60, None))
    mode = rnd.choice(("现场", "线上"))
    w.add("sessions", at, (no, ts(at), mode, hours, sugg, ben, json.dumps(team), "服务记录",
                           actor))
    _event(w, at, actor, "session.logged", no, experts=team, hours=hours, suggestions=sugg,
           beneficiaries=ben, mode=mode)


def _reminders(w: Writer, rnd: random.Random, no: int, created: datetime, end: datetime,
               row: dict[str, Any], deadline: date | None) -> None:
    """The sent-log rows the sweeps wrote for this order by `end` (so a sweep at `end`
    finds little new, as on a bot that has been running all along)."""
    def sent(key: str, at: datetime) -> None:
        if at < end:
            w.add("reminders_sent", at, (key, ts(at), no))
            _event(w, at, "bot", "reminder.sent", no, key=key)

    claimed = row["claimed_at"]
    first_end = claimed or row["ended_at"] or end
    if first_end - created >= timedelta(hours=24):
        sent(f"reannounce:{no}", created + timedelta(hours=24, minutes=3))
    if first_end - created >= timedelta(hours=48):
        sent(f"escalate:{no}", created + timedelta(hours=48, minutes=3))
    if row["completed_at"] and (row["rated_at"] or end) - row["completed_at"] >= timedelta(days=2):
        sent(f"rate:{no}", row["completed_at"] + timedelta(days=2, minutes=3))
    if row["state"] in ("claimed", "scheduled"):
        last = max(x for x in (claimed, row["active_at"], created) if x)
        future = row["visit_at"] is not None and row["visit_at"] > end
        due_at = add_workdays(last, 2)
        if not future and end >= due_at:
            sent(f"stale:{no}:{last.isoformat()}", due_at)
        if row["state"] == "scheduled" and row["visit_at"]:
            eve = datetime.combine(row["visit_at"].date() - timedelta(days=1),
                                   datetime.min.time(), tzinfo=SHANGHAI) + timedelta(hours=18)
            sent(f"visit:{no}:{row['visit_at'].date()}", eve)
    if deadline and row["state"] in ("open", "claimed", "scheduled"):
        d_at = datetime.combine(deadline - timedelta(days=1), datetime.min.time(),
                                tzinfo=SHANGHAI) + timedelta(hours=9)
        sent(f"deadline:{no}", max(d_at, created))


def _monthly_keys(w: Writer, chats: dict[tuple[str, str], datetime], first: date,
                  end: datetime) -> None:
    """The monthly tallies posted on `first` (report day 1 at 09:00) to the groups served."""
    due = datetime.combine(first, datetime.min.time(), tzinfo=SHANGHAI) + timedelta(hours=9)
    if due >= end:
        return
    prev = first - timedelta(days=1)
    for (platform, chat), since in chats.items():
        if since < due:
            key = f"monthly:{prev:%Y-%m}:{platform}:{chat}"
            w.add("reminders_sent", due, (key, ts(due), None))
            _event(w, due, "bot", "reminder.sent", None, key=key)


if __name__ == "__main__":
    raise SystemExit(main())
