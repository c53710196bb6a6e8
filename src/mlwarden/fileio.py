"""Writing files safely: mlwarden changes a file only when asked, never leaves half of one, and never lets the
scanned repository redirect a write.

A repository under scan is untrusted: ``sbom/`` may be a link to ``~/.ssh``, the report path a FIFO or a device
node. So an output is written to a temporary file beside its destination and renamed over it (a concurrent
reader sees the old or the new file), and before that:

- a destination inside the project that resolves (through any link) outside the project is refused;
- a destination outside the project that is itself a link is refused (name the real file instead);
- an existing destination that is not a regular file (FIFO, device, socket, directory) is refused, never
  replaced;
- a new file gets the ordinary permissions (0666 minus the umask, as ``open()`` would give it, not the 0600 of
  ``mkstemp``); an existing file keeps its mode.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from mlwarden.errors import MlwardenError
from mlwarden.safeload import file_kind


class OutputError(MlwardenError):
    """An output path that mlwarden refuses to write, or a write that failed."""


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def safe_destination(path: Path, root: Path | None = None) -> Path:
    """The real file that writing ``path`` would replace, after the checks above; raises OutputError.
    ``root`` is the project (default: the current directory)."""
    project = os.path.abspath(root if root is not None else Path.cwd())
    real_project = os.path.realpath(project)
    lexical = os.path.abspath(path)
    real = os.path.realpath(lexical)
    if _inside(lexical, project) or _inside(lexical, real_project):
        if not _inside(real, real_project):
            raise OutputError(f"refusing to write {path}: it is a link that leads outside the project ({real})")
    elif os.path.islink(lexical):
        raise OutputError(f"refusing to write {path}: it is a link outside the project; name its target ({real})")
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        return Path(real)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise OutputError(f"refusing to write {path}: it is {file_kind(mode)}, not a regular file")
    return Path(real)


def write_atomic(path: Path, text: str | bytes, root: Path | None = None) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically after :func:`safe_destination`'s checks. Raises OutputError
    (one line) on refusal or failure; the destination is then unchanged and no temporary file is left."""
    target = safe_destination(path, root)
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        existing_mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        existing_mode = None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        # 0o666 here: the kernel applies the umask, exactly as for a file created by open().
        fd = os.open(tmp, flags, 0o666)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if existing_mode is not None:
                os.fchmod(fd, existing_mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        # A destination swapped for a FIFO/dir since the check: rename over a dir fails; re-check the rest.
        safe_destination(path, root)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(target.parent)


def _fsync_folder(folder: Path) -> None:
    # Makes the rename durable; best effort (not every platform can open a folder).
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


LOCK_TIMEOUT_SECONDS = 30.0


@contextlib.contextmanager
def exclusive_lock(path: Path, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``.<name>.lock`` beside ``path`` for the duration of a read-modify-write.
    Raises OutputError after ``timeout`` seconds. The lock file is removed on release; a waiter that locked a
    removed lock file notices (inode changed) and locks the new one, so removal loses no exclusion."""
    if sys.platform == "win32":  # pragma: no cover - no flock; policy edits there are not concurrent-safe
        yield
        return
    import fcntl

    lock = path.parent / f".{path.name}.lock"
    deadline = time.monotonic() + timeout
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        try:
            fd = os.open(lock, flags, 0o666)
        except OSError as exc:
            raise OutputError(f"cannot lock {path}: {lock}: {exc.strerror or exc}") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OutputError(f"cannot lock {path}: {lock} is not a regular file")
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise OutputError(f"cannot lock {path}: another mlwarden process has held {lock} for "
                                          f"{timeout:g} s; retry, or remove the lock file if no such "
                                          "process is running") from None
                    time.sleep(0.02)
            try:
                current = os.stat(lock, follow_symlinks=False)
            except FileNotFoundError:
                current = None
            if current is not None and current.st_ino == os.fstat(fd).st_ino:
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the holder removed this lock file on release: lock the new one
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)
