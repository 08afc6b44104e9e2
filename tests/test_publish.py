"""Publishing: abm replaces only what it made, one run at a time, atomically for crashes (real SIGKILLs)
and for readers; files abm did not write are carried forward."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from abm import publish
from abm.cli import main
from abm.errors import InputError, OutputBusyError
from abm.publish import MARKER, lock_path, publication, runs_dir
from abm.rules import DEFAULT_RULES_DIR

CARDS = (
    "card_id,company_name,family_name,given_name,email,exchanged_on,owner_name,owner_department\n"
    "C1,株式会社サンプル,山田,太郎,taro@sample.example,2025-01-05,佐藤,営業1部\n"
    "C2,株式会社サンプル,鈴木,花子,hanako@sample.example,2025-01-06,田中,営業2部\n"
    "C3,テスト工業株式会社,高橋,一郎,ichiro@test.example,2025-01-07,佐藤,営業1部\n"
)


def tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` (through OUT_DIR's symlink) -> sha256."""
    root = Path(os.path.realpath(root))
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture()
def world(tmp_path: Path) -> Path:
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "cards.csv").write_text(CARDS, encoding="utf-8")
    return inp


def publish_files(out: Path, inp: Path, files: dict[str, str]) -> None:
    with publication(out, inp, DEFAULT_RULES_DIR) as stage:
        for name, text in files.items():
            (stage / name).parent.mkdir(parents=True, exist_ok=True)
            (stage / name).write_text(text, encoding="utf-8")


# --- --out that abm must refuse ------------------------------------------------------------------


def _refusals(tmp_path: Path, inp: Path) -> dict[str, tuple[Path, str]]:
    other = tmp_path / "project"
    other.mkdir()
    (other / "main.py").write_text("print('mine')\n")
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("x")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "data.txt").write_text("keep")
    link = tmp_path / "link_out"
    link.symlink_to(elsewhere)
    return {
        "input dir": (inp, "it is INPUT_DIR"),
        "parent of input": (tmp_path, "it contains INPUT_DIR"),
        "rules dir": (DEFAULT_RULES_DIR, "it is the rules directory"),
        "root": (Path("/"), "it is the root directory"),
        "non-empty foreign dir": (other, "non-empty directory that abm did not write"),
        "a file": (a_file, "an existing file"),
        "under a file": (a_file / "out", "which is a file, not a directory"),
        "foreign symlink": (link, "which abm did not make"),
    }


CASES = ["input dir", "parent of input", "rules dir", "root", "non-empty foreign dir", "a file",
         "under a file", "foreign symlink"]


@pytest.mark.parametrize("case", CASES)
def test_an_out_abm_did_not_make_is_refused_before_any_work(tmp_path: Path, world: Path, case: str):
    out, message = _refusals(tmp_path, world)[case]
    before = tree(tmp_path)
    with pytest.raises(InputError, match=message):
        publish_files(out, world, {"records.parquet": "x"})
    assert tree(tmp_path) == before


def test_cwd_and_home_are_refused(tmp_path: Path, world: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "work" / "sub").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "work" / "sub")
    with pytest.raises(InputError, match="it is the working directory"):
        publish_files(Path("."), world, {})
    with pytest.raises(InputError, match="it contains the working directory"):
        publish_files(Path(".."), world, {})
    home = tmp_path / "home"
    (home / "me").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home / "me"))
    with pytest.raises(InputError, match="it is a home directory"):
        publish_files(home / "me", world, {})
    with pytest.raises(InputError, match="contains a home directory"):
        publish_files(home, world, {})


def test_cli_out_at_the_input_exits_2_and_keeps_the_exports(world: Path):
    before = tree(world)
    result = CliRunner().invoke(main, ["run", str(world), "--out", str(world)])
    assert result.exit_code == 2, result.output
    assert "it is INPUT_DIR" in result.output and "Traceback" not in result.output
    assert tree(world) == before


