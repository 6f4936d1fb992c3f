"""Process faults: SIGKILL under load, redeliveries, a full or read-only disk, downtime."""

from __future__ import annotations

import sqlite3
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from tests.proc import Bot, call, cli

ROSTER = ("编号,姓名,专长,账号\nX01,沈国平,焊接；焊接变形,local:e1\n"
          "X02,叶卫东,变频器；电气,local:e2\n")


def _orders(workdir: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(workdir / "bot.db") as db:
        return [(r[0], r[1]) for r in db.execute("SELECT no, text FROM orders ORDER BY no")]


def test_sigkill_under_load_loses_no_acknowledged_order_and_repeats_none(tmp_path: Path
                                                                         ) -> None:
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    assert cli(tmp_path, "experts", "import", "roster.csv").returncode == 0
    bot = Bot(tmp_path)
    acked: dict[str, int] = {}
    stop = threading.Event()

    def client(k: int) -> None:
        for i in range(1000):
            if stop.is_set():
                return
            mid = f"c{k}-{i}"
            try:
                status, data = call(bot.base + "/api/local/messages",
                                    {"chat": f"g{k}", "sender": f"u{k}", "msg_id": mid,
                                     "text": f"点单：第{k}组第{i}台设备焊接变形，请师傅指导"})
            except OSError:
                return  # the process is gone
            if status == 200:
                acked[mid] = data["id"]

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(acked) < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    bot.kill()  # mid-load, requests in flight
    stop.set()
    for t in threads:
        t.join(timeout=20)
    assert len(acked) >= 40
    before = _orders(tmp_path)
    texts = [text for _, text in before]
    assert len(texts) == len(set(texts))  # nothing was done twice
    again = Bot(tmp_path)
    try:
        for mid, local_id in list(acked.items())[:60]:  # redelivery of acknowledged messages
            status, data = call(again.base + "/api/local/messages",
                                {"chat": "gx", "sender": "ux", "msg_id": mid, "text": "重发"})
            assert status == 200 and data == {"id": local_id, "replies": []}
        status, data = call(again.base + "/api/local/messages",
                            {"chat": "g9", "sender": "u9", "text": "点单：新的一单 焊接变形"})
        numbers = [no for no, _ in before]
        assert data["replies"][0]["text"].startswith(f"已收到点单 #{max(numbers) + 1}")
    finally:
        again.stop()
    after = _orders(tmp_path)
    assert len(after) == len(before) + 1
    for k in range(4):  # every acknowledged order is there, exactly once
        for mid in (m for m in acked if m.startswith(f"c{k}-")):
            i = int(mid.split("-")[1])
            text = f"点单：第{k}组第{i}台设备焊接变形，请师傅指导"
            assert sum(1 for _, t in after if t == text) == 1


def test_downtime_across_a_month_boundary_sends_the_report_once(tmp_path: Path) -> None:
    first = Bot(tmp_path, "--now", "2026-05-31T20:00:00+08:00")
    try:
        status, _ = call(first.base + "/api/local/messages",
                         {"chat": "g1", "sender": "c1", "text": "点单：焊接变形，请师傅指导"})
        assert status == 200
    finally:
        first.stop()
    for now in ("2026-06-02T10:00:00+08:00", "2026-06-02T11:00:00+08:00"):  # down over the 1st
        bot = Bot(tmp_path, "--now", now)
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                _, data = call(bot.base + "/api/local/messages?chat=g1")
                if any("2026年5月" in m["text"] for m in data["messages"]):
                    break
                time.sleep(0.05)
        finally:
            bot.stop()
    with sqlite3.connect(tmp_path / "bot.db") as db:
        posts = [r[0] for r in db.execute("SELECT text FROM local_messages WHERE chat = 'g1' "
                                          "AND from_bot = 1")]
    reports = [p for p in posts if "2026年5月" in p]
    assert len(reports) == 1 and "收到需求 1 件" in reports[0]


def test_redelivery_storm_is_handled_once(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    try:
        results: list[dict[str, object]] = []

        def storm() -> None:
            for _ in range(25):
                status, data = call(bot.base + "/api/local/messages",
                                    {"chat": "g1", "sender": "c1", "msg_id": "same",
                                     "text": "点单：焊接变形，请师傅指导"})
                assert status == 200
                results.append(data)

        threads = [threading.Thread(target=storm) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert len(results) == 100
        assert len({r["id"] for r in results}) == 1
        assert sum(1 for r in results if r["replies"]) == 1
    finally:
        bot.stop()
    assert len(_orders(tmp_path)) == 1


def test_a_full_disk_is_a_clear_503_and_corrupts_nothing(tmp_path: Path) -> None:
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    assert cli(tmp_path, "experts", "import", "roster.csv").returncode == 0
    room = (tmp_path / "bot.db").stat().st_size + 600_000  # a few dozen orders' worth
    bot = Bot(tmp_path, max_file_bytes=room)
    acked: list[str] = []
    refused = None
    try:
        for i in range(300):
            body = {"chat": "g1", "sender": "u1", "msg_id": f"m{i}",
                    "text": f"点单：第{i}台设备焊接变形，请师傅指导"}
            status, data = call(bot.base + "/api/local/messages", body)
            if status == 503:
                refused = body
                break
            assert status == 200 and data["replies"][0]["text"].startswith("已收到点单 #")
            acked.append(body["text"])
        assert refused is not None and acked, "the disk never filled up"
        assert call(bot.base + "/healthz")[0] == 200  # still up, answering
    finally:
        bot.stop()
    log = (tmp_path / "bot.log").read_text(encoding="utf-8")
    assert "storage unavailable" in log and "Traceback" not in log
    with sqlite3.connect(tmp_path / "bot.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert [t for _, t in _orders(tmp_path)] == acked  # every acknowledged order, once
    again = Bot(tmp_path)  # room again: the refused message is handled when sent again
    try:
        status, data = call(again.base + "/api/local/messages", refused)
        assert status == 200 and data["replies"][0]["text"].startswith(
            f"已收到点单 #{len(acked) + 1}")
    finally:
        again.stop()


def _chattr_works(folder: Path) -> bool:
    """Whether chattr +i here stops writes through a descriptor opened before (ext4 does as
    root; tmpfs takes the flag but lets such writes through)."""
    probe = folder / "probe"
    with probe.open("w", encoding="utf-8") as f:
        ok = subprocess.run(["chattr", "+i", str(probe)], capture_output=True).returncode == 0
        try:
            f.write("x")
            f.flush()
            ok = False
        except PermissionError:
            pass
        finally:
            subprocess.run(["chattr", "-i", str(probe)], capture_output=True)
    probe.unlink()
    return ok


def test_a_read_only_disk_is_a_clear_503_and_the_bot_recovers(tmp_path: Path) -> None:
    """The database files turn read-only under the running bot (chattr +i: even root may not
    write, through file descriptors already open), then writable again."""
    if not _chattr_works(tmp_path):  # /tmp on tmpfs: use the checkout's disk instead
        with tempfile.TemporaryDirectory(dir=Path(__file__).resolve().parent) as folder:
            _read_only_disk(Path(folder))
        return
    _read_only_disk(tmp_path)


def _read_only_disk(tmp_path: Path) -> None:
    assert _chattr_works(tmp_path), "chattr +i needs root and a disk file system (ext4)"
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    assert cli(tmp_path, "experts", "import", "roster.csv").returncode == 0
    bot = Bot(tmp_path)
    files = [str(tmp_path / "bot.db"), str(tmp_path / "bot.db-wal")]
    first = {"chat": "g1", "sender": "u1", "msg_id": "m1", "text": "点单：焊接变形，请师傅指导"}
    second = {"chat": "g1", "sender": "u1", "msg_id": "m2", "text": "点单：焊缝有气孔，请师傅看看"}
    try:
        assert call(bot.base + "/api/local/messages", first)[0] == 200
        subprocess.run(["chattr", "+i", *files], check=True)
        assert call(bot.base + "/api/local/messages", second) == (503, None)
        assert call(bot.base + "/healthz")[0] == 200  # still up, answering
        subprocess.run(["chattr", "-i", *files], check=True)
        status, data = call(bot.base + "/api/local/messages", second)  # the sender retries
        assert status == 200 and data["replies"][0]["text"].startswith("已收到点单 #2")
    finally:
        subprocess.run(["chattr", "-i", *files], check=False)
        bot.stop()
    log = (tmp_path / "bot.log").read_text(encoding="utf-8")
    assert "storage unavailable" in log and "Traceback" not in log
    with sqlite3.connect(tmp_path / "bot.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert [t for _, t in _orders(tmp_path)] == [first["text"], second["text"]]
