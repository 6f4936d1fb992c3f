"""The `diandan` command: demo, run, parse, route, experts, menu, report, remind, export, db."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot import cli_args
from bot.config import Config, ConfigError, StorageConfig, check_exposure, load
from bot.model import SHANGHAI, FrozenClock, SystemClock
from storage.db import DB_ERRORS, DB_OR_OS_ERRORS, Database

DEMO_DB = "data/demo.db"
log = logging.getLogger(__name__)


class CliError(Exception):
    """A one-line error for stderr."""


def build_parser() -> argparse.ArgumentParser:
    return cli_args.build_parser({
        "demo": cmd_demo, "run": cmd_run, "parse": cmd_parse, "route": cmd_route,
        "export": cmd_export, "remind": cmd_remind, "report": cmd_report,
        "experts import": cmd_experts_import, "experts list": cmd_experts_list,
        "menu import": cmd_menu_import, "menu list": cmd_menu_list,
        "lexicon add": cmd_lexicon_add, "lexicon list": cmd_lexicon_list,
        "db copy": cmd_db_copy,
    })


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if os.environ.get("DIANDAN_DEBUG") else logging.INFO,
                        stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # it logs every run at INFO
    try:
        code: int = args.func(args)
        if getattr(args, "database", None):  # which database it read (demo data: data/demo.db)
            log.info("数据库：%s", args.database)
        return code
    except (CliError, ConfigError) as exc:
        print(f"diandan: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `diandan experts list | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except DB_ERRORS as exc:
        print(f"diandan: 数据库出错：{exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: one line for the user; DIANDAN_DEBUG=1 logs the traceback
        logging.getLogger(__name__).debug("unexpected error", exc_info=True)
        print(f"diandan: 意外错误（设 DIANDAN_DEBUG=1 可在日志里看到详情）：{exc!r}",
              file=sys.stderr)
        return 1


def _config(args: argparse.Namespace) -> Config:
    return load(args.config).with_db(args.db)


def _now(args: argparse.Namespace) -> datetime | None:
    if not args.now:
        return None
    try:
        t = datetime.fromisoformat(args.now)
    except ValueError:
        raise CliError(f"--now 应为 ISO 8601 时间，例如 2026-05-06T10:00:00+08:00，"
                       f"而不是 {args.now!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=SHANGHAI)


def _store(args: argparse.Namespace) -> Any:
    from storage.schema import connect
    from storage.store import Store

    config = _config(args)
    now = _now(args)
    try:
        db = connect(config.storage.target)
    except DB_OR_OS_ERRORS as exc:  # unreadable or read-only file, not a database
        raise CliError(f"无法打开数据库 {config.storage.shown}：{exc}") from None
    args.database = config.storage.shown  # said at the end (the demo's is data/demo.db)
    return Store(db, FrozenClock(now) if now else SystemClock())


def _serve(app: Any) -> int:
    from bot.app import AlreadyRunning, run_until_signalled
    from bot.heap import limit_malloc_arenas

    limit_malloc_arenas()

    try:
        asyncio.run(run_until_signalled(app))
    except AlreadyRunning as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:  # e.g. the port is taken
        raise CliError(f"无法启动服务：{exc}") from None
    return 0


def _app(args: argparse.Namespace, config: Config | None = None, semantic: bool = False
         ) -> Any:
    from bot.app import build_app
    from bot.text.match_embed import default_embedder

    config = config or _config(args)
    check_exposure(config)  # before anything slow: a refusal comes at once
    now = _now(args) if "now" in args else None
    try:
        return build_app(config, FrozenClock(now) if now else None,
                         default_embedder() if semantic and config.bot.semantic else None)
    except DB_ERRORS as exc:
        raise CliError(f"无法打开数据库 {config.storage.shown}：{exc}") from None


def cmd_run(args: argparse.Namespace) -> int:
    return _serve(_app(args, semantic=True))


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.loaders import seed

    base = load(args.config)
    admins = tuple(dict.fromkeys((*base.bot.admins, "local:admin")))
    config = replace(
        base,
        storage=StorageConfig(path=args.db or DEMO_DB),
        server=replace(base.server, host=args.host, port=args.port),
        local=replace(base.local, enabled=True),
        bot=replace(base.bot, admins=admins),
    )
    app = _app(args, config, semantic=True)
    seed(app.store)
    print(f"匠心点单 demo: http://{args.host}:{args.port}/", flush=True)
    return _serve(app)


def cmd_parse(args: argparse.Namespace) -> int:
    from bot.text.parse import parse

    fixed = _now(args)
    for item in _json_lines({}):
        now = fixed or datetime.now(SHANGHAI)
        _emit(parse(item["text"], now).contract_json())
    return 0


def _emit(obj: dict[str, Any]) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def _json_lines(on_error: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The JSON objects {"text": …} read from stdin, one a line; a bad line is answered
    with `on_error` plus an "error" key, in its place, so outputs stay aligned."""
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                raise ValueError("每行应为一个 JSON 对象，含字符串 text")
            if item.get("region") is not None and not isinstance(item["region"], str):
                raise ValueError("region 应为字符串")
        except ValueError as exc:
            _emit({"error": str(exc), **on_error})
            continue
        yield item


