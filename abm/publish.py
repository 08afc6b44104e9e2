"""Publishing a run: OUT_DIR only ever replaces what abm made, atomically for crashes and readers.

Layout beside ``OUT_DIR`` (``abm-out`` below)::

    abm-out -> .abm-out.runs/20261130T045100Z-1234     a relative symlink: what readers open
    .abm-out.runs/20261130T045100Z-1234/               the published run (holds MARKER)
    .abm-out.runs/20261129T045000Z-987/                the run before it, kept for readers mid-read
    .abm-out.runs/.tmp-…/                              the run being written (removed on failure)
    .abm-out.lock                                      fcntl lock: one run at a time per OUT_DIR

A run is written into a hidden ``.tmp-…`` directory, renamed to its final name when complete, and
published by renaming a new symlink over ``OUT_DIR`` (rename(2) is atomic): a reader of OUT_DIR sees
the old run or the new one, never a missing or half-written directory, and a SIGKILL at any moment
leaves the previous run byte-identical. Older run directories are pruned (the previous one is kept).

Safety, checked before any work (``InputError``, exit 2): OUT_DIR must not be or contain INPUT_DIR,
the rules directory, the working directory, a home or the root directory; an existing OUT_DIR must
be abm's (the symlink above, an empty directory, or a directory holding MARKER — or ``run.json`` of
an abm run made before the marker existed, which is moved into the runs directory once). Its parent
must be a writable directory with room for the run. Files in the published run that abm did not
write (``evaluation.json`` from ``abm evaluate``, a user's notes) are copied forward into the new
run; abm's own files are never copied forward.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from abm import __version__
from abm.errors import InputError, OutputBusyError

log = logging.getLogger(__name__)

#: the file that marks a directory as written by abm (lists the files abm wrote there)
MARKER = ".abm-output.json"
#: names a pre-marker abm wrote at the top of OUT_DIR (used only to migrate such a directory)
LEGACY_NAMES = frozenset({"run.json", "report.html", "abm.duckdb", "csv", "graphs", "stages", "evidence"})
#: free space asked of OUT_DIR's file system: this much, plus twice the input's size
MIN_FREE_BYTES = 16 * 2**20
#: test hook: ``ABM_TEST_PAUSE_AT=<checkpoint>`` makes a run stop there (the tests SIGKILL it)
PAUSE_ENV = "ABM_TEST_PAUSE_AT"
_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


def checkpoint(name: str) -> None:
    """Test hook between publishing steps; does nothing unless ``ABM_TEST_PAUSE_AT`` names it."""
    if os.environ.get(PAUSE_ENV) == name:
        sys.stderr.write(f"abm: paused at {name}\n")
        sys.stderr.flush()
        time.sleep(3600)


def runs_dir(out_dir: Path) -> Path:
    return out_dir.parent / f".{out_dir.name}.runs"


def lock_path(out_dir: Path) -> Path:
    return out_dir.parent / f".{out_dir.name}.lock"


def _absolute(path: Path) -> Path:
    """Absolute, symlinks of the parents resolved, the last component kept as written."""
    path = Path(os.path.abspath(path))
    return path.parent.resolve() / path.name


def _contains(outer: Path, inner: Path) -> bool:
    return inner == outer or outer in inner.parents


def _protected(out: Path, input_dir: Path, rules_dir: Path) -> str | None:
    """Why ``out`` must never be replaced (None: it may)."""
    home = Path.home().resolve()
    if out == Path(out.anchor):
        return "it is the root directory"
    if out == home or out.parent == Path("/home") or out == Path("/root"):
        return "it is a home directory"
    if _contains(out, home):
        return "it contains a home directory"
    for what, path in (("INPUT_DIR", input_dir), ("the rules directory", rules_dir),
                       ("the working directory", Path.cwd())):
        if _contains(out, path.resolve()):
            return f"it {'is' if out == path.resolve() else 'contains'} {what} ({path})"
    return None


def _ours(out: Path) -> tuple[str, Path | None]:
    """What ``out`` is now: ('missing'|'link'|'empty'|'legacy', published run dir) or an InputError."""
    if out.is_symlink():
        target = Path(os.path.realpath(out))
        if target.parent != runs_dir(out).resolve() or not (target / MARKER).is_file():
            raise InputError(str(out), f"it is a symlink to {os.readlink(out)}, which abm did not make",
                             fix="remove the symlink or choose another --out")
        return "link", target
    if not out.exists():
        return "missing", None
    if not out.is_dir():
        raise InputError(str(out), "--out is an existing file, not a directory",
                         fix="choose another --out")
    try:
        entries = {p.name for p in out.iterdir()}
    except OSError as exc:
        raise InputError(str(out), f"--out cannot be listed ({exc.strerror})") from exc
    if not entries:
        return "empty", None
    if MARKER in entries or _legacy_run_json(out / "run.json"):
        return "legacy", out
    raise InputError(
        str(out), "--out is a non-empty directory that abm did not write (no abm output marker); "
        "abm replaces its output directory and will not delete files it did not make",
        fix="choose a new or empty --out directory",
    )


def _legacy_run_json(path: Path) -> bool:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and "abm_version" in doc and "contract_version" in doc


def _input_bytes(input_dir: Path) -> int:
    total = 0
    for p in input_dir.iterdir():
        try:
            if p.is_file():
                total += p.stat().st_size
        except OSError:
            continue
    return total


def _check_parent(out: Path, need: int) -> None:
    """OUT_DIR's parent: a directory (made if missing), writable, with ``need`` bytes free."""
    parent = out.parent
    probe = parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise InputError(str(out), f"--out lies under {probe}, which is a file, not a directory",
                         fix="choose an --out inside a directory")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        runs = runs_dir(out)
        runs.mkdir(exist_ok=True)
        test = runs / f".probe-{os.getpid()}"
        test.write_bytes(b"abm")
        test.unlink()
    except OSError as exc:
        raise InputError(str(out), f"--out cannot be written ({exc.strerror or exc}: {exc.filename or parent})",
                         fix="choose an --out on a writable disk") from exc
    free = shutil.disk_usage(parent).free
    if free < need:
        raise InputError(str(out), f"the disk of --out has {free // 2**20} MiB free, the run needs about "
                         f"{need // 2**20} MiB", fix="free some space or choose an --out on another disk")


