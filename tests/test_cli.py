"""The CLI: exact messages and exit codes, a failed run leaves the previous outputs, help in README."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
from click.testing import CliRunner

from abm.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"


def test_run_prints_a_summary_and_writes_outputs(demo_dir: Path, tmp_path: Path):
    result = CliRunner().invoke(main, ["run", str(demo_dir), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "as of 2026-10-31" in result.output
    assert "accounts" in result.output and "collisions" in result.output
    assert (tmp_path / "out" / "records.parquet").exists()


def test_quiet_prints_nothing(demo_dir: Path, tmp_path: Path):
    result = CliRunner().invoke(main, ["run", str(demo_dir), "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 0
    assert result.output == ""


def test_unusable_input_exits_2_names_the_file_and_keeps_previous_outputs(demo_dir: Path, tmp_path: Path):
    out = tmp_path / "out"
    CliRunner().invoke(main, ["run", str(demo_dir), "--out", str(out), "-q"])
    before = (out / "records.parquet").read_bytes()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "export.csv").write_text("foo,bar\n1,2\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(bad), "--out", str(out)])
    assert result.exit_code == 2
    assert "export.csv" in result.output
    assert result.output.startswith("Error: Cannot use input (file export.csv")
    assert (out / "records.parquet").read_bytes() == before


def test_invalid_rules_exit_3_and_name_file_and_key(demo_dir: Path, tmp_path: Path):
    rules = tmp_path / "rules"
    src = Path(__file__).resolve().parent.parent / "rules"
    rules.mkdir()
    for path in src.iterdir():
        (rules / path.name).write_bytes(path.read_bytes())
    text = (rules / "linkage_accounts.yaml").read_text(encoding="utf-8")
    (rules / "linkage_accounts.yaml").write_text(text.replace("threshold: 0.9\n", "threshold: 1.5\n"), encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(demo_dir), "--out", str(tmp_path / "o"), "--rules", str(rules)])
    assert result.exit_code == 3
    assert "linkage_accounts.yaml" in result.output and "'threshold'" in result.output


def test_evaluate_prints_table_and_writes_json(demo_run: Path, demo_dir: Path, tmp_path: Path):
    target = tmp_path / "scores.json"
    result = CliRunner().invoke(main, ["evaluate", str(demo_run), "--truth", str(demo_dir / "truth"),
                                       "--json", str(target)])
    assert result.exit_code == 0, result.output
    assert "| accounts |" in result.output and "| persons |" in result.output
    assert "| person |" in result.output  # collisions per level
    assert target.exists()


def test_evaluate_without_truth_file_exits_4(demo_run: Path, tmp_path: Path):
    result = CliRunner().invoke(main, ["evaluate", str(demo_run), "--truth", str(tmp_path)])
    assert result.exit_code == 4
    assert "records.csv" in result.output


def test_every_command_and_option_is_documented_in_the_readme():
    readme = README.read_text(encoding="utf-8")
    commands = [(name, command) for name, command in main.commands.items()]
    commands += [(f"{name} {sub}", c) for name, command in main.commands.items()
                 for sub, c in getattr(command, "commands", {}).items()]
    for name, command in commands:
        assert f"abm {name}" in readme, name
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--"):
                    assert re.search(re.escape(opt) + r"\b", readme), f"{name} {opt}"


def test_csv_exports_are_excel_safe(demo_run: Path):
    raw = (demo_run / "csv" / "accounts.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    frame = pl.read_csv(demo_run / "csv" / "records.csv", infer_schema=False)
    for column in frame.columns:
        values = frame[column].drop_nulls()
        assert not values.str.contains(r"^[=+\-@]").any(), column


def test_explain_shows_the_links_behind_a_record(demo_run: Path):
    records = pl.read_parquet(demo_run / "records.parquet")
    key = records.filter(pl.col("kind") == "cards")["record_key"][0]
    result = CliRunner().invoke(main, ["explain", str(demo_run), key])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"record {key}")
    assert "account evidence" in result.output and "weight" in result.output


def test_explain_an_unknown_subject_fails_clearly(demo_run: Path):
    result = CliRunner().invoke(main, ["explain", str(demo_run), "nope:1"])
    assert result.exit_code == 1
    assert "'nope:1' is neither a record key" in result.output


def test_an_empty_input_directory_is_an_error_not_an_empty_night(tmp_path: Path):
    (tmp_path / "in").mkdir()
    result = CliRunner().invoke(main, ["run", str(tmp_path / "in"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "holds no data file" in result.output
    assert not (tmp_path / "out").exists()


def test_logging_configures_abm_logger_and_leaves_root_alone():
    import logging

    from abm.cli import _setup_logging

    root = logging.getLogger()
    root_handlers, root_level = list(root.handlers), root.level
    abm_logger = logging.getLogger("abm")
    before = list(abm_logger.handlers)
    try:
        _setup_logging(verbose=1, quiet=False)
        _setup_logging(verbose=0, quiet=True)   # called again: replaces its handler, does not add one
        ours = [h for h in abm_logger.handlers if h.get_name() == "abm-cli"]
        assert len(ours) == 1
        assert abm_logger.level == logging.ERROR   # -q: nothing but errors
        assert root.handlers == root_handlers and root.level == root_level
    finally:
        for h in [h for h in abm_logger.handlers if h not in before]:
            abm_logger.removeHandler(h)
        abm_logger.setLevel(logging.NOTSET)


def test_a_reader_that_stops_early_is_no_crash(demo_run: Path, demo_dir: Path, tmp_path: Path):
    """`abm evaluate OUT | head -1`: the closed pipe ends abm quietly (exit 141, as a tool killed by
    SIGPIPE), never the "failed unexpectedly" line of a bug."""
    import subprocess
    import sys

    cmd = [sys.executable, "-c", "from abm.cli import main; main()", "evaluate", str(demo_run),
           "--truth", str(demo_dir / "truth"), "--json", str(tmp_path / "e.json")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.close()  # the reader is gone before abm prints its table
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 141, err.decode()
    assert b"unexpectedly" not in err and b"Traceback" not in err
    assert (tmp_path / "e.json").exists()  # the scores were written before the table was printed
