"""Load every rules file once, validate it, hand out typed views.

Rules are data (``rules/*.yaml`` and ``rules/*.txt``). ``load_rules`` reads the whole directory
and runs every registered validator, so a bad file fails the run before any stage starts, with
a ``RulesError`` naming the file and key. Stage modules get their typed view through
``rules.view(parser)``, which parses once per ``Rules`` object.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from abm.errors import RulesError

T = TypeVar("T")
#: libyaml's safe loader when PyYAML was built with it (≈ 10× faster than the pure-Python one, same result)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

DEFAULT_RULES_DIR = Path(__file__).resolve().parent.parent / "rules"

#: "module:function" parsers run by ``load_rules``; each takes a ``Rules`` and returns a frozen view.
#: Add one line per rules domain.
VALIDATORS: tuple[str, ...] = (
    "abm.normalize.text:text_rules",
    "abm.normalize.company:company_rules",
    "abm.normalize.reading:reading_rules",
    "abm.normalize.contact:contact_rules",
    "abm.normalize.person:person_rules",
    "abm.normalize.titles:title_rules",
    "abm.normalize.departments:department_rules",
    "abm.normalize.records:records_rules",
    "abm.linkage.spec:linkage_specs",
    "abm.detect.policy:detect_policy",
    "abm.load.layouts:layout_rules",
)


@dataclass
class Rules:
    """All rule documents of one directory, by file name (``titles.yaml`` -> ``"titles.yaml"``)."""

    root: Path
    documents: dict[str, Any]
    _views: dict[Callable[..., Any], Any] = field(default_factory=dict, repr=False)

    def doc(self, name: str) -> Any:
        """The parsed content of one rules file; a RulesError when it is missing."""
        if name not in self.documents:
            raise RulesError(str(self.root / name), "<file>", "file is missing from the rules directory")
        return self.documents[name]

    def path(self, name: str) -> str:
        return str(self.root / name)

    def view(self, parser: Callable[[Rules], T]) -> T:
        """Parse (once) and return a typed view of these rules."""
        if parser not in self._views:
            self._views[parser] = parser(self)
        return self._views[parser]


def safe_load(text: str) -> Any:
    """``yaml.safe_load(text)`` by libyaml when PyYAML has it (the same documents, ≈ 6-10× less CPU:
    report/messages.yaml 23 -> 4 ms); raises ``yaml.YAMLError`` as it does."""
    return yaml.load(text, Loader=_LOADER)  # a safe loader


def _read(path: Path) -> Any:
    if not path.is_file():
        raise RulesError(str(path), "<file>", "not a regular file (a directory, pipe or broken link)")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RulesError(str(path), "<file>", f"not UTF-8 text (byte {exc.start}); save the file as UTF-8") from exc
    except OSError as exc:
        raise RulesError(str(path), "<file>", f"cannot be read ({exc.strerror or exc})") from exc
    if path.suffix == ".txt":
        # one entry per line; '#' starts a comment
        return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]
    try:
        return safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        key = f"line {mark.line + 1}" if mark is not None else "<file>"
        raise RulesError(str(path), key, f"not valid YAML ({getattr(exc, 'problem', exc)})") from exc


def load_rules(root: Path | str | None = None, validate: bool = True) -> Rules:
    """Read ``root`` (default: the project's ``rules/``) and validate every domain."""
    root = Path(root) if root is not None else DEFAULT_RULES_DIR
    if not root.is_dir():
        raise RulesError(str(root), "<dir>", "rules directory does not exist")
    docs = {p.name: _read(p) for p in sorted(root.iterdir()) if p.suffix in {".yaml", ".yml", ".txt"}}
    rules = Rules(root=root, documents=docs)
    if validate:
        for target in VALIDATORS:
            module, func = target.split(":")
            rules.view(getattr(importlib.import_module(module), func))
    return rules


# --- small validation helpers shared by the parsers --------------------------------------------

def require(doc: Any, key: str, kind: type, file: str) -> Any:
    """``doc[key]`` checked to be of ``kind``; a RulesError naming file and key otherwise."""
    if not isinstance(doc, dict) or key not in doc:
        raise RulesError(file, key, "required key is missing")
    value = doc[key]
    if not isinstance(value, kind):
        raise RulesError(file, key, f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def string_list(value: Any, file: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RulesError(file, key, "expected a list of strings")
    return tuple(value)
