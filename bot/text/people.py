"""Contact names in a message: 联系人王建国, 吴经理, 张工, 老王, a name next to a phone number."""

from __future__ import annotations

import re
from functools import cache

from bot.text.lexicon import surnames, words
from bot.text.phones import PhoneMatch
from bot.text.regions import field_index

_CJK = re.compile(r"[\u4e00-\u9fff]")
# Characters that do not start or continue a given name (function words, field words, verbs).
_NOT_GIVEN = set(
    "因法案间题下位个些里面点式后前时家人们到过来去说是的了在和与及或等电手联号微先女经工主总"
    "师老小负厂公司单企问找请帮看我你他她这那不也都就还要会能可需想让给把被对从向为以将于上中内"
    "外有没无吧呢吗啊呀哦嘛啦处理解决一二三四五六七八九十两几每各该本其并且如果但所打座机拨姓名"
    "部科处室组队班办"
)
# Surname + title pairs that are ordinary words (施工 is construction, 全总 the national union).
_NOT_NAMES = {"施工", "车工", "童工", "包工", "管工", "全工", "和工", "时工", "成工", "明工",
              "全总", "费工", "车队长", "项目",
              "古董", "应工", "单工", "关工", "文工", "石工", "木工", "党工", "司工", "计工",
              "农工", "金工", "小时", "小于", "老于", "小米", "老化", "老成", "小成", "老实",
              "小康", "老牛", "小牛", "师傅", "师父", "老乡",
              "老师", "老是", "小心", "小型", "小批", "老总", "老板", "老旧", "小组",
              "原因", "方法", "方案", "时间", "高手", "高温", "高压", "高速", "高效", "高级",
              "金属",
              "江南", "温度", "温控", "黄色", "白色", "石材", "钱款", "曾经", "常规", "任何",
              "余量",
              "何时", "马达", "安装", "安全", "万元", "于是", "向下", "向上", "林场", "路面",
              "路线",
              "车间", "车床", "车辆", "和我", "明天", "明年", "明确", "管理", "管道", "管线",
              "单位",
              "关于", "关键", "程序", "邢台", "华为", "沙子", "水平", "龙头", "申请", "华东",
              "连续", "连接", "谈谈", "宁波", "温州", "金华", "湖州", "台州", "丽水", "舟山",
              "衢州",
              "嘉兴", "绍兴", "杭州", "江山", "海宁", "平湖", "东阳", "武义", "常山", "龙游",
              "龙泉",
              "景宁", "庆元", "安吉", "长兴", "德清", "桐乡", "诸暨", "余姚", "慈溪", "柯桥",
              "上虞"}
_TITLE_ENDS = ("书记", "主任", "经理", "主席", "厂长", "科长", "部长", "班长", "组长", "会计",
               "老板", "店长", "护士长", "站长", "所长", "院长", "校长")
# The sender introducing themselves in this clause: 我是…合作社的潘社长.
_SELF_WORDS = "我是|本人是|我叫|我这边是|我这里是"
_SELF = re.compile(f"(?:{_SELF_WORDS})[^,，。;；!！?？\n]*$")
# A role, then the person's name, in a self-introduction: 我是锦达家纺的技术主管刘涛.
_ROLE = re.compile(r"(?:主管|经理|主任|厂长|总监|负责人|工程师|技术员|班长|组长|会计|老板|部长|科长"
                   r"|处长|所长|站长|场长|社长|院长|校长|董事长|总经理|书记|主席"
                   r"|养殖户|种植户|农户|果农|茶农|车队长|队长|网格员|专员|文员|干事|社工)"
                   r"(?=[\u4e00-\u9fff])")
# A worker's job before their name in a self-introduction: 焊工小吴, 挡车工叫胡海燕.
_JOB = re.compile(r"[\u4e00-\u9fff]{0,3}?(?:工|司机|工人|员工|学徒|保安|保洁|技术员|操作员|仓管"
                  r"|文员|会计|出纳|店长|护士)(?:叫)?"
                  r"(?=[小老阿]|[\u4e00-\u9fff]{2,3}(?:[^\u4e00-\u9fff]|$))")
