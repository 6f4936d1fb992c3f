"""A throwaway PostgreSQL server for the tests: initdb in a temp dir, pg_ctl start, stop."""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

SKIP_REASON = "PostgreSQL server binaries not installed (apt-get install postgresql)"
_BINARIES = ("initdb", "pg_ctl", "postgres")
_SYSTEM_USER = "postgres"  # created by Debian's postgresql package; the server runs as it


def _has_binaries(d: Path) -> bool:
    return all(os.access(d / name, os.X_OK) and (d / name).is_file() for name in _BINARIES)


def _version_key(d: Path) -> tuple[int, ...]:
    """/usr/lib/postgresql/15/bin -> (15,); 9.6 -> (9, 6); unparsable names sort first."""
    parts = re.findall(r"\d+", d.parent.name)
    return tuple(int(p) for p in parts) if parts else (-1,)


def find_bin_dir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres: the newest Debian install under
    /usr/lib/postgresql/*/bin, else the one initdb on PATH resolves into; None when absent."""
    candidates = [d for d in Path("/usr/lib/postgresql").glob("*/bin") if _has_binaries(d)]
    if candidates:
        return max(candidates, key=_version_key)
    on_path = shutil.which("initdb")
    if on_path is not None:
        d = Path(on_path).resolve().parent
        if _has_binaries(d):
            return d
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _alive(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie, left to a reaper that is not us, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _clean_env() -> dict[str, str]:
    """The environment without PG* variables (PGHOST, PGPORT, PGDATA... must not redirect us)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


class PgServer:
    """A PostgreSQL server of its own under a temp dir, on 127.0.0.1:`port` (TCP) and a unix
    socket in `socket_dir`; trust authentication, fsync and synchronous_commit on (the defaults).
    Under root it runs as the `postgres` system user, whose name is then the superuser's."""

    def __init__(self, bin_dir: Path | None = None, *, max_connections: int = 200,
                 durable: bool = True) -> None:
        """`durable=False` turns fsync off: the server's own crash could lose data, which no
        test causes (a killed bot process loses nothing either way); DDL per test is faster."""
        found = bin_dir or find_bin_dir()
        if found is None:
            raise RuntimeError(SKIP_REASON)
        self.bin_dir = found
        self._as_root = os.geteuid() == 0
        if self._as_root:
            entry = pwd.getpwnam(_SYSTEM_USER)  # KeyError: the postgresql package is missing
            self.user = _SYSTEM_USER
        else:
            entry = pwd.getpwuid(os.geteuid())
            self.user = entry.pw_name
        self._stopped = False
        # Directly under the system temp dir: the postgres user must be able to reach it
        # (pytest's tmp_path lives under a 0700 directory of root's).
        self.root = Path(tempfile.mkdtemp(prefix="pgtest-"))
        self.data_dir = self.root / "data"
        self.socket_dir = self.root / "sock"
        self.log_path = self.root / "server.log"
        self.port = 0
        atexit.register(self.stop)
        try:
            self.socket_dir.mkdir()
            if self._as_root:
                for p in (self.root, self.socket_dir):
                    os.chown(p, entry.pw_uid, entry.pw_gid)
            self._run("initdb", "-D", str(self.data_dir), "-U", self.user, "--auth=trust",
                      "--locale=C", "--encoding=UTF8")
            self._start(max_connections, durable)
        except BaseException:
            self.stop()
            raise

    # -- processes ---------------------------------------------------------------------------

    def _command(self, tool: str, *args: str) -> list[str]:
        cmd = [str(self.bin_dir / tool), *args]
        return ["runuser", "-u", _SYSTEM_USER, "--", *cmd] if self._as_root else cmd

    def _run(self, tool: str, *args: str, check: bool = True) -> int:
        """Run one of the server's tools (as the postgres user under root), its output appended
        to `tools.log` (a file, not a pipe: the postmaster pg_ctl leaves behind must not hold
        one of ours open)."""
        with (self.root / "tools.log").open("ab") as out:
            rc = subprocess.run(self._command(tool, *args), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, cwd=self.root,
                                env=_clean_env(), timeout=60, check=False).returncode
        if check and rc != 0:
            raise RuntimeError(f"{tool} exited with {rc}:\n{self.logs()}")
        return rc

    def _start(self, max_connections: int, durable: bool) -> None:
        sync = "on" if durable else "off"
        conf = self.data_dir / "postgresql.conf"
        with conf.open("a", encoding="utf-8") as f:
            f.write(
                "\n# tests/pg_server.py\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                f"max_connections = {max_connections}\n"
                f"fsync = {sync}\nsynchronous_commit = {sync}\nfull_page_writes = {sync}\n"
            )
        for _attempt in range(3):  # the free port may be taken between probe and bind
            self.port = _free_port()
            with conf.open("a", encoding="utf-8") as f:
                f.write(f"port = {self.port}\n")  # the last setting of a name wins
            if self._run("pg_ctl", "start", "-w", "-t", "30", "-D", str(self.data_dir),
                         "-l", str(self.log_path), check=False) == 0:
                return
            if "already in use" not in self._read(self.log_path):
                break
        raise RuntimeError(f"pg_ctl start failed:\n{self.logs()}")

    def _postmaster_pid(self) -> int | None:
        try:
            return int(self._read(self.data_dir / "postmaster.pid").splitlines()[0])
        except (IndexError, ValueError):
            return None

    @staticmethod
    def _read(path: Path) -> str:
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def logs(self) -> str:
        """The tools' and the server's output so far, for failure messages."""
        return self._read(self.root / "tools.log") + self._read(self.log_path)

    # -- API ---------------------------------------------------------------------------------

    def url(self, dbname: str) -> str:
        """The libpq URL of database `dbname` over loopback TCP."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        """Create database `name` (UTF8, from template0) and return its URL."""
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name):
            raise ValueError(f"database name {name!r}: letters, digits and _ only")
        if self._run("createdb", "-h", str(self.socket_dir), "-p", str(self.port),
                     "-U", self.user, "-T", "template0", "-E", "UTF8", name, check=False) != 0:
            raise RuntimeError(f"createdb {name} failed:\n{self._read(self.root / 'tools.log')}")
        return self.url(name)

    def stop(self) -> None:
        """Stop the server at once (pg_ctl stop -m immediate) and remove its directory.
        Idempotent; also registered with atexit."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        try:
            if (self.data_dir / "postmaster.pid").exists():
                pid = self._postmaster_pid()
                with contextlib.suppress(Exception):
                    self._run("pg_ctl", "stop", "-m", "immediate", "-w", "-t", "10",
                              "-D", str(self.data_dir), check=False)
                if pid is not None:
                    self._reap(pid)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    @staticmethod
    def _reap(pid: int) -> None:
        """Make sure the postmaster is gone: SIGKILL it if pg_ctl did not stop it."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.02)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def start_or_skip(durable: bool = True) -> PgServer:
    """A started PgServer, or skip the test when PostgreSQL's binaries are not installed."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip(SKIP_REASON)
    return PgServer(bin_dir, durable=durable)
