"""The `diandan` command's arguments, with its help and its errors in Chinese."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

Command = Callable[[argparse.Namespace], int]

# argparse's own messages (CPython 3.11 Lib/argparse.py), as an admin reads them.
_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), chinese) for pattern, chinese in (
        (r"^the following arguments are required: (.+)$", r"缺少参数：\1"),
        (r"^unrecognized arguments: (.+)$", r"无法识别的参数：\1"),
        (r"^one of the arguments (.+) is required$", r"以下参数必须给出一个：\1"),
        (r"^argument (\S+): invalid choice: (.+?) \(choose from (.+)\)$",
         r"参数 \1 的取值 \2 无效（可选：\3）"),
        (r"^argument (\S+): invalid (\w+) value: (.+)$", r"参数 \1 的取值 \3 无效（应为 \2）"),
        (r"^argument (\S+): expected one argument$", r"参数 \1 后面需要一个值"),
        (r"^argument (\S+): not allowed with argument (\S+)$", r"参数 \1 不能与 \2 同时使用"),
        (r"^argument (\S+): ignored explicit argument (.+)$", r"参数 \1 不接受取值 \2"),
        (r"^ambiguous option: (\S+) could match (.+)$", r"选项 \1 不明确，可能是：\2"),
    ))


def chinese(message: str) -> str:
    """An argparse error message in Chinese (unknown ones are left as they are)."""
    for pattern, text in _ERRORS:
        if pattern.match(message):
            out = pattern.sub(text, message)
            return out.replace("（应为 int）", "（应为整数）").replace("（应为 float）",
                                                                 "（应为数字）")
    return message


class _Formatter(argparse.HelpFormatter):
    def add_usage(self, usage: str | None, actions: Any, groups: Any,
                  prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, "用法：" if prefix is None else prefix)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that speaks Chinese: one line on stderr for a bad argument."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        kwargs.setdefault("add_help", False)
        super().__init__(*args, **kwargs)
        self._positionals.title = "参数"
        self._optionals.title = "选项"
        self.add_argument("-h", "--help", action="help", help="显示本帮助并退出")

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"diandan: {chinese(message)}\n")


def _common(p: argparse.ArgumentParser, suppress: bool) -> None:
    def default(value: Any) -> dict[str, Any]:
        return {"default": argparse.SUPPRESS} if suppress else {"default": value}

    p.add_argument("--config", help="配置文件（默认：当前目录的 config.toml，没有则用内置默认值）",
                   **default(None))
    p.add_argument("--db", help="数据库：SQLite 文件或 postgresql:// 地址（代替配置的 [storage]）",
                   **default(None))
    p.add_argument("--json", action="store_true", help="向标准输出写一个 JSON 文档",
                   **default(False))
    p.add_argument("--now", help="用这个 ISO 8601 时间代替当前时间", **default(None))


def build_parser(commands: Mapping[str, Command]) -> argparse.ArgumentParser:
    """The parser; `commands` maps each subcommand path ("experts import") to its function."""
    parser = Parser(prog="diandan", description="匠心点单：工会劳模工匠志愿服务点单机器人")
    _common(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser,
                                title="命令", metavar="命令")

    def leaf(group: Any, name: str, path: str, help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = group.add_parser(name, help=help_text,
                                                      description=help_text)
        _common(p, suppress=True)
        p.set_defaults(func=commands[path])
        return p

    demo = leaf(sub, "demo", "demo", "本地网页聊天体验（示例专家和服务清单）")
    demo.add_argument("--port", type=int, default=8080, help="端口（默认 8080）")
    demo.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1）")
    leaf(sub, "run", "run", "按配置启用各平台，运行机器人")
    leaf(sub, "parse", "parse", "从标准输入逐行读 JSON {text}，输出识别结果")
    route = leaf(sub, "route", "route", "从标准输入逐行读 JSON {text, region}，推荐专家")
    route.add_argument("--top", type=int, default=3, help="推荐几位（默认 3）")
    export = leaf(sub, "export", "export", "导出台账或《优秀案例汇编》")
    export.add_argument("--format", required=True, choices=["csv", "xlsx", "html", "docx"],
                        help="台账用 csv 或 xlsx；案例汇编（--cases）用 html 或 docx")
    export.add_argument("--month", help="月份 YYYY-MM（默认全部点单）")
    export.add_argument("--cases", action="store_true", help="导出优秀案例汇编")
    export.add_argument("--out", required=True, help="写入的文件")
    remind = leaf(sub, "remind", "remind", "立即检查一次到期的提醒")
    remind.add_argument("--dry-run", action="store_true", help="只列出到期的提醒，不发送")
    report = leaf(sub, "report", "report", "某月或某时间段的统计")
    report.add_argument("--month", help="月份 YYYY-MM")
    report.add_argument("--from", dest="date_from", help="第一天 YYYY-MM-DD")
    report.add_argument("--to", dest="date_to", help="最后一天 YYYY-MM-DD（含）")
    report.add_argument("--campaign", help="配置 [report.campaigns] 中的活动名")
    report.add_argument("--scope", default="all",
                        help="范围：all、region:地区、team:服务队 或 group:群ID")
    experts = sub.add_parser("experts", help="专家库", description="专家库")
    esub = experts.add_subparsers(dest="experts_command", required=True, parser_class=Parser,
                                  title="命令", metavar="命令")
    imp = leaf(esub, "import", "experts import", "导入专家名单（CSV 或 XLSX）")
    imp.add_argument("file", help="名单文件")
    leaf(esub, "list", "experts list", "列出专家库")
    menu = sub.add_parser("menu", help="服务清单", description="服务清单")
    msub = menu.add_subparsers(dest="menu_command", required=True, parser_class=Parser,
                               title="命令", metavar="命令")
    mimp = leaf(msub, "import", "menu import", "导入服务清单（CSV 或 XLSX）")
    mimp.add_argument("file", help="清单文件")
    leaf(msub, "list", "menu list", "列出服务清单")
    lexicon = sub.add_parser("lexicon", help="推荐专家用的专长词库",
                             description="推荐专家用的专长词库（本地行业的专长和常见问题说法）")
    lsub = lexicon.add_subparsers(dest="lexicon_command", required=True, parser_class=Parser,
                                  title="命令", metavar="命令")
    ladd = leaf(lsub, "add", "lexicon add",
                "添加（或补充）一个专长：它在名单里的写法和职工对问题的说法")
    ladd.add_argument("--name", required=True, help="专长名称，如 汽轮机振动")
    ladd.add_argument("--term", action="append", help="名单里的写法（可多次），如 轴系振动")
    ladd.add_argument("--symptom", action="append",
                      help="职工、企业对问题的说法（可多次），如 机组一带负荷就抖")
    ladd.add_argument("--family", help="所属类别，如 热能动力")
    leaf(lsub, "list", "lexicon list", "列出已添加的专长")
    db = sub.add_parser("db", help="数据库维护", description="数据库维护")
    dsub = db.add_subparsers(dest="db_command", required=True, parser_class=Parser,
                             title="命令", metavar="命令")
    dcopy = leaf(dsub, "copy", "db copy",
                 "把当前数据库整个复制到另一个空数据库（迁移安装，如从 SQLite 换到 PostgreSQL），"
                 "并逐表核对行数和校验和")
    dcopy.add_argument("--to", required=True, metavar="目标",
                       help="目标：SQLite 文件路径或 postgresql:// 地址（须为空库，新库自动建表）")
    return parser
