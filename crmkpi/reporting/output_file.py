"""Writing an output where the user asked, without destroying anything on the way.

A regular file (or a new one) is replaced atomically: written beside it under a name this tool
recognises, then renamed over it, keeping the old file's permissions (or the umask's for a new
one). Anything else is written in place as a stream and never replaced: `-` and /dev/stdout are
standard output, /dev/stderr and /dev/fd/N their descriptors, a device or FIFO is opened for
writing. An input, the config, the history store or the parse cache is never an output, and
every OS error becomes one line naming the path (exit 2).

A run killed mid-write leaves `.NAME.crmkpi-PID.tmp`; the next write to NAME removes those whose
process is gone.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from crmkpi.errors import OutputError, UsageError

STDOUT = "-"
_DESCRIPTOR = re.compile(r"/(?:dev|proc/self|proc/\d+)/fd/(\d+)")
_MAX_LINKS = 40  # as the kernel's own limit on following symlinks
_NAMED_STREAMS = {"/dev/stdout": 1, "/dev/stderr": 2}


Protected = Mapping[Path, str] | Iterable[Path]


def write_output(path: str | Path, data: str | bytes, protected: Protected | None = None) -> None:
    """Write `data` to `path` as described above; raises OutputError or UsageError.

    `protected` maps paths never to be replaced to what they are ("the config"); a plain list
    names input files. A protected folder protects everything inside it."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    name = str(path)
    if _behind_links(name) == "/dev/stdin":
        raise UsageError("cannot write the output to standard input", hint="give a file name")
    descriptor = stream_descriptor(_behind_links(name))
    if descriptor is not None:
        _write_descriptor(descriptor, raw, name)
        return
    target = Path(path)
    try:
        info = target.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise _os_error(exc, name) from exc
    _refuse_protected(target, info, _roles(protected))
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{name!r} is a folder", hint="give a file name for the output")
    if info is not None and not stat.S_ISREG(info.st_mode):
        _write_in_place(target, raw)
        return
    _replace(target.resolve(), raw, info)


def stream_descriptor(name: str) -> int | None:
    """The descriptor `name` stands for (-, /dev/stdout, /dev/stderr, /dev/fd/N), else None:
    reopening such a path would truncate what the shell redirected it to (`2>>cron.log`)."""
    if name == STDOUT:
        return 1
    if name in _NAMED_STREAMS:
        return _NAMED_STREAMS[name]
    match = _DESCRIPTOR.fullmatch(name)
    return int(match.group(1)) if match else None


def _behind_links(name: str) -> str:
    """The first path along `name`'s chain of symlinks that names a standard stream or a
    descriptor (a link to /dev/stderr is /dev/stderr), else `name` itself."""
    hop = name
    for _ in range(_MAX_LINKS):
        if hop == "/dev/stdin" or stream_descriptor(hop) is not None:
            return hop
        try:
            link = os.readlink(hop)
        except OSError:
            return name
        hop = os.path.normpath(os.path.join(os.path.dirname(hop), link))
    return name


def is_stream(name: str | Path | None) -> bool:
    return name is not None and stream_descriptor(str(name)) is not None


def _write_descriptor(descriptor: int, raw: bytes, name: str) -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    if descriptor in (1, 2) and _captured(descriptor):
        # Standard streams replaced in-process (tests, embedding): write to the object.
        stream = sys.stdout if descriptor == 1 else sys.stderr
        stream.buffer.write(raw) if hasattr(stream, "buffer") else stream.write(raw.decode())
        stream.flush()
        return
    try:
        _write_all(descriptor, raw)
    except BrokenPipeError:
        raise  # `| head` stopped reading: not an error (the CLI exits quietly)
    except OSError as exc:
        raise _os_error(exc, name) from exc


def _captured(descriptor: int) -> bool:
    stream = sys.stdout if descriptor == 1 else sys.stderr
    try:
        return stream.fileno() != descriptor
    except (AttributeError, ValueError, OSError):
        return True


def _write_all(descriptor: int, raw: bytes) -> None:
    view = memoryview(raw)
    while view:
        written = os.write(descriptor, view)
        view = view[written:]


def _write_in_place(target: Path, raw: bytes) -> None:
    """A device or FIFO: opened without truncating or creating, never replaced. A FIFO with
    no reader is an error rather than a run that waits forever."""
    try:
        descriptor = os.open(target, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OutputError("nothing reads from this FIFO", path=str(target)) from exc
        raise _os_error(exc, str(target)) from exc
    try:
        os.set_blocking(descriptor, True)
        _write_all(descriptor, raw)
    except OSError as exc:
        raise _os_error(exc, str(target)) from exc
    finally:
        os.close(descriptor)


def _replace(target: Path, raw: bytes, info: os.stat_result | None) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target)
    except OSError as exc:
        raise _os_error(exc, str(target)) from exc
    temporary = temporary_path(target, os.getpid())
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(descriptor, _mode_for(info))
            if info is not None and os.geteuid() == 0:
                # As root, the replacement keeps the owner a user's report had.
                with contextlib.suppress(OSError):
                    os.fchown(descriptor, info.st_uid, info.st_gid)
            _write_all(descriptor, raw)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise _os_error(exc, str(target)) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def temporary_path(target: Path, pid: int) -> Path:
    return target.with_name(f".{target.name}.crmkpi-{pid}.tmp")


def remove_stale_temporaries(target: Path) -> list[Path]:
    """Remove this tool's temporaries for `target` left by processes that no longer run."""
    removed = []
    prefix = f".{target.name}.crmkpi-"
    if not target.parent.is_dir():
        return removed
    for entry in target.parent.iterdir():
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid = name[len(prefix) : -len(".tmp")]
        if pid.isdigit() and not _running(int(pid)):
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return False  # ours, from an earlier write that failed: stale all the same
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _mode_for(info: os.stat_result | None) -> int:
    """The replaced file's mode, else what the umask gives a new file (a temporary's 0600 is
    not what a report shared with a team should have)."""
    if info is not None:
        return info.st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _roles(protected: Protected | None) -> dict[Path, str]:
    if protected is None:
        return {}
    if isinstance(protected, Mapping):
        return dict(protected)
    return {Path(p): "the input file" for p in protected}


def _refuse_protected(target: Path, info: os.stat_result | None, roles: dict[Path, str]) -> None:
    resolved = target.resolve()
    for path, role in roles.items():
        inside = path.is_dir() and resolved.is_relative_to(path.resolve())
        # samefile: a symlink or a hard link to an input is that input too.
        if resolved == path.resolve() or inside or (info is not None and _same_file(path, info)):
            raise UsageError(f"refusing to overwrite {role} {str(target)!r}")


def _same_file(path: Path, info: os.stat_result) -> bool:
    try:
        other = path.stat()
    except OSError:
        return False
    return (other.st_dev, other.st_ino) == (info.st_dev, info.st_ino)


def _os_error(exc: OSError, name: str) -> OutputError:
    reason = exc.strerror or str(exc)
    return OutputError(f"cannot write the output: {reason}", path=name)
