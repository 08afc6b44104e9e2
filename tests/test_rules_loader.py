"""abm.rules reads YAML with libyaml's safe loader when there is one: the same documents as the
pure-Python safe loader, for every rules file the project ships."""

from __future__ import annotations

import yaml

from abm.rules import _LOADER, DEFAULT_RULES_DIR, load_rules


def test_fast_loader_reads_every_rules_file_as_the_safe_loader() -> None:
    rules = load_rules(validate=False)
    files = sorted(DEFAULT_RULES_DIR.glob("*.yaml"))
    assert files
    for path in files:
        assert rules.doc(path.name) == yaml.safe_load(path.read_text(encoding="utf-8-sig")), path.name
    assert issubclass(_LOADER, yaml.SafeLoader) or _LOADER.__name__ == "CSafeLoader"
