"""Period tallies as SQL: the figures unions report (keys and definitions of DOMAIN.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from storage.base import ts

# Event kinds, as SQL literals (constants of ours, never user input).
CANCELLED = "'order.cancelled'"
CLAIMS = "'order.claimed', 'order.assigned'"
COMPLETED = "'order.completed'"


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
    """The tally of [start, end) for `scope`."""
    s, e = ts(start), ts(end)
    cond, cargs = _scope_sql(scope)

    def one(sql: str, args: list[Any]) -> Any:
        return db.execute(sql, args).fetchone()[0]

    def event_orders(kinds: str) -> str:
        return (f"SELECT DISTINCT ev.order_no FROM events ev WHERE ev.kind IN ({kinds}) "
                f"AND ev.at >= ? AND ev.at < ?")

    requests = one(f"SELECT count(*) FROM orders o WHERE o.created_at >= ? AND o.created_at < ? "
                   f"AND {cond}", [s, e, *cargs])
    cancelled = one(f"SELECT count(*) FROM orders o WHERE o.no IN "
                    f"({event_orders(CANCELLED)}) AND {cond}", [s, e, *cargs])
    claimed = one(
        f"SELECT count(*) FROM orders o WHERE o.no IN ({event_orders(CLAIMS)}) AND NOT EXISTS "
        f"(SELECT 1 FROM events e2 WHERE e2.order_no = o.no AND e2.kind IN ({CLAIMS}) "
        f"AND e2.at < ?) AND {cond}",
        [s, e, s, *cargs])
    completed_sql = (f"SELECT o.no, o.outcome FROM orders o WHERE o.no IN "
                     f"({event_orders(COMPLETED)}) AND {cond}")
    done = db.execute(completed_sql, [s, e, *cargs]).fetchall()
    rated = db.execute(
        f"SELECT o.rating FROM orders o WHERE o.rated_at >= ? AND o.rated_at < ? AND "
        f"o.rating IS NOT NULL AND {cond}", [s, e, *cargs]).fetchall()
    good = sum(1 for (r,) in rated if r in ("满意", "基本满意"))
    sessions = _sessions(db, s, e, cond, cargs)
    served = {x for row in sessions for x in row["experts"]}
    result: dict[str, Any] = {
        "requests": requests,
        "cancelled": cancelled,
        "claimed": claimed,
        "completed": len(done),
        "solved": sum(1 for _, outcome in done if outcome == "solved"),
        **_session_sums(sessions),
        "experts": len(served),
        "satisfaction": round(good / len(rated), 4) if rated else None,
        "rated": len(rated),
    }
    result["by_category"] = _breakdown(db, s, e, cond, cargs, "category", sessions)
    result["by_region"] = _breakdown(db, s, e, cond, cargs, "region", sessions)
    result["by_enterprise"] = _breakdown(db, s, e, cond, cargs, "enterprise", sessions,
                                         missing="未填企业")
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


def _breakdown(db: sqlite_utils.Database, s: str, e: str, cond: str, cargs: list[Any],
               column: str, sessions: list[dict[str, Any]],
               missing: str = "未分类") -> dict[str, dict[str, Any]]:
    """Counts per category, region or enterprise: orders received and completed, and
    session sums."""
    out: dict[str, dict[str, Any]] = {}
    for key, n in db.execute(
            f"SELECT coalesce(o.{column}, ?), count(*) FROM orders o WHERE "
            f"o.created_at >= ? AND o.created_at < ? AND {cond} GROUP BY 1",
            [missing, s, e, *cargs]):
        out.setdefault(key, {"requests": 0, "completed": 0})["requests"] = n
    for key, n in db.execute(
            f"SELECT coalesce(o.{column}, ?), count(*) FROM orders o WHERE o.no IN "
            f"(SELECT ev.order_no FROM events ev WHERE ev.kind = {COMPLETED} AND "
            f"ev.at >= ? AND ev.at < ?) AND {cond} GROUP BY 1", [missing, s, e, *cargs]):
        out.setdefault(key, {"requests": 0, "completed": 0})["completed"] = n
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in sessions:
        groups.setdefault(row[column] or missing, []).append(row)
    for key in out.keys() | groups.keys():
        out.setdefault(key, {"requests": 0, "completed": 0}).update(
            _session_sums(groups.get(key, [])))
    return dict(sorted(out.items(), key=lambda kv: (-kv[1]["requests"], kv[0])))


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