# A department or role between 联系人 and the name.
_HEAD = r"(?:主任|经理|主管|部长|科长|处长|厂长|车队长|项目经理|工会主席|队长|组长|班长)"
_DESK = r"(?:财务|会计|出纳|仓库|门卫|前台|行政|人事|技术|设备|安全|生产|质检|品管|采购|销售)"
_DEPT = re.compile(r"(?:(?:[\u4e00-\u9fff]{1,4}?(?:部|科|处|室|办|班组|班|中心)"
                   r"|[\u4e00-\u9fff]{0,4}?车间)"
                   f"{_HEAD}?|{_HEAD}|{_DESK})的?"  # 机务科的汪科长
                   r"(?=\s?[\u4e00-\u9fffA-Z])")
_INTRO_CUE = re.compile(f"{_SELF_WORDS}|叫我|我姓[\u4e00-\u9fff]{{1,2}}(?:名)?叫")
# Voice input runs a name into the next clause: …线束厂的叶建新最近端子压接….
_NEXT_CLAUSE = ("最近", "现在", "今天", "昨天", "这边", "那边", "我们", "因为", "需要", "想请",
                "想找", "想问", "有个", "这几天", "前几天", "平时", "主要")
# A clause ends at a mark, or at a space in voice input (我叫陈立新 是象山一家…).
_CLAUSE_END = re.compile(r"[,，。.;；!！?？\s]")
_WEAK_CUES = ("找", "问", "对接", "打给", "打电话给", "电话找")
_BLOCK_BEFORE = ("想", "要", "去", "帮我", "帮忙", "请", "邀请", "让", "派", "个", "位", "的")


@cache
def _title_re() -> re.Pattern[str]:
    titles = sorted(words("fields", "titles"), key=len, reverse=True)
    sn = sorted(surnames(), key=len, reverse=True)
    # 金总是 is "always", 张工艺 a process: a title must not start a longer word.
    return re.compile(f"({'|'.join(sn)})({'|'.join(titles)})"
                      r"(?<!总(?=[是结体共之部厂监裁经计数量额价成]))(?<!工(?=[艺作序资厂人具件程业位种况期装]))")


@cache
def _expert_title_re() -> re.Pattern[str]:
    titles = sorted(words("fields", "expert_titles"), key=len, reverse=True)
    sn = sorted(surnames(), key=len, reverse=True)
    return re.compile(f"({'|'.join(sn)})([\u4e00-\u9fff]{{0,2}}?)({'|'.join(titles)})")


@cache
def _cue_re() -> re.Pattern[str]:
    cues = sorted(words("fields", "contact_cues"), key=len, reverse=True)
    return re.compile(f"(?:{'|'.join(map(re.escape, cues))})(?:人|方式)?\\s*"
                      "(?:换成|改成|改为|变成|是|为|:|：)?\\s*")


def _surname_at(text: str, i: int) -> str | None:
    two = text[i:i + 2]
    if len(two) == 2 and two in surnames():
        return two
    one = text[i:i + 1]
    return one if one in surnames() else None


def name_at(text: str, i: int, strong: bool) -> str | None:
    """A person's name starting at text[i], or None.

    Surname + title (吴经理), 老王/小李, surname + one or two given characters (王建国). After a
    strong cue (联系人:) also 小芳-like nicknames and Latin names.
    """
    rest = text[i:i + 8]
    if not rest:
        return None
    m = _title_re().match(rest)
    if m and (strong or m.group() not in _NOT_NAMES):
        return m.group()
    m = _expert_title_re().match(rest)
    if m and not m.group(2):
        return m.group()
    if rest[0] in "老小阿" and len(rest) > 1 and _CJK.match(rest[1]):
        cand = rest[:2]
        known = rest[1] in surnames() or (strong and rest[1] not in _NOT_GIVEN)
        if cand not in _NOT_NAMES and known:
            return cand
    sn = _surname_at(text, i)
    if sn:
        given = ""
        for ch in text[i + len(sn):i + len(sn) + 2]:
            if not _CJK.match(ch) or ch in _NOT_GIVEN:
                break
            given += ch
        if len(given) == 2 and _title_re().match(text, i + len(sn) + 1):
            given = given[:1]  # 王明经理 → keep 王明; the title follows
        j = i + len(sn)
        if strong and not given and text[j:j + 1] == "小" and _CJK.match(text[j + 1:j + 2] or "x") \
                and text[j + 1] not in _NOT_GIVEN:
            given = text[j:j + 2]  # 沈小芳, after 联系人
        cand = sn + given
        if text[i + len(cand):i + len(cand) + 1] in set("部科处室组队班办厂司") - {""}:
            given = ""  # 安环部 is a department, not 安环
        if given and cand not in _NOT_NAMES and cand[:2] not in _NOT_NAMES:
            return cand
    if strong:
        return latin_name(text, i)
    return None


