"""Period tallies as SQL: the figures unions report (keys and definitions of DOMAIN.md)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.base import ts
from storage.db import Database


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
            raise ValueError(f"范围应为 all、region:地区、team:服务队 或 group:群ID，"
                             f"而不是 {text!r}")
        return cls(kind, value.strip())

    @classmethod
    def for_admin(cls, scope: str) -> Scope:
        """The tally scope of an admin scope ("" for all, "group:<id>", "region:<name>");
        anything else covers nothing."""
        kind, _, value = scope.partition(":")
        if not scope:
            return cls()
        if kind in ("group", "region") and value:
            return cls(kind, value)
        return cls("none")

    def label(self) -> str:
        return {"all": "全部", "region": "地区", "team": "服务队", "group": "群",
                "none": "无"}[self.kind] + (f"：{self.value}" if self.value else "")


def _scope_sql(scope: Scope, alias: str = "o") -> tuple[str, list[Any]]:
    """A condition on orders (alias `alias`) for the scope."""
    if scope.kind == "region":
        return f"{alias}.region LIKE ?", [f"%{scope.value}%"]
    if scope.kind == "group":
        return f"{alias}.chat_id = ?", [scope.value]
    if scope.kind == "team":
        return (f"{alias}.no IN (SELECT oe.order_no FROM order_experts oe JOIN experts x "
                f"ON x.id = oe.expert_id WHERE x.team = ?)", [scope.value])
    if scope.kind == "none":
        return "1 = 0", []
    return "1 = 1", []


def tally(db: Database, start: datetime, end: datetime,
          scope: Scope = Scope(), enterprises: bool = False) -> dict[str, Any]:
    """The tally of [start, end) for `scope` (with `enterprises`, also `by_enterprise`).

    Every figure is an aggregate in SQL over the orders' own dates (created, first claimed,
    completed, rated, ended: written in the same transaction as the events they mirror) and
    over the sessions, each read through a covering index; Python only merges the groups."""
    s, e = ts(start), ts(end)
    cond, cargs = _scope_sql(scope)
    # Sessions need their order only when a scope filters on it.
    join = "" if scope.kind == "all" else " JOIN orders o ON o.no = se.order_no"
    via_sessions = "" if not join else f" JOIN sessions se ON se.id = sx.session_id{join}"

    def on_orders(date: str, what: str, extra: str = "") -> str:
        return (f"SELECT {what} FROM orders o WHERE o.{date} >= ? AND o.{date} < ?{extra} "
                f"AND {cond}")

    def grouped(table: str, alias: str, date: str, dims: str, what: str) -> str:
        return (f"SELECT {dims}, {what} FROM {table} WHERE {alias}.{date} >= ? AND "
                f"{alias}.{date} < ? AND {cond} GROUP BY {dims}")

    cat_region = "{a}.category, {a}.region"
    queries = {  # the slowest first, so that two workers share them evenly
        "sessions": grouped(f"sessions se{join}", "se", "at", cat_region.format(a="se"), SUMS),
        "requests_by": grouped("orders o", "o", "created_at", cat_region.format(a="o"),
                               "count(*)"),
        "per_expert": (f"SELECT sx.expert_id, sx.team, count(*), sum(sx.hours), "
                       f"sum(sx.beneficiaries) FROM session_experts sx{via_sessions} "
                       f"WHERE sx.at >= ? AND sx.at < ? AND {cond} GROUP BY 1, 2"),
        "completed_by": grouped("orders o", "o", "completed_at", cat_region.format(a="o"),
                                "count(*)"),
        "team_sessions": (f"SELECT sx.team, count(DISTINCT sx.session_id) FROM session_experts "
                          f"sx{via_sessions} WHERE sx.at >= ? AND sx.at < ? AND {cond} "
                          f"GROUP BY 1"),
        # An expression keeps the planner on the ended_at index (the state index would scan every
        # cancelled order ever).
        "cancelled": on_orders("ended_at", "count(*)", " AND o.state || '' = 'cancelled'"),
        "claimed": on_orders("first_claimed_at", "count(*)"),
        "completed": on_orders("completed_at",
                               "count(*), count(*) FILTER (WHERE o.outcome = 'solved')"),
        "rated": on_orders("rated_at",
                           "count(*), count(*) FILTER (WHERE o.rating IN ('满意', '基本满意'))",
                           " AND o.rating IS NOT NULL"),
    }
    if enterprises:
        ent = "coalesce({a}.enterprise, '未填企业')"
        queries["ent_sessions"] = grouped(f"sessions se{join}", "se", "at", ent.format(a="se"),
                                          SUMS)
        queries["ent_requests"] = grouped("orders o", "o", "created_at", ent.format(a="o"),
                                          "count(*)")
        queries["ent_completed"] = grouped("orders o", "o", "completed_at", ent.format(a="o"),
                                           "count(*)")
    got = _run(db, queries, [s, e, *cargs])
    (cancelled,), (claimed,) = got["cancelled"][0], got["claimed"][0]
    completed, solved = got["completed"][0]
    rated, good = got["rated"][0]
    by_dims = {
        "requests": {(r[0], r[1]): r[2:] for r in got["requests_by"]},
        "completed": {(r[0], r[1]): r[2:] for r in got["completed_by"]},
        "sessions": {(r[0], r[1]): r[2:] for r in got["sessions"]},
    }
    per_expert = got["per_expert"]
    result: dict[str, Any] = {
        "requests": sum(n for (n,) in by_dims["requests"].values()),
        "cancelled": cancelled,
        "claimed": claimed,
        "completed": completed,
        "solved": solved,
        **_sums(tuple(sum(g[i] for g in by_dims["sessions"].values()) for i in range(5))),
        "experts": len({r[0] for r in per_expert}),
        "satisfaction": round(good / rated, 4) if rated else None,
        "rated": rated,
        "by_category": _merge(by_dims, 0, "未分类"),
        "by_region": _merge(by_dims, 1, "未分类"),
    }
    if enterprises:
        result["by_enterprise"] = _top(
            {r[0]: r[1] for r in got["ent_requests"]},
            {r[0]: r[1] for r in got["ent_completed"]},
            {r[0]: tuple(r[1:]) for r in got["ent_sessions"]})
    result["honour_roll"] = _honour_roll(db, per_expert)
    result["by_team"] = _by_team(per_expert, got["team_sessions"])
    return result


def _run(db: Database, queries: dict[str, str], args: list[Any]
         ) -> dict[str, list[tuple[Any, ...]]]:
    """Run independent read queries; on a database file, two at a time on connections of
    their own (SQLite releases the GIL while it works, and WAL lets readers run side by
    side), else one after another on `db`."""
    first = db.reader()
    if first is None:
        return {name: db.execute(sql, args).fetchall() for name, sql in queries.items()}
    opened: list[Database] = [first]
    spare = [first]  # the first worker takes it; the other opens its own
    local = threading.local()

    def run(sql: str) -> list[tuple[Any, ...]]:
        if not hasattr(local, "conn"):
            try:
                local.conn = spare.pop()
            except IndexError:
                local.conn = db.reader()
                opened.append(local.conn)
        rows: list[tuple[Any, ...]] = local.conn.execute(sql, args).fetchall()
        return rows

    try:
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="tally") as pool:
            futures = {name: pool.submit(run, sql) for name, sql in queries.items()}
            results = {name: f.result() for name, f in futures.items()}
    finally:
        for conn in opened:
            conn.close()
    return results


SUMS = ("count(*), coalesce(sum(se.n_experts), 0), coalesce(sum(se.hours * se.n_experts), 0), "
        "coalesce(sum(se.suggestions), 0), coalesce(sum(se.beneficiaries), 0)")
ZERO = (0, 0, 0.0, 0, 0)
BREAKDOWN_LIMIT = 100  # the biggest groups; the rest are summed under 其他


def _sums(row: tuple[Any, ...]) -> dict[str, Any]:
    sessions, person_times, hours, suggestions, beneficiaries = row
    return {"sessions": sessions, "person_times": person_times, "hours": round(hours, 2),
            "suggestions": suggestions, "beneficiaries": beneficiaries}


def _merge(by_dims: dict[str, dict[Any, Any]], axis: int, missing: str
           ) -> dict[str, dict[str, Any]]:
    """One breakdown (category: axis 0, region: axis 1) out of the (category, region) groups,
    the largest first, the tail summed under 其他."""
    received: dict[str, int] = {}
    completed: dict[str, int] = {}
    served: dict[str, list[Any]] = {}
    for key, (n,) in by_dims["requests"].items():
        name = key[axis] or missing
        received[name] = received.get(name, 0) + n
    for key, (n,) in by_dims["completed"].items():
        name = key[axis] or missing
        completed[name] = completed.get(name, 0) + n
    for key, row in by_dims["sessions"].items():
        acc = served.setdefault(key[axis] or missing, [0, 0, 0.0, 0, 0])
        for i, v in enumerate(row):
            acc[i] += v
    return _top(received, completed, {k: tuple(v) for k, v in served.items()})


def _top(received: dict[str, int], completed: dict[str, int],
         served: dict[str, tuple[Any, ...]]) -> dict[str, dict[str, Any]]:
    names = sorted(received.keys() | completed.keys() | served.keys(),
                   key=lambda k: (-received.get(k, 0), -served.get(k, ZERO)[0], k))
    out = {name: {"requests": received.get(name, 0), "completed": completed.get(name, 0),
                  **_sums(served.get(name, ZERO))} for name in names[:BREAKDOWN_LIMIT]}
    rest = names[BREAKDOWN_LIMIT:]
    if rest:
        tails = [served.get(n, ZERO) for n in rest]
        out["其他"] = {"requests": sum(received.get(n, 0) for n in rest),
                     "completed": sum(completed.get(n, 0) for n in rest),
                     **_sums(tuple(sum(t[i] for t in tails) for i in range(5)))}
    return out


def _by_team(per_expert: list[tuple[Any, ...]], sessions: list[tuple[Any, ...]]
             ) -> dict[str, dict[str, Any]]:
    """Per team (as it was when they served): sessions it took part in, person-times,
    volunteer hours and experts."""
    teams: dict[str, dict[str, Any]] = {}
    for _eid, team, n, hours, _b in per_expert:
        t = teams.setdefault(team or "未分队", {"sessions": 0, "person_times": 0, "hours": 0.0,
                                               "experts": 0})
        t["person_times"] += n
        t["hours"] = round(t["hours"] + (hours or 0.0), 2)
        t["experts"] += 1
    for team, n in sessions:
        if (team or "未分队") in teams:
            teams[team or "未分队"]["sessions"] = n
    return dict(sorted(teams.items(), key=lambda kv: (-kv[1]["person_times"], kv[0])))


def _honour_roll(db: Database, per_expert: list[tuple[Any, ...]]
                 ) -> list[dict[str, Any]]:
    """The honour roll (光荣榜): the ten experts with most sessions, then most served."""
    totals: dict[str, list[Any]] = {}
    for eid, _team, n, hours, served in per_expert:
        acc = totals.setdefault(eid, [0, 0.0, 0])
        acc[0] += n
        acc[1] += hours or 0.0
        acc[2] += served or 0
    best = sorted(totals.items(), key=lambda kv: (-kv[1][0], -kv[1][2], -kv[1][1], kv[0]))[:10]
    info = {r[0]: (r[1], r[2] or "未分队") for r in db.execute(
        f"SELECT id, name, team FROM experts WHERE id IN ({','.join('?' * len(best))})",
        [eid for eid, _ in best])} if best else {}
    return [{"id": eid, "name": info.get(eid, (eid, ""))[0],
             "team": info.get(eid, ("", "未分队"))[1], "sessions": n,
             "hours": round(h, 2), "beneficiaries": b}
            for eid, (n, h, b) in best]
