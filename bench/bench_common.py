"""Shared helpers of the benchmarks: a `diandan run` subprocess, rosters, texts, statistics."""

from __future__ import annotations

import json
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.text.match_lexicon import default_lexicon  # noqa: E402

PY = sys.executable
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "国建立志明伟强军平海东文华金德永新春晓红丽芳敏静燕玲秀英兰宏卫忠斌杰涛波俊峰"
PLACES = ["德清", "瑞安", "柯桥", "婺城", "萧山", "北仑", "温岭", "海宁", "龙游", "莲都", "吴兴",
          "长兴", "安吉", "桐乡", "诸暨", "义乌", "东阳", "永康", "乐清", "慈溪"]
INDUSTRIES = ["钢构", "机械", "电机", "泵阀", "纺织", "印染", "化工", "食品", "家具", "汽配",
              "五金", "塑料", "包装", "电子", "建材", "养殖", "制药", "服装", "轴承", "模具"]
REGIONS = ["浙江省湖州市德清县", "浙江省温州市瑞安市", "浙江省绍兴市柯桥区", "浙江省金华市婺城区",
           "浙江省杭州市萧山区", "浙江省宁波市北仑区", "浙江省台州市温岭市", "浙江省嘉兴市海宁市"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def call(url: str, body: dict[str, Any] | None = None, timeout: float = 30) -> tuple[int, Any]:
    """One HTTP request on loopback; (status, parsed JSON or None)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None


def roster_csv(n: int, seed: int = 11) -> str:
    """A roster of n experts over the lexicon's specialties, linked to local:e1..en."""
    rnd = random.Random(seed)
    specs = [s for s in default_lexicon().specialties.values() if s.terms]
    lines = ["编号,姓名,称号,服务队,地区,专长,标签,账号"]
    for i in range(1, n + 1):
        chosen = [specs[(i - 1) % len(specs)], *rnd.sample(specs, rnd.choice((0, 1)))]
        skills = "；".join(dict.fromkeys(rnd.choice(s.terms) for s in chosen for _ in range(3)))
        tags = "；".join(dict.fromkeys(rnd.choice(s.terms) for s in chosen for _ in range(3)))
        name = rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN)
        lines.append(f"E{i:03d},{name},高级技师,综合组,{rnd.choice(REGIONS)},{skills},{tags},"
                     f"local:e{i}")
    return "\n".join(lines) + "\n"


def warm_vectors(db: Path) -> int:
    """Embed every expert's profile into the database's stored vectors, as a bot that has
    served a few minutes leaves them (Routing.warm_roster); returns how many experts were
    embedded. A fresh import has none (the cold case)."""
    from bot.matching import Routing
    from bot.model import SystemClock
    from bot.text.match_embed import default_embedder
    from storage.schema import connect
    from storage.store import Store

    routing = Routing(Store(connect(str(db)), SystemClock()), default_embedder(), eager=True)
    routing.rank("预热", None, 1)  # builds the matcher
    matcher = routing._matcher
    assert matcher is not None and matcher.semantic, "no embedder: nothing to warm"
    done = matcher.warm()
    routing.keep_vectors_now()
    return done


def order_texts(n: int, seed: int = 5) -> list[str]:
    """n distinct, realistic 点单 messages."""
    rnd = random.Random(seed)
    specs = [s for s in default_lexicon().specialties.values() if s.terms and s.cues]
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        s = rnd.choice(specs)
        ent = f"{rnd.choice(PLACES)}{rnd.choice(SURNAMES)}氏{rnd.choice(INDUSTRIES)}有限公司"
        who = rnd.choice(SURNAMES) + rnd.choice(("经理", "工", "主任", "厂长"))
        phone = f"13{rnd.randrange(10**9):09d}"
        text = (f"点单：我们是{ent}，最近{rnd.choice(s.cues)}，{rnd.choice(s.terms)}一直解决不了，"
                f"想请{s.name}方面的师傅指导。联系人{who} {phone}，"
                f"{rnd.choice(('下周三前', '本周五前', '月底前', '三天内', ''))}")
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def write_config(workdir: Path, db: Path, port: int, local: bool = True) -> Path:
    config = workdir / "config.toml"
    config.write_text(
        f'[storage]\npath = "{db}"\n[server]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[bot]\nadmins = ["local:admin"]\n[local]\nenabled = {"true" if local else "false"}\n',
        encoding="utf-8")
    return config


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PY, "-m", "bot", *args], capture_output=True, text=True,
                          timeout=600, cwd=cwd, check=False)


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MiB, from /proc/<pid>/status."""
    got = {"VmRSS": 0.0, "VmHWM": 0.0}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in got:
            got[key] = int(value.split()[0]) / 1024
    return got["VmRSS"], got["VmHWM"]


class BotProcess:
    """`diandan run` as a subprocess; `started_in` is process start → first /healthz 200."""

    def __init__(self, workdir: Path, config: Path, port: int, *, timeout: float = 300,
                 profile: Path | None = None, argv: list[str] | None = None) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = workdir / f"bot-{port}.log"
        self.log = self.log_path.open("ab")
        cmd = argv or [PY, *(["-m", "cProfile", "-o", str(profile)] if profile else []),
                       "-m", "bot", "run", "--config", str(config)]
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log, cwd=ROOT)
        deadline = t0 + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bot exited during start-up, see {self.log_path}")
            try:
                if call(self.base + "/healthz", timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            if time.perf_counter() > deadline:
                self.stop()
                raise RuntimeError("bot did not become healthy")
            time.sleep(0.01)
        self.started_in = time.perf_counter() - t0

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of values."""
    s = sorted(values)
    if not s:
        return float("nan")
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))]


def spread(values: list[float]) -> str:
    """best / median / worst of repeated runs, for the report."""
    return (f"min {min(values):.2f}  median {statistics.median(values):.2f}  "
            f"max {max(values):.2f}")


def load_note() -> str:
    """The machine's load average (other engineers share its two cores)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])