def cmd_experts_import(args: argparse.Namespace) -> int:
    from bot.loaders import import_roster
    from bot.roster import RosterFormatError

    store = _store(args)
    try:
        added, updated, errors = import_roster(store, Path(args.file), actor="cli")
    except RosterFormatError as exc:
        raise CliError(str(exc)) from None
    from bot.lexicon_admin import unknown_specialties

    unknown = unknown_specialties((s for e in store.experts() for s in (*e.skills, *e.tags)),
                                  store.lexicon_entries())
    summary = f"导入完成：新增 {added} 人，更新 {updated} 人，有误 {len(errors)} 行"
    if unknown:
        summary += (f"\n其中 {len(unknown)} 项专长词库里还没有对应的说法"
                    f"（如 {'、'.join(unknown[:5])}），推荐时只按字面和语义匹配；"
                    "可用 diandan lexicon add 补充职工对这些问题的说法。")
    _imported({"added": added, "updated": updated, "unknown_specialties": len(unknown)},
              errors, args.json, summary)
    return 1 if errors else 0  # the good rows are loaded; a script still sees the refusals


def _imported(counts: dict[str, int], errors: list[Any], as_json: bool, summary: str) -> None:
    """Report a file import: the counts (or a Chinese summary) on stdout, bad rows on stderr."""
    from bot.roster import format_errors

    if as_json:
        _emit({**counts, "errors": [{"line": e.line, "message": e.message} for e in errors]})
    else:
        print(summary)
    for line in format_errors(errors):
        print(line, file=sys.stderr)


def cmd_experts_list(args: argparse.Namespace) -> int:
    store = _store(args)
    experts = store.experts()
    if args.json:
        print(json.dumps({"experts": [
            {"id": e.id, "name": e.name, "phone": e.phone, "title": e.title, "team": e.team,
             "region": e.region, "skills": list(e.skills), "tags": list(e.tags),
             "accounts": list(e.accounts), "capacity": e.capacity, "status": e.status}
            for e in experts]}, ensure_ascii=False))
        return 0
    if not experts:
        print("专家库为空。用 diandan experts import 文件 导入名单。")
    for e in experts:
        status = "" if e.status == "active" else f" [{e.status}]"
        print(f"{e.id}\t{e.name}\t{e.title}\t{e.team}\t{e.region}\t{'、'.join(e.skills)}{status}")
    return 0


def cmd_remind(args: argparse.Namespace) -> int:
    from bot.runlock import bot_running

    app = _app(args)

    async def go() -> int:
        args.database = app.config.storage.shown
        done = await app.run_jobs(dry_run=args.dry_run)
        sent: int | None = None
        if not args.dry_run and (app.config.storage.url
                                     or not bot_running(app.config.storage.path)):
            sent = await app.outbox.drain()  # no bot is running: deliver them ourselves
        if args.json:
            _emit({"dry_run": bool(args.dry_run), "sent": sent,
                   "reminders": [{"order": r.order_no, "line": r.line} for r in done]})
            return 0
        for r in done:
            print(("待发送：" if args.dry_run else "已排队：") + r.line)
        if not done:
            print("没有到期的提醒。")
        if sent is not None:
            print(f"已发送 {sent} 条消息。", file=sys.stderr)
        return 0

    try:
        return asyncio.run(go())
    finally:
        app.store.db.close()


