"""Running `diandan` as a subprocess for process tests: start, call over loopback, stop."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

# Sets RLIMIT_FSIZE, then becomes the command after the size: rather than `preexec_fn`,
# Python code run between fork and exec, which may deadlock in a process with threads
# (subprocess's documentation). Python ignores SIGXFSZ, and exec keeps it ignored: a write
# past the limit fails instead of killing the process.
LIMIT_FILES = ("import os, resource, sys; n = int(sys.argv[1]); "
               "resource.setrlimit(resource.RLIMIT_FSIZE, (n, n)); "
               "os.execv(sys.argv[2], sys.argv[2:])")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def call(url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None


class Bot:
    """A running `diandan run` process."""

    def __init__(self, workdir: Path, *extra: str, config: str = "",
                 max_file_bytes: int | None = None, url: str = "") -> None:
        """`max_file_bytes`: no file the process writes may grow past this (RLIMIT_FSIZE),
        as on a full disk: the write fails (SIGXFSZ is ignored) instead of killing it.
        `url`: `[storage] url`, a PostgreSQL database instead of the SQLite file."""
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        path = workdir / "config.toml"
        path.write_text(
            f'[storage]\npath = "{workdir / "bot.db"}"\n'
            + (f'url = "{url}"\n' if url else "")
            + f'[server]\nport = {self.port}\n'
            '[bot]\nadmins = ["local:admin"]\n'
            + ("" if "[local]" in config else "[local]\nenabled = true\n") + config,
            encoding="utf-8",
        )
        self.config = path
        self.log = (workdir / "bot.log").open("ab")
        command = [sys.executable, "-m", "bot", "run", "--config", str(path), *extra]
        if max_file_bytes:
            command = [sys.executable, "-c", LIMIT_FILES, str(max_file_bytes), *command]
        self.proc = subprocess.Popen(command, stdout=self.log, stderr=self.log, cwd=workdir)
        deadline = time.monotonic() + 30  # readiness of a real process: bounded polling
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "bot exited during start-up"
            try:
                if call(self.base + "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("bot did not become healthy")

    def stop(self) -> float:
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=15)
        self.log.close()
        return time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as in a power cut."""
        self.proc.kill()
        self.proc.wait(timeout=15)
        self.log.close()


def cli(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args, "--db", str(workdir / "bot.db")],
        capture_output=True, text=True, timeout=60, cwd=workdir,
    )