_LATIN = re.compile(r"[A-Z][a-z]+(?: [A-Z][a-z]+)?")
# An English name with a surname as a clause of its own, or before 联系 (王Tony联系), also after
# a role or a department (设备科王Tony).
_LATIN_CLAUSE = re.compile(r"(?:^|[,，。:：;；\s]|总监|经理|主管|主任|负责人|助理"
                           r"|[部科处室办]|车间|中心)"
                           r"([\u4e00-\u9fff]?[A-Z][a-z]+[\u4e00-\u9fff]?)"
                           r"(?=[,，。;；\s]|联系|$)")
_LATIN_HERE = re.compile(r"^([A-Z][a-z]+)\s+here\b")  # Linda here，…: the writer by name


def latin_name(text: str, i: int) -> str | None:
    """An English name at text[i], with a surname before or after it: Coco, Lily陈, 王Tony."""
    sn = _surname_at(text, i)
    if sn:
        m = _LATIN.match(text, i + len(sn))
        ends = m is not None and (not _CJK.match(text[m.end():m.end() + 1] or "x")
                      or text.startswith("联系", m.end()))  # 王Tony联系
        return sn + m.group() if m and ends else None
    m = _LATIN.match(text, i)
    if not m:
        return None
    after = _surname_at(text, m.end())
    if after and len(after) == 1 and not _CJK.match(text[m.end() + 1:m.end() + 2] or "x"):
        return m.group() + after  # Lily陈, not Lily 陈述
    return m.group()


def _boundary_before(text: str, i: int) -> bool:
    return i == 0 or not _CJK.match(text[i - 1]) or text[i - 1] in "是为叫找联系"


def find_contact(norm: str, phones: list[PhoneMatch]) -> str | None:
    """The contact person named in normalised text, or None ("我司/我们厂" are not names)."""
    for m in _cue_re().finditer(norm):
        cue = norm[m.start():m.end()].strip(" :：是为")
        weak = cue in _WEAK_CUES
        if weak and norm[max(0, m.start() - 2):m.start()].endswith(_BLOCK_BEFORE):
            continue
        if cue == "问" and norm[m.end():m.end() + 1] not in surnames() | {"老", "小"}:
            continue
        at = m.end()
        me = re.match(r"我[，,:：\s]*", norm[at:at + 3])  # 找我：小俞 / 0575-…
        if me and (cue in ("联系", "找", "打给") or me.end() > 1):
            at += me.end()  # 联系我小郑就行, 联系人是我，小褚
        name = name_at(norm, at, strong=not weak) or (latin_name(norm, at) if weak else None)
        if name and name not in _NOT_NAMES:
            return name  # …, 找Tony就行
        spaced = re.match(r"\s+", norm[at:at + 3])
        if spaced:  # 找 设备部 Kevin
            at += spaced.end()
            if not name:
                name = name_at(norm, at, strong=not weak)
                if name and name not in _NOT_NAMES:
                    return name
        pre = _DEPT.match(norm, at)  # 联系人 车队长邬国强 / 技术部金工 / 找培训部Coco
        dept = pre.group().removesuffix("的") if pre else ""
        if pre and (not weak or dept.endswith(("部", "科", "处", "室", "办", "中心"))
                    or re.fullmatch(_DESK, dept)):
            after_dept = pre.end() + len(norm[pre.end():pre.end() + 3]) - len(
                norm[pre.end():pre.end() + 3].lstrip())
            named = name_at(norm, after_dept, strong=True)
            if named:
                return named  # after a department, 金工 is a person
        if name:
            return name
        if not weak:  # 联系人：设备科 王科长 / 联系人 IT 主管 Kevin
            for t in re.finditer(r"\s+(?=\S)", norm[m.end():m.end() + 14]):
                name = name_at(norm, m.end() + t.end(), strong=True)
                if name:
                    return name
    for m in _INTRO_CUE.finditer(norm):  # 我是…人事部的周敏, 我叫钱阿根, 我是朱大叔
        begin = m.end() + len(norm[m.end():]) - len(norm[m.end():].lstrip())
        end = _CLAUSE_END.search(norm, begin)
        stop = end.start() if end else len(norm)
        starts = [begin] + [i + 1 for i in range(begin, stop) if norm[i] == "的"]
        for at in list(starts[1:]):  # …的焊工小吴, …的挡车工叫胡海燕, …的办公室小周
            job = _JOB.match(norm, at) or _DEPT.match(norm, at)
            if job:
                starts.append(job.end())
        desk = _DEPT.match(norm, begin)  # 我是设备科小应
        if desk and desk.end() < stop:
            starts.append(desk.end())
        for at in reversed(starts):
            name = name_at(norm, at, strong=True)
            after = norm[at + len(name):at + len(name) + 1] if name else ""
            if name and len(name) >= 2 and name not in _NOT_NAMES and not _a_place(name) and (
                    not after or not _CJK.match(after) or after in "在的,，我啊呀就"
                    or norm.startswith(_NEXT_CLAUSE, at + len(name))):
                return name
    for m in _ROLE.finditer(norm):
        if _SELF.search(norm, 0, m.start()):
            name = name_at(norm, m.end(), strong=False)
            if name and not _title_re().match(norm, m.end()):
                return name
    for m in _title_re().finditer(norm):
        if m.group() in _NOT_NAMES or norm[max(0, m.start() - 1):m.start() + 1] in _NOT_NAMES:
            continue  # 施工, or a surname that ends a word: 安全总监 is no 全总监
        if norm[max(0, m.start() - 2):m.start()].endswith(_BLOCK_BEFORE) and not _SELF.search(
                norm, 0, m.start()):
            continue
        return m.group()
    here = _LATIN_HERE.match(norm)
    if here:
        return here.group(1)
    for m in _LATIN_CLAUSE.finditer(norm):  # 点单：Tony王，玉环…; …，王Tony联系，137…
        found = latin_name(norm, m.start(1))
        if found and found == m.group(1) and not found.isascii():
            return found
    for p in phones:
        found = name_near_phone(norm, p)
        if found:
            return found
    last = _LAST_CLAUSE.search(norm)  # …龙港一家印刷厂，小章
    if last:
        name = name_at(norm, last.start(1), strong=False)
        if name is not None and name == last.group(1) and _titled(name):
            return name
    return None


