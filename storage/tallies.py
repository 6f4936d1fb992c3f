"""Period tallies as SQL: the figures unions report (keys and definitions of DOMAIN.md)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from storage.base import ts


@dataclass(frozen=True)
class Scope:
    """Which orders a tally covers: all, a region (prefix), a team, or a group chat."""

    kind: str = "all"  # all | region | team | group
    value: str = ""

    @classmethod
    def parse(cls, text: str | None) -> Scope:
        """"all", "region:湖州市", "team:电仪组", "group:<chat id>" (ValueError otherwise)."""
        if not text or text == "all":
            return cls()
        kind, sep, value = text.partition(":")
        if not sep or kind not in ("region", "team", "group") or not value.strip():
            raise ValueError(f"scope must be all, region:…, team:… or group:…, not {text!r}")
        return cls(kind, value.strip())

    def label(self) -> str:
        return {"all": "全部", "region": "地区", "team": "服务队", "group": "群"}[self.kind] + (
            f"：{self.value}" if self.value else "")


def _scope_sql(scope: Scope, alias: str = "o") -> tuple[str, list[Any]]:
    """A condition on orders (alias `alias`) for the scope."""
    if scope.kind == "region":
        return f"{alias}.region LIKE ?", [f"%{scope.value}%"]
    if scope.kind == "group":
        return f"{alias}.chat_id = ?", [scope.value]
    if scope.kind == "team":
        return (f"{alias}.no IN (SELECT oe.order_no FROM order_experts oe JOIN experts x "
                f"ON x.id = oe.expert_id WHERE x.team = ?)", [scope.value])
    return "1 = 1", []


def tally(db: sqlite_utils.Database, start: datetime, end: datetime,
          scope: Scope = Scope()) -> dict[str, Any]:
    """The tally of [start, end) for `scope`.

    Each count reads the orders' own dates (created, first claimed, completed, rated, ended),
    which are written in the same transaction as the events they mirror, through an index
    each; breakdowns are counted in one pass over the rows of the period."""
    s, e = ts(start), ts(end)
    cond, cargs = _scope_sql(scope)

    def rows(date_column: str, columns: str, extra: str = "") -> list[tuple[Any, ...]]:
        return db.execute(
            f"SELECT {columns} FROM orders o WHERE o.{date_column} >= ? AND "
            f"o.{date_column} < ?{extra} AND {cond}", [s, e, *cargs]).fetchall()

    created = rows("created_at", "o.category, o.region, o.enterprise")
    cancelled = rows("ended_at", "o.no", " AND o.state = 'cancelled'")
    claimed = rows("first_claimed_at", "o.no")
    done = rows("completed_at", "o.category, o.region, o.enterprise, o.outcome")
    rated = rows("rated_at", "o.rating", " AND o.rating IS NOT NULL")
    good = sum(1 for (r,) in rated if r in ("满意", "基本满意"))
    sessions = _sessions(db, s, e, cond, cargs)
    served = {x for row in sessions for x in row["experts"]}
    result: dict[str, Any] = {
        "requests": len(created),
        "cancelled": len(cancelled),
        "claimed": len(claimed),
        "completed": len(done),
        "solved": sum(1 for row in done if row[3] == "solved"),
        **_session_sums(sessions),
        "experts": len(served),
        "satisfaction": round(good / len(rated), 4) if rated else None,
        "rated": len(rated),
    }
    for i, (key, missing) in enumerate((("category", "未分类"), ("region", "未分类"),
                                        ("enterprise", "未填企业"))):
        result[f"by_{key}"] = _breakdown([r[i] for r in created], [r[i] for r in done],
                                         sessions, key, missing)
    result["by_team"], result["honour_roll"] = _by_expert(db, sessions)
    return result


def _sessions(db: sqlite_utils.Database, s: str, e: str, cond: str,
              cargs: list[Any]) -> list[dict[str, Any]]:
    rows = db.execute(
        f"SELECT se.order_no, se.hours, se.suggestions, se.beneficiaries, se.experts, "
        f"o.category, o.region, o.enterprise FROM sessions se JOIN orders o "
        f"ON o.no = se.order_no "
        f"WHERE se.at >= ? AND se.at < ? AND {cond}", [s, e, *cargs]).fetchall()
    return [
        {"order_no": r[0], "hours": r[1] or 0.0, "suggestions": r[2] or 0,
         "beneficiaries": r[3] or 0, "experts": json.loads(r[4] or "[]"),
         "category": r[5], "region": r[6], "enterprise": r[7]}
        for r in rows
    ]


def _session_sums(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "sessions": len(rows),
        "person_times": sum(len(r["experts"]) for r in rows),
        "hours": round(sum(r["hours"] * len(r["experts"]) for r in rows), 2),
        "suggestions": sum(r["suggestions"] for r in rows),
        "beneficiaries": sum(r["beneficiaries"] for r in rows),
    }


BREAKDOWN_LIMIT = 100  # the biggest groups; the rest are summed under 其他


def _breakdown(created: list[str | None], done: list[str | None],
               sessions: list[dict[str, Any]], key: str,
               missing: str) -> dict[str, dict[str, Any]]:
    """Counts per category, region or enterprise: orders received and completed, and
    session sums; the largest groups first."""
    received = Counter(v or missing for v in created)
    completed = Counter(v or missing for v in done)
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in sessions:
        groups.setdefault(row[key] or missing, []).append(row)
    names = sorted(received.keys() | completed.keys() | groups.keys(),
                   key=lambda k: (-received[k], -len(groups.get(k, ())), k))
    out: dict[str, dict[str, Any]] = {}
    for name in names[:BREAKDOWN_LIMIT]:
        out[name] = {"requests": received[name], "completed": completed[name],
                     **_session_sums(groups.get(name, []))}
    rest = names[BREAKDOWN_LIMIT:]
    if rest:
        out["其他"] = {"requests": sum(received[n] for n in rest),
                     "completed": sum(completed[n] for n in rest),
                     **_session_sums([r for n in rest for r in groups.get(n, [])])}
    return out


def _by_expert(db: sqlite_utils.Database, sessions: list[dict[str, Any]]
               ) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Per team sums, and the honour roll (光荣榜): experts by sessions, then beneficiaries."""
    info = {r[0]: (r[1], r[2] or "未分队") for r in db.execute(
        "SELECT id, name, team FROM experts")}
    people: dict[str, dict[str, Any]] = {}
    teams: dict[str, dict[str, Any]] = {}
    for row in sessions:
        for eid in row["experts"]:
            name, team = info.get(eid, (eid, "未分队"))
            p = people.setdefault(eid, {"id": eid, "name": name, "team": team, "sessions": 0,
                                        "hours": 0.0, "beneficiaries": 0})
            p["sessions"] += 1
            p["hours"] = round(p["hours"] + row["hours"], 2)
            p["beneficiaries"] += row["beneficiaries"]
            t = teams.setdefault(team, {"sessions": set(), "person_times": 0, "hours": 0.0,
                                        "experts": set()})
            t["sessions"].add(id(row))
            t["person_times"] += 1
            t["hours"] = round(t["hours"] + row["hours"], 2)
            t["experts"].add(eid)
    by_team = {
        k: {"sessions": len(v["sessions"]), "person_times": v["person_times"],
            "hours": v["hours"], "experts": len(v["experts"])}
        for k, v in sorted(teams.items(), key=lambda kv: -kv[1]["person_times"])
    }
    roll = sorted(people.values(), key=lambda p: (-p["sessions"], -p["beneficiaries"],
                                                  -p["hours"], p["id"]))
    return by_team, roll[:10]