def test_a_full_disk_is_refused_before_the_run(tmp_path: Path, world: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(publish.shutil, "disk_usage", lambda _p: SimpleNamespace(total=1, used=0, free=1024))
    with pytest.raises(InputError, match="MiB free"):
        publish_files(tmp_path / "out", world, {})
    assert not (tmp_path / "out").exists()


def test_an_empty_directory_may_be_the_out(tmp_path: Path, world: Path):
    (tmp_path / "out").mkdir()
    publish_files(tmp_path / "out", world, {"run.json": "{}"})
    assert (tmp_path / "out").is_symlink() and (tmp_path / "out" / "run.json").read_text() == "{}"


# --- layout, carry-forward, migration, pruning, failure -----------------------------------------


def test_out_is_a_relative_symlink_to_a_marked_run_and_old_runs_are_pruned(tmp_path: Path, world: Path):
    out = tmp_path / "out"
    for i in range(4):
        publish_files(out, world, {"run.json": str(i), "csv/a.csv": "a"})
    assert out.is_symlink() and not os.readlink(out).startswith("/")
    assert (out / "run.json").read_text() == "3"
    marker = json.loads((out / MARKER).read_text())
    assert marker["written_by"] == "abm" and marker["files"] == ["csv/a.csv", "run.json"]
    assert len([p for p in runs_dir(out).iterdir()]) == 2  # the published run and the one before


def test_files_abm_did_not_write_are_carried_forward(tmp_path: Path, world: Path):
    out = tmp_path / "out"
    publish_files(out, world, {"run.json": "1", "report.html": "old"})
    (out / "evaluation.json").write_text('{"f1": 1}')
    (out / "notes").mkdir()
    (out / "notes" / "mine.txt").write_text("my notes")
    publish_files(out, world, {"run.json": "2"})
    assert (out / "evaluation.json").read_text() == '{"f1": 1}'
    assert (out / "notes" / "mine.txt").read_text() == "my notes"
    assert not (out / "report.html").exists()  # abm's own old file is not resurrected
    assert json.loads((out / MARKER).read_text())["files"] == ["run.json"]


def test_an_output_of_an_older_abm_is_migrated_once(tmp_path: Path, world: Path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").write_text(json.dumps({"abm_version": "0.1", "contract_version": "1.1"}))
    (out / "records.parquet").write_text("old")
    (out / "csv").mkdir()
    (out / "csv" / "records.csv").write_text("old")
    (out / "evaluation.json").write_text("mine")
    publish_files(out, world, {"run.json": "new"})
    assert out.is_symlink()
    assert (out / "evaluation.json").read_text() == "mine"
    assert not (out / "records.parquet").exists() and not (out / "csv").exists()
    migrated = [p for p in runs_dir(out).iterdir() if p.name.endswith("-migrated")]
    assert len(migrated) == 1 and (migrated[0] / "records.parquet").read_text() == "old"


def test_a_failed_run_leaves_the_output_and_no_staging(tmp_path: Path, world: Path):
    out = tmp_path / "out"
    publish_files(out, world, {"run.json": "1"})
    before = tree(out)
    with pytest.raises(RuntimeError):
        with publication(out, world, DEFAULT_RULES_DIR) as stage:
            (stage / "run.json").write_text("half")
            raise RuntimeError("boom")
    assert tree(out) == before
    assert not [p for p in runs_dir(out).iterdir() if p.name.startswith(".")]


def test_stale_staging_of_killed_runs_is_removed_on_the_next_start(tmp_path: Path, world: Path):
    out = tmp_path / "out"
    publish_files(out, world, {"run.json": "1"})
    (runs_dir(out) / ".tmp-20250101T000000Z-99").mkdir()
    (runs_dir(out) / ".tmp-20250101T000000Z-99" / "records.parquet").write_text("x" * 1000)
    (tmp_path / ".out.staging-4242").mkdir()  # what abm 0.x left behind
    (tmp_path / ".out.previous-4242").mkdir()
    publish_files(out, world, {"run.json": "2"})
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out.s") or p.name.startswith(
        ".out.p")) == []
    assert not [p for p in runs_dir(out).iterdir() if p.name.startswith(".")]