_LAST_CLAUSE = re.compile(r"[,，]\s*([\u4e00-\u9fff]{2,4})[。.!！~]*\s*$")


def _a_place(name: str) -> bool:
    """Whether a name read is a place (温岭, 平湖) rather than a person."""
    pattern, _ = field_index()
    return bool(pattern.fullmatch(name))


def _titled(name: str) -> bool:
    """A surname + title, an expert title or 老X/小X (not a bare full name)."""
    return bool(_title_re().fullmatch(name) or _expert_title_re().fullmatch(name)
                or (len(name) == 2 and name[0] in "老小阿"))


def name_near_phone(norm: str, p: PhoneMatch) -> str | None:
    """The contact named right before (or after) a phone number, if any."""
    before = norm[max(0, p.start - 10):p.start]
    before = re.sub(r"(?:电话|手机|手机号|联系电话|电话号码|号码|tel|Tel|TEL|☎|📞)?\s*[:：]?\s*$",
                    "", before).rstrip()  # 找张师傅 电话 幺三…
    latin = re.search(r"(?:(?<![A-Za-z\u4e00-\u9fff])|(?<=[部科处室办])|(?<=车间|中心))"
                      r"[\u4e00-\u9fff]?[A-Z][a-z]+[\u4e00-\u9fff]?\s*$", before)
    if latin:
        found = latin_name(before, latin.start())
        if found and before[latin.start():].strip() == found:
            return found  # Tony王 1351697…, 王Tony 137…, 设备科王Tony 159…
    for length in (4, 3, 2):
        if len(before) < length:
            continue
        i = len(before) - length
        if (i == 0 or not _CJK.match(before[i - 1])) and _title_re().fullmatch(before, i):
            return before[i:]  # 平阳县 金工 13905771234: next to a phone a title is a name
        name = name_at(before, i, strong=False)
        if not name or len(name) != length:
            continue
        if _titled(name) or _boundary_before(before, i) or before[:i].endswith(_TITLE_ENDS):
            return name
    after = norm[p.end:p.end + 12]
    hand = re.match(r"\s*转\s*", after)  # 400-826-5531 转技术部小方
    if hand:
        pre = _DEPT.match(after, hand.end())
        found = name_at(after, pre.end() if pre else hand.end(), strong=True)
        if found:
            return found
    m = re.match(r"\s*([(（])?\s*", after)
    if m:
        j = m.end()
        name = name_at(after, j, strong=False)
        if name and (m.group(1) or _titled(name)):
            return name
    return None
