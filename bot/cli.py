"""The `diandan` command: demo, run, parse, route, experts, menu, report, remind, export."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

from bot.config import Config, ConfigError, StorageConfig, check_exposure, load
from bot.model import SHANGHAI, FrozenClock, SystemClock

DEMO_DB = "data/demo.db"


class CliError(Exception):
    """A one-line error for stderr."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"diandan: {message}\n")


def _common(p: argparse.ArgumentParser, suppress: bool) -> None:
    d: dict[str, Any] = {"default": argparse.SUPPRESS} if suppress else {}
    p.add_argument("--config", help="config file (default: config.toml if present)",
                   **({"default": None} if not suppress else d))
    p.add_argument("--db", help="SQLite file (overrides [storage] path)",
                   **({"default": None} if not suppress else d))
    p.add_argument("--json", action="store_true", help="write one JSON document to stdout",
                   **({"default": False} if not suppress else d))
    p.add_argument("--now", help="ISO 8601 time to use instead of the clock",
                   **({"default": None} if not suppress else d))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="diandan", description="匠心点单: the union volunteer-service bot")
    _common(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def leaf(group: Any, name: str, fn: Callable[[argparse.Namespace], int],
             help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = group.add_parser(name, help=help_text)
        _common(p, suppress=True)
        p.set_defaults(func=fn)
        return p

    demo = leaf(sub, "demo", cmd_demo, "local web chat with sample experts and menu")
    demo.add_argument("--port", type=int, default=8080)
    demo.add_argument("--host", default="127.0.0.1")
    leaf(sub, "run", cmd_run, "run the platforms enabled in the config")
    leaf(sub, "parse", cmd_parse, "read JSON lines {text} on stdin, print what they say")
    route = leaf(sub, "route", cmd_route, "read JSON lines {text, region} on stdin, rank experts")
    route.add_argument("--top", type=int, default=3)
    export = leaf(sub, "export", cmd_export, "the ledger (台账) or the excellent-case booklet")
    export.add_argument("--format", required=True, choices=["csv", "xlsx", "html", "docx"],
                        help="csv or xlsx for the ledger; html or docx with --cases")
    export.add_argument("--month", help="YYYY-MM (default: every order)")
    export.add_argument("--cases", action="store_true", help="the excellent-case booklet")
    export.add_argument("--out", required=True, help="the file to write")
    remind = leaf(sub, "remind", cmd_remind, "run the reminder sweep once")
    remind.add_argument("--dry-run", action="store_true", help="print what is due, write nothing")
    report = leaf(sub, "report", cmd_report, "the tally of a month or a date range")
    report.add_argument("--month", help="YYYY-MM")
    report.add_argument("--from", dest="date_from", help="first day, YYYY-MM-DD")
    report.add_argument("--to", dest="date_to", help="last day, YYYY-MM-DD (included)")
    report.add_argument("--campaign", help="a campaign named in [report.campaigns]")
    report.add_argument("--scope", default="all",
                        help="all, region:<name>, team:<name> or group:<chat id>")
    experts = sub.add_parser("experts", help="the expert roster")
    esub = experts.add_subparsers(dest="experts_command", required=True, parser_class=_Parser)
    imp = leaf(esub, "import", cmd_experts_import, "import a roster file (CSV or XLSX)")
    imp.add_argument("file")
    leaf(esub, "list", cmd_experts_list, "list the roster")
    menu = sub.add_parser("menu", help="the service menu (服务清单)")
    msub = menu.add_subparsers(dest="menu_command", required=True, parser_class=_Parser)
    mimp = leaf(msub, "import", cmd_menu_import, "import menu items (CSV or XLSX)")
    mimp.add_argument("file")
    leaf(msub, "list", cmd_menu_list, "list the menu")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if os.environ.get("DIANDAN_DEBUG") else logging.INFO,
                        stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # it logs every run at INFO
    try:
        code: int = args.func(args)
        return code
    except (CliError, ConfigError) as exc:
        print(f"diandan: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `diandan experts list | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except sqlite3.Error as exc:
        print(f"diandan: database error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: one line for the user; DIANDAN_DEBUG=1 logs the traceback
        logging.getLogger(__name__).debug("unexpected error", exc_info=True)
        print(f"diandan: unexpected error: {exc!r}", file=sys.stderr)
        return 1


def _config(args: argparse.Namespace) -> Config:
    return load(args.config).with_db(args.db)


def _now(args: argparse.Namespace) -> datetime | None:
    if not args.now:
        return None
    try:
        t = datetime.fromisoformat(args.now)
    except ValueError:
        raise CliError(f"--now must be an ISO 8601 time, not {args.now!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=SHANGHAI)


def _store(args: argparse.Namespace) -> Any:
    from storage.schema import connect
    from storage.store import Store

    config = _config(args)
    now = _now(args)
    try:
        db = connect(config.storage.path)
    except (sqlite3.Error, OSError) as exc:  # unreadable or read-only file, not a database
        raise CliError(f"cannot open database {config.storage.path}: {exc}") from None
    return Store(db, FrozenClock(now) if now else SystemClock())


def _serve(app: Any) -> int:
    from bot.app import AlreadyRunning, run_until_signalled

    try:
        asyncio.run(run_until_signalled(app))
    except AlreadyRunning as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:  # e.g. the port is taken
        raise CliError(f"cannot start the server: {exc}") from None
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
    except sqlite3.Error as exc:
        raise CliError(f"cannot open database {config.storage.path}: {exc}") from None


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
                raise ValueError("each line must be a JSON object with a string text")
            if item.get("region") is not None and not isinstance(item["region"], str):
                raise ValueError("region must be a string")
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
    _imported({"added": added, "updated": updated}, errors, args.json,
              f"导入完成：新增 {added} 人，更新 {updated} 人，有误 {len(errors)} 行")
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
        done = await app.run_jobs(dry_run=args.dry_run)
        for r in done:
            print(("待发送：" if args.dry_run else "已排队：") + r.line)
        if not done:
            print("没有到期的提醒。")
        if not args.dry_run and not bot_running(app.config.storage.path):
            sent: int = await app.outbox.drain()  # no bot is running: deliver them ourselves
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
        raise CliError("give one of --month YYYY-MM, --from D --to D, or --campaign NAME")
    try:
        scope = Scope.parse(args.scope)
        if args.month:
            m = re.fullmatch(r"(\d{4})-(\d{2})", args.month)
            if not m:
                raise CliError(f"--month must be YYYY-MM, not {args.month!r}")
            period: Period = month(int(m.group(1)), int(m.group(2)))
        elif args.campaign:
            config = _config(args)
            if args.campaign not in config.report.campaigns:
                raise CliError(f"unknown campaign {args.campaign!r}")
            period = parse_period(args.campaign, _now(args) or datetime.now(SHANGHAI),
                                  config.report.campaigns)
        else:
            if not (args.date_from and args.date_to):
                raise CliError("--from and --to go together")
            period = days(date.fromisoformat(args.date_from), date.fromisoformat(args.date_to))
    except (PeriodError, ValueError) as exc:
        raise CliError(str(exc)) from None
    store = _store(args)
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


def cmd_route(args: argparse.Namespace) -> int:
    from bot.matching import Routing
    from bot.text.match_embed import default_embedder

    if args.top < 1:
        raise CliError("--top must be at least 1")
    store = _store(args)
    embedder = default_embedder() if _config(args).bot.semantic else None
    routing = Routing(store, embedder, eager=True)
    for item in _json_lines({"experts": []}):
        ranked = routing.rank(item["text"], item.get("region") or None, args.top)
        _emit({"experts": [
            {"id": m.id, "name": m.name, "score": round(m.score, 4), "reasons": list(m.reasons)}
            for m in ranked]})
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from bot.exports import write_ledger
    from bot.exports_booklet import write_cases
    from bot.periods import PeriodError, month

    if args.cases != (args.format in ("html", "docx")):
        raise CliError("the ledger is csv or xlsx; the case booklet (--cases) is html or docx")
    period = None
    if args.month:
        m = re.fullmatch(r"(\d{4})-(\d{2})", args.month)
        try:
            if not m:
                raise PeriodError(f"--month must be YYYY-MM, not {args.month!r}")
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
        raise CliError(f"cannot write {args.out}: {exc.strerror or exc}") from None
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
