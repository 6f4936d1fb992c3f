"""Whether a firm a message names is where the sender works (then it is no requester)."""

from __future__ import annotations

import re

from bot.text.lexicon import words
from bot.text.people import name_at

# The sender works there (我在温岭一家鞋厂上班, 我是嵊州一家领带厂的挡车工): that is no order
# from the enterprise.
_WORKER_BEFORE = re.compile(r"我们?(?:老公|老婆|爱人|儿子|女儿|爸|妈|家里人)?"
                            r"(?:现在|之前|以前|原来|目前|一直)?在$")
# 在 before the firm, maybe with a place the firm's name left out: 在余杭仁和一家家具厂
_AT_PLACE = re.compile(r"在(?:(?![的是])[\u4e00-\u9fff]){0,6}$")
_SELF_BEFORE = re.compile(r"我是$")
_SELF_INTRO = re.compile(r"我")
_NAMED_SELF = re.compile(r"我叫[\u4e00-\u9fff]{2,3}[,，\s]*(?:现在|一直|目前)?在")
_WORK_VERB = re.compile(r"(?:上班|工作|打工|干|做|当|剥|开|搬|送|跑)")
_WORKER_JOB = re.compile(r"的([\u4e00-\u9fff]{0,4}?(?:工|司机|工人|员工|职工|学徒|保安|保洁|营业员"
                         r"|仓管|厨师|搬运工|快递员|外卖员"
                         r"|操作员|店员|收银员|服务员))(?![\u4e00-\u9fff])|的([\u4e00-\u9fff]{0,3}?"
                         r"(?:工|司机|工人|员工|学徒|保安|保洁))(?=叫|小|老|阿)")


def _own_matter(norm: str) -> bool:
    """The sender speaks of their own matter with the employer (我们的工资, 我的工伤…), not of
    a firm's wish for its workers (在…印染厂，想请律师给员工讲讲劳动合同法)."""
    return "我" in norm and any(w in norm for w in words("fields", "worker_matters"))


def works_there(norm: str, start: int, end: int) -> bool:
    """Whether the firm at norm[start:end] is where the sender (or their family) works."""
    before = norm[max(0, start - 6):start]
    if _WORKER_BEFORE.search(before):
        return True
    if _AT_PLACE.search(norm, max(0, start - 8), start) and _own_matter(norm):
        return True  # 老板拖了我们三个月工资了…，在余杭仁和一家家具厂
    named = _NAMED_SELF.search(norm, 0, start)
    if before.endswith("在") and (named or (_SELF_INTRO.search(norm, 0, start)
                                           and _WORK_VERB.match(norm, end))):
        return True  # 我叫王建国，在…一家水产加工厂剥虾
    job = _WORKER_JOB.match(norm, end)
    if not (_SELF_BEFORE.search(before) and job):
        return False
    at, what = (job.start(1), job.group(1)) if job.group(1) else (job.start(2), job.group(2))
    return name_at(norm, at, strong=False) != what  # 的王工 is a person, 的挡车工 a job
