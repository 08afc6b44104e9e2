"""Errors that reach the user. The CLI turns any AbmError into one paragraph and an exit code."""

from __future__ import annotations


class AbmError(Exception):
    """Base class: a problem the user can fix. ``exit_code`` is documented in the README."""

    exit_code = 1

    def message(self) -> str:
        return str(self)


class InputError(AbmError):
    """Input that cannot be used at all (not a row to quarantine): names file, row and column."""

    exit_code = 2

    def __init__(self, file: str, reason: str, row: int | None = None, column: str | None = None,
                 fix: str | None = None) -> None:
        self.file, self.reason, self.row, self.column, self.fix = file, reason, row, column, fix
        super().__init__(self.message())

    def message(self) -> str:
        where = f"file {self.file}"
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column!r}"
        text = f"Cannot use input ({where}): {self.reason}."
        if self.fix:
            text += f" To fix this, {self.fix}."
        return text


class RulesError(AbmError):
    """A rules file that fails validation: names the file and the key."""

    exit_code = 3

    def __init__(self, file: str, key: str, reason: str) -> None:
        self.file, self.key, self.reason = file, key, reason
        super().__init__(self.message())

    def message(self) -> str:
        return f"Invalid rules in {self.file} at {self.key!r}: {self.reason}."


class TruthError(AbmError):
    """Ground truth given to ``abm evaluate`` that cannot be read."""

    exit_code = 4


class OutputBusyError(AbmError):
    """Another ``abm run`` is writing the same OUT_DIR (it holds OUT_DIR's lock file)."""

    exit_code = 5

    def __init__(self, out_dir: str) -> None:
        self.out_dir = out_dir
        super().__init__(self.message())

    def message(self) -> str:
        return (f"Another abm run is writing {self.out_dir} right now; this run did nothing. "
                "Wait for it to finish (or choose another --out), then run again.")