def cmd_report(args: argparse.Namespace) -> int:
    from bot.periods import Period, PeriodError, days, month, parse_period
    from handlers.report import tally_text
    from storage.tallies import Scope, tally

    chosen = [x for x in (args.month, args.date_from or args.date_to, args.campaign) if x]
    if len(chosen) != 1:
        raise CliError("请给出 --month YYYY-MM、--from 日期 --to 日期 "
                       "或 --campaign 活动名 中的一种")
    try:
        scope = Scope.parse(args.scope)
        if args.month:
            m = re.fullmatch(r"(\d{4})-(\d{2})", args.month)
            if not m:
                raise CliError(f"--month 应为 YYYY-MM，而不是 {args.month!r}")
            period: Period = month(int(m.group(1)), int(m.group(2)))
        elif args.campaign:
            config = _config(args)
            if args.campaign not in config.report.campaigns:
                raise CliError(f"配置 [report.campaigns] 中没有活动 {args.campaign!r}")
            period = parse_period(args.campaign, _now(args) or datetime.now(SHANGHAI),
                                  config.report.campaigns)
        else:
            if not (args.date_from and args.date_to):
                raise CliError("--from 和 --to 需要一起给出")
            period = days(_day(args.date_from), _day(args.date_to))
    except (PeriodError, ValueError) as exc:
        raise CliError(str(exc)) from None
    store = _store(args)
    if not store.orders(limit=1):
        print(f"diandan: 数据库 {_config(args).storage.shown} 里还没有任何点单"
              "（演示数据在 data/demo.db，可加 --db data/demo.db）。", file=sys.stderr)
    t = tally(store.db, period.start, period.end, scope)
    if args.json:
        print(json.dumps({**t, "period": {"from": period.start.date().isoformat(),
                                          "to": (period.end.date() - timedelta(days=1)).isoformat(),
                                          "label": period.label},
                          "scope": args.scope}, ensure_ascii=False))
    else:
        prev = period.previous()
        print(tally_text(t, period, scope.label() if scope.kind != "all" else "",
                         tally(store.db, prev.start, prev.end, scope)))
    return 0


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CliError(f"日期应为 YYYY-MM-DD，而不是 {text!r}") from None


def cmd_route(args: argparse.Namespace) -> int:
    from bot.matching import Routing
    from bot.text.match_embed import default_embedder

    if args.top < 1:
        raise CliError("--top 至少为 1")
    store = _store(args)
    if not store.experts():
        print(f"diandan: 数据库 {_config(args).storage.shown} 的专家库是空的：先用 "
              "diandan experts import 名单.csv 导入，或加 --db data/demo.db 使用演示数据。",
              file=sys.stderr)
    embedder = default_embedder() if _config(args).bot.semantic else None
    routing = Routing(store, embedder, eager=True)
    for item in _json_lines({"experts": []}):
        ranked = routing.rank(item["text"], item.get("region") or None, args.top)
        _emit({"experts": [
            {"id": m.id, "name": m.name, "score": round(m.score, 4), "reasons": list(m.reasons),
             "sure": m.sure}
            for m in ranked]})
        routing.keep_vectors_now()  # profile vectors, for the next run (not the order's)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from bot.exports import write_ledger
    from bot.exports_booklet import write_cases
    from bot.periods import PeriodError, month

    if args.cases != (args.format in ("html", "docx")):
        raise CliError("台账用 --format csv 或 xlsx；案例汇编（--cases）用 html 或 docx")
    period = None
    if args.month:
        m = re.fullmatch(r"(\d{4})-(\d{2})", args.month)
        try:
            if not m:
                raise PeriodError(f"--month 应为 YYYY-MM，而不是 {args.month!r}")
            period = month(int(m.group(1)), int(m.group(2)))
        except PeriodError as exc:
            raise CliError(str(exc)) from None
    store = _store(args)
    try:
        if args.cases:
            count = write_cases(store, args.out, args.format)
            what = "优秀案例"
        else:
            count = write_ledger(store, args.out, args.format, period)
            what = "点单"
    except OSError as exc:
        raise CliError(f"无法写入 {args.out}：{exc.strerror or exc}") from None
    if args.json:
        print(json.dumps({"out": args.out, "rows": count}, ensure_ascii=False))
    else:
        print(f"已导出 {count} 条{what}到 {args.out}")
    return 0


def cmd_menu_import(args: argparse.Namespace) -> int:
    from bot.loaders import import_menu
    from bot.roster import RosterFormatError

    store = _store(args)
    try:
        count, errors = import_menu(store, Path(args.file), actor="cli")
    except RosterFormatError as exc:
        raise CliError(str(exc)) from None
    _imported({"imported": count}, errors, args.json,
              f"导入完成：服务清单 {count} 项，有误 {len(errors)} 行")
    return 1 if errors else 0


def cmd_lexicon_add(args: argparse.Namespace) -> int:
    from bot.lexicon_admin import LexiconError, check_addition

    try:
        name, terms, symptoms = check_addition(args.name, args.term or [], args.symptom or [])
    except LexiconError as exc:
        raise CliError(str(exc)) from None
    store = _store(args)
    store.add_lexicon(name, terms, symptoms, actor="cli", family=args.family or "")
    if args.json:
        _emit({"name": name, "terms": list(terms), "symptoms": list(symptoms)})
    else:
        print(f"已添加：{name}（专长说法 {len(terms)} 条，常见问题说法 {len(symptoms)} 条），"
              "机器人下一次推荐专家时即生效。")
    return 0


