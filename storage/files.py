"""Private files: the database, its logs and the lock file are 0600, a data folder we make 0700."""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

FILE_MODE = 0o600
FOLDER_MODE = 0o700
# What SQLite keeps beside a database; it creates them with the database file's mode.
COMPANIONS = ("-wal", "-shm", "-journal")


def private_folder(folder: Path) -> None:
    """Create `folder` 0700 if it is missing. One that exists is left as it is: it may be
    /tmp or a home directory."""
    if folder.is_dir():
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        folder.mkdir(mode=FOLDER_MODE)
    except FileExistsError:
        return  # made by someone else meanwhile
    os.chmod(folder, FOLDER_MODE)  # exactly, whatever the umask


def _create(path: Path, flags: int) -> int | None:
    """Create `path` 0600 (exactly, whatever the umask) and open it; None if it exists."""
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return None
    os.fchmod(fd, FILE_MODE)
    return fd


def open_private(path: Path, flags: int) -> int:
    """os.open, creating the file 0600; an existing file of ours that is more open is
    tightened."""
    fd = _create(path, flags)
    if fd is not None:
        return fd
    tighten([path])
    return os.open(path, flags)


def private_database(path: Path) -> None:
    """Make sure the database file exists 0600 before SQLite opens it (SQLite gives its
    logs the same mode), in a private folder if it makes one, and tighten an existing
    database or log of ours that is more open."""
    private_folder(path.parent)
    fd = _create(path, os.O_WRONLY)
    if fd is not None:
        os.close(fd)
    tighten([path, *(Path(f"{path}{suffix}") for suffix in COMPANIONS)])


def tighten(paths: Iterable[Path]) -> list[Path]:
    """chmod 0600 every existing file of ours among `paths` that others may read or write;
    logs once what it changed."""
    changed: list[tuple[Path, int]] = []
    for path in paths:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            continue
        mode = stat.S_IMODE(st.st_mode)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or not mode & 0o077:
            continue
        try:
            os.chmod(path, FILE_MODE)
        except OSError as exc:  # a file system without modes: say so, carry on
            log.warning("could not make %s private (mode %04o): %s", path, mode, exc)
            continue
        changed.append((path, mode))
    if changed:
        log.info("made private (0600, was %s): %s", ", ".join(f"{m:04o}" for _, m in changed),
                 ", ".join(str(p) for p, _ in changed))
    return [p for p, _ in changed]


MEDIA = "media"  # the folder beside the database that keeps attachments' copies


def save_media(database: str, data: bytes, suffix: str) -> str:
    """Keep an attachment's bytes in the media folder beside the database (0600 in a 0700
    folder), named by their hash so the same file is kept once; its path relative to the
    database's folder."""
    clean = "".join(c for c in suffix.lower() if c.isalnum())[:8]
    name = hashlib.sha256(data).hexdigest()[:32] + (f".{clean}" if clean else "")
    folder = Path(database).resolve().parent / MEDIA
    private_folder(folder)
    target = folder / name
    if not target.exists():
        fd = open_private(target, os.O_WRONLY | os.O_TRUNC)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    return f"{MEDIA}/{name}"


def media_file(database: str, relative: str) -> Path | None:
    """The kept copy of an attachment, if `relative` names a file in the media folder."""
    folder = (Path(database).resolve().parent / MEDIA).resolve()
    target = (folder.parent / relative).resolve()
    if target.parent != folder or not target.is_file():
        return None
    return target