def test_a_held_lock_refuses_a_second_run(tmp_path: Path, world: Path):
    out = tmp_path / "out"
    publish_files(out, world, {"run.json": "1"})
    with open(lock_path(out), "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(OutputBusyError, match="Another abm run is writing"):
            publish_files(out, world, {"run.json": "2"})
    assert (out / "run.json").read_text() == "1"


def test_a_reader_never_finds_the_output_missing_or_half_written(tmp_path: Path, world: Path):
    out = tmp_path / "out"
    publish_files(out, world, {"run.json": "0" * 5000, "records.parquet": "a"})
    seen: list[str] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.append((out / "run.json").read_text())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(1, 30):
            publish_files(out, world, {"run.json": str(i % 10) * 5000, "records.parquet": "a"})
    finally:
        stop.set()
        reader.join()
    assert seen and all(len(s) == 5000 and len(set(s)) == 1 for s in seen)


# --- real processes: SIGKILL at any moment, two runs at once ------------------------------------


def _abm(inp: Path, out: Path, pause: str | None = None) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env.pop(publish.PAUSE_ENV, None)
    if pause:
        env[publish.PAUSE_ENV] = pause
    return subprocess.Popen([sys.executable, "-m", "abm.cli", "run", str(inp), "--out", str(out), "-q"],
                            env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def _wait_for_pause(proc: subprocess.Popen[str], name: str) -> None:
    """Read the run's stderr until it says it paused at ``name`` (other lines are log warnings)."""
    seen = []
    for line in proc.stderr or []:
        if f"paused at {name}" in line:
            return
        seen.append(line)
    raise AssertionError(f"the run ended without pausing at {name}: {''.join(seen)}")


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("kill")
    inp = base / "in"
    inp.mkdir()
    (inp / "cards.csv").write_text(CARDS, encoding="utf-8")
    out = base / "out"
    proc = _abm(inp, out)
    assert proc.wait(timeout=300) == 0, proc.stderr.read() if proc.stderr else ""
    (out / "evaluation.json").write_text("{}")
    return inp, out


@pytest.mark.parametrize("moment", ["start", "written", "renamed"])
def test_sigkill_at_a_stage_boundary_leaves_the_previous_output_byte_identical(published, moment: str):
    inp, out = published
    before = tree(out)
    proc = _abm(inp, out, pause=moment)
    _wait_for_pause(proc, moment)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert tree(out) == before


def test_sigkill_after_random_delays_leaves_a_whole_output(published):
    inp, out = published
    rng = random.Random(8)
    for _ in range(2):
        before = tree(out)
        proc = _abm(inp, out)
        time.sleep(rng.uniform(0.2, 4.0))
        proc.send_signal(signal.SIGKILL)
        code = proc.wait(timeout=60)
        after = tree(out)
        if code == -signal.SIGKILL and after != before:  # killed after the swap: the new run, whole
            assert json.loads((out / MARKER).read_text())["written_by"] == "abm"
            assert "records.parquet" in after and after.get("evaluation.json") == before["evaluation.json"]
        else:
            assert code in (0, -signal.SIGKILL) and (after == before or code == 0)
    proc = _abm(inp, out)  # the next run cleans up whatever the killed ones left
    assert proc.wait(timeout=300) == 0
    assert not [p for p in runs_dir(out).iterdir() if p.name.startswith(".")]
    assert len(list(runs_dir(out).iterdir())) <= 2


def test_two_concurrent_runs_one_wins_the_other_gets_the_lock_message(published):
    inp, out = published
    first = _abm(inp, out, pause="start")
    _wait_for_pause(first, "start")
    before = tree(out)
    second = _abm(inp, out)
    assert second.wait(timeout=300) == 5
    assert "Another abm run is writing" in (second.stderr.read() if second.stderr else "")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=60)
    assert tree(out) == before
    racers = [_abm(inp, out) for _ in range(2)]
    codes = sorted(p.wait(timeout=300) for p in racers)
    assert codes in ([0, 0], [0, 5]), [p.stderr.read() if p.stderr else "" for p in racers]
    assert (out / "records.parquet").exists()