def cmd_lexicon_list(args: argparse.Namespace) -> int:
    entries = _store(args).lexicon_entries()
    if args.json:
        _emit({"entries": [{"name": n, "family": f, "terms": list(t), "symptoms": list(s)}
                           for n, f, t, s in entries]})
        return 0
    if not entries:
        print("还没有添加过专长词条。用 diandan lexicon add --name 专长 --symptom 说法 添加。")
    for name, family, terms, symptoms in entries:
        print(f"{name}\t{family}\t{'、'.join(terms)}\t{'；'.join(symptoms)}")
    return 0


def cmd_menu_list(args: argparse.Namespace) -> int:
    store = _store(args)
    items = store.menu(active_only=False)
    if args.json:
        _emit({"menu": [{"no": m.no, "title": m.title, "description": m.description,
                         "provider": m.provider, "category": m.category, "mode": m.mode,
                         "active": m.active} for m in items]})
        return 0
    if not items:
        print("服务清单为空。用 diandan menu import 文件 导入。")
    for m in items:
        print(f"{m.no}\t{m.title}\t{m.category}\t{m.mode}\t{m.provider}"
              + ("" if m.active else "\t[已下架]"))
    return 0


BACKENDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _open_db(storage: StorageConfig, role: str) -> Database:
    """Open (and migrate) the database `storage` names, or a one-line CliError."""
    from storage.schema import connect

    try:
        return connect(storage.target)
    except ImportError:  # psycopg: the postgresql extra is not installed
        raise CliError("使用 PostgreSQL 需要先安装 psycopg："
                       "pip install 'diandan-bot[postgresql]'") from None
    except DB_OR_OS_ERRORS as exc:
        raise CliError(f"无法打开{role}数据库 {storage.shown}：{_one_line(exc, storage)}"
                       ) from None


def _one_line(exc: Exception, *named: StorageConfig) -> str:
    """A driver's message on one line, without the password of any URL in `named`."""
    text = " ".join(str(exc).split())
    for storage in named:
        password = urlsplit(storage.url).password if storage.url else None
        if password:
            text = text.replace(password, "***")
    return text


def cmd_db_copy(args: argparse.Namespace) -> int:
    from bot.runlock import bot_running
    from storage.copy import CopyError, TableCopy, copy_database
    from storage.db import is_url

    source_at = _config(args).storage
    target_at = StorageConfig(url=args.to) if is_url(args.to) else StorageConfig(path=args.to)
    same_file = not (source_at.url or target_at.url) and (
        Path(source_at.path).resolve() == Path(target_at.path).resolve())
    if source_at.target == target_at.target or same_file:
        raise CliError(f"目标 {target_at.shown} 就是当前的数据库：--to 应给出另一个（空的）数据库")
    if not source_at.url and bot_running(source_at.path):
        print(f"diandan: 注意：机器人正在使用 {source_at.shown}，复制开始之后它写入的数据不会"
              "出现在目标库里；迁移时请先停止机器人。", file=sys.stderr)
    source = _open_db(source_at, "源")
    try:
        target = _open_db(target_at, "目标")
        try:
            names = (f"{source_at.shown}（{BACKENDS.get(source.kind, source.kind)}）",
                     f"{target_at.shown}（{BACKENDS.get(target.kind, target.kind)}）")
            if not args.json:
                print(f"源数据库：{names[0]}\n目标数据库：{names[1]}", flush=True)
            try:
                tables: list[TableCopy] = copy_database(source, target)
                failure: CopyError | None = None
            except CopyError as exc:
                tables, failure = exc.tables, exc
            except DB_ERRORS as exc:
                raise CliError("复制失败，已撤销（目标库未写入任何数据）："
                               + _one_line(exc, source_at, target_at)) from None
        finally:
            target.close()
    finally:
        source.close()
    if args.json and (tables or failure is None):
        _emit({"source": source_at.shown, "target": target_at.shown,
               "ok": failure is None, "rows": sum(t.source_rows for t in tables),
               "tables": [{"table": t.name, "source_rows": t.source_rows,
                           "target_rows": t.target_rows, "source_sha256": t.source_sha256,
                           "target_sha256": t.target_sha256, "ok": t.ok} for t in tables]})
    elif tables:
        print("表" + " " * 18 + "    源行数  目标行数  校验和（sha256 前 16 位）")
        for t in tables:
            same = t.source_sha256[:16] + ("" if t.ok else f" ≠ {t.target_sha256[:16]}")
            print(f"{t.name:<20}{t.source_rows:>10}{t.target_rows:>10}  {same}")
    if failure is not None:
        raise CliError(str(failure))
    if not args.json:
        print(f"已复制 {len(tables)} 张表共 {sum(t.source_rows for t in tables)} 行到 "
              f"{target_at.shown}；每张表两边的行数和校验和一致。")
    return 0
