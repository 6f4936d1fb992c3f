"""Form-style messages: one field a line (单位：…  问题：…  联系人：…  电话：…  地点：…)."""

from __future__ import annotations

import re

# Label → field. Longer labels are tried first.
LABELS: dict[str, str] = {
    "单位名称": "enterprise", "企业名称": "enterprise", "公司名称": "enterprise",
    "单位": "enterprise",
    "企业": "enterprise", "公司": "enterprise", "服务对象": "enterprise", "申请单位": "enterprise",
    "点单单位": "enterprise", "需求单位": "enterprise", "所在单位": "enterprise",
    "工作单位": "enterprise",
    "问题描述": "problem", "需求描述": "problem", "需求内容": "problem", "具体问题": "problem",
    "服务需求": "problem", "服务内容": "problem", "存在问题": "problem", "遇到问题": "problem",
    "遇到的问题": "problem", "难题": "problem", "问题": "problem", "需求": "problem",
    "内容": "problem", "情况说明": "problem", "描述": "problem", "事项": "problem",
    "联系人姓名": "contact", "联系人": "contact", "对接人": "contact", "负责人": "contact",
    "姓名": "contact", "联络人": "contact", "申请人": "contact",
    "联系电话": "phone", "电话号码": "phone", "手机号码": "phone", "手机号": "phone",
    "联系方式": "phone",
    "电话": "phone", "手机": "phone", "座机": "phone",
    "期望时间": "deadline", "希望时间": "deadline", "完成时间": "deadline", "截止时间": "deadline",
    "要求时间": "deadline", "服务时间": "deadline", "期限": "deadline", "时间": "deadline",
    "截止日期": "deadline", "日期": "deadline",
    "服务地点": "location", "所在地": "location", "地点": "location", "地址": "location",
    "地区": "location", "区域": "location", "位置": "location", "所在地区": "location",
    "服务类型": "service_type", "类型": "service_type", "类别": "category", "专业": "category",
    "所属行业": "category", "行业": "category", "紧急程度": "urgency", "是否紧急": "urgency",
}
_ALT = "|".join(sorted(map(re.escape, LABELS), key=len, reverse=True))
_LABEL_RE = re.compile(
    r"(?:【\s*(" + _ALT + r")\s*】\s*[:：]?|(?:^|(?<=[\n ,，;；。|]))[\[(]?\s*(" + _ALT +
    r")\s*[\])]?\s*[:：])\s*"
)


def parse_form(norm: str) -> dict[str, tuple[str, int]]:
    """Fields of a form-style message as {field: (value, start)}; empty if it is not one."""
    marks = list(_LABEL_RE.finditer(norm))
    if not marks:
        return {}
    out: dict[str, tuple[str, int]] = {}
    for k, m in enumerate(marks):
        end = marks[k + 1].start() if k + 1 < len(marks) else len(norm)
        nl = norm.find("\n", m.end(), end)
        if nl >= 0:
            end = nl
        value = norm[m.end():end].strip(" ,，;；。|")
        key = LABELS[m.group(1) or m.group(2)]
        if value and key not in out:
            out[key] = (value, m.end())
    return out


def blank_labels(norm: str) -> int:
    """How many field labels stand with nothing after them (a format to fill in)."""
    marks = list(_LABEL_RE.finditer(norm))
    count = 0
    for k, m in enumerate(marks):
        end = marks[k + 1].start() if k + 1 < len(marks) else len(norm)
        nl = norm.find("\n", m.end(), end)
        if not norm[m.end():nl if nl >= 0 else end].strip(" ,，;；。|"):
            count += 1
    return count


def is_form(fields: dict[str, tuple[str, int]]) -> bool:
    """A form that asks for a service: a problem of some length, or three or more fields."""
    problem = fields.get("problem", ("", 0))[0]
    return len(problem) >= 4 or len(fields) >= 3