def _cleanup_stale(out: Path, keep: set[Path]) -> None:
    """Remove what killed runs left behind (we hold the lock): tmp run dirs, old staging copies."""
    runs = runs_dir(out)
    if runs.is_dir():
        for p in runs.iterdir():
            if p.name.startswith((".tmp-", ".probe-")) and p.resolve() not in keep:
                _remove(p)
    # the staging/previous copies of abm versions before the runs directory
    for p in out.parent.glob(f".{out.name}.staging-*"):
        _remove(p)
    for p in out.parent.glob(f".{out.name}.previous-*"):
        _remove(p)
    for p in out.parent.glob(f".{out.name}.link-*"):  # a new symlink not yet renamed over OUT_DIR
        _remove(p)


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        p.unlink(missing_ok=True)


def _link(out: Path, target: Path) -> None:
    """Point ``out`` at ``target`` atomically (a new relative symlink renamed over it)."""
    tmp = out.parent / f".{out.name}.link-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(os.path.relpath(target, out.parent))
    os.replace(tmp, out)
    _fsync_dir(out.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _recover(out: Path) -> None:
    """A run killed while migrating a pre-marker OUT_DIR: link the migrated run back."""
    if out.exists() or out.is_symlink():
        return
    migrated = sorted(runs_dir(out).glob("*-migrated"))
    if migrated:
        _link(out, migrated[-1])


def _migrate(out: Path) -> Path:
    """Move a real abm OUT_DIR into the runs directory once and link it (checkpoint: migrating)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = runs_dir(out) / f"{stamp}-migrated"
    if not (out / MARKER).exists():
        _write_marker(out, sorted(p.name for p in out.iterdir() if _legacy_name(p.name)), legacy=True)
    os.rename(out, target)
    checkpoint("migrating")
    _link(out, target)
    log.info("%s: moved into %s (output directories are now versioned)", out, target)
    return target


def _legacy_name(name: str) -> bool:
    return name in LEGACY_NAMES or name.endswith(".parquet") or name.startswith("abm.duckdb")


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != MARKER)


def _write_marker(root: Path, files: list[str], legacy: bool = False) -> None:
    doc: dict[str, object] = {"written_by": "abm", "abm_version": __version__, "files": files}
    if legacy:
        doc["migrated"] = True
    (root / MARKER).write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _abm_files(run: Path) -> set[str]:
    try:
        doc = json.loads((run / MARKER).read_text(encoding="utf-8"))
        return set(doc.get("files", []))
    except (OSError, ValueError):
        return set()


def _carry_forward(previous: Path | None, stage: Path) -> list[str]:
    """Copy files abm did not write from the published run into the new one (new outputs win)."""
    if previous is None or not previous.is_dir():
        return []
    ours = _abm_files(previous)  # every file path (a migrated run: its top-level names)
    carried = []
    for p in sorted(previous.rglob("*")):
        rel = str(p.relative_to(previous))
        top = rel.split(os.sep, 1)[0]
        if not p.is_file() or p.name == MARKER or rel in ours or top in ours:
            continue
        dest = stage / rel
        if dest.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, dest)
        carried.append(rel)
    if carried:
        log.info("%d file(s) abm did not write were carried forward into the new output: %s",
                    len(carried), ", ".join(carried[:5]))
    return carried


def _prune(out: Path, keep: set[Path]) -> None:
    runs = runs_dir(out)
    done = sorted((p for p in runs.iterdir() if not p.name.startswith(".") and p.is_dir()), key=lambda p: p.name)
    for p in done:
        if p.resolve() not in keep:
            shutil.rmtree(p, ignore_errors=True)


@contextmanager
def _locked(out: Path) -> Iterator[None]:
    fd = os.open(lock_path(out), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputBusyError(str(out)) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextmanager
def publication(out_dir: Path, input_dir: Path, rules_dir: Path) -> Iterator[Path]:
    """Check and lock OUT_DIR, yield a fresh run directory; publish it when the block succeeds.

    Raises InputError before any work when OUT_DIR may not be used (see the module doc) and
    OutputBusyError when another run holds OUT_DIR. On any failure the new run directory is removed
    and the published output stays as it was.
    """
    out = _absolute(out_dir)
    reason = _protected(out, input_dir, rules_dir)
    if reason:
        raise InputError(str(out_dir), f"--out cannot be used: {reason}; abm replaces its output directory",
                         fix="choose a new directory for --out, e.g. abm-out")
    if out.is_symlink() or out.exists():
        _ours(out)  # refuse early, before touching anything beside it
    _check_parent(out, MIN_FREE_BYTES + 2 * _input_bytes(input_dir))
    with _locked(out):
        _recover(out)
        state, current = _ours(out)
        if state == "legacy":
            current = _migrate(out)
        elif state == "empty":
            out.rmdir()
        _cleanup_stale(out, set())
        checkpoint("start")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        stage = runs_dir(out) / f".tmp-{stamp}-{os.getpid()}"
        stage.mkdir()
        try:
            yield stage
            checkpoint("written")
            _write_marker(stage, _files(stage))
            _carry_forward(current, stage)
            final = runs_dir(out) / f"{stamp}-{os.getpid()}"
            os.rename(stage, final)
            _fsync_dir(runs_dir(out))
            checkpoint("renamed")
            _link(out, final)
            checkpoint("published")
        except OSError as exc:
            shutil.rmtree(stage, ignore_errors=True)
            if exc.errno in _DISK_ERRNOS and str(exc.filename or "").startswith(str(runs_dir(out))):
                raise InputError(str(out_dir), f"writing the outputs failed ({exc.strerror}: {exc.filename})",
                                 fix="free some space or choose a writable --out") from exc
            raise
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        _prune(out, {final.resolve(), *( {current.resolve()} if current else set())})
