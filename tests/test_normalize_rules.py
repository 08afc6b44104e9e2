"""The normalize stage's rules files: the shipped ones load; a bad one names file and key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from abm.errors import RulesError
from abm.normalize.company import company_rules
from abm.normalize.contact import contact_rules
from abm.normalize.person import person_rules
from abm.normalize.records import records_rules
from abm.normalize.text import text_rules
from abm.rules import DEFAULT_RULES_DIR, load_rules

PARSERS = (text_rules, company_rules, contact_rules, person_rules, records_rules)


def test_shipped_rules_parse():
    rules = load_rules(validate=False)
    for parser in PARSERS:
        assert rules.view(parser) is not None
    cr = rules.view(contact_rules)
    assert len(cr.prefectures) == 47 and "gmail.com" in cr.free_mail and "co.jp" in cr.public_suffixes


def _broken(tmp_path: Path, file: str, old: str, new: str):
    root = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, root)
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text not found in {file}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return load_rules(root, validate=False)


@pytest.mark.parametrize(("file", "old", "new", "parser", "key"), [
    ("legal_forms.yaml", "    kana_abbreviations: [カ]", "    kana_abbrevs: [カ]", company_rules, "forms.株式会社.kana_abbrevs"),
    ("legal_forms.yaml", "    abbreviations: [有]", "    abbreviations: 有", company_rules, "forms.有限会社.abbreviations"),
    ("legal_forms.yaml", "\nforms:", "\nform:", company_rules, "forms"),
    ("company.yaml", "\ndistinguishing_suffixes:", "\nsuffixes:", company_rules, "distinguishing_suffixes"),
    ("romaji.yaml", '  - ["uu", "u"]', '  - ["uu(", "u"]', text_rules, "folds[2]"),
    ("romaji.yaml", "  electric: denki", "  Electric Power: denki", text_rules, "words.Electric Power"),
    ("variant_kanji.yaml", "  檜: 桧", "  檜檜: 桧", text_rules, "variants.檜檜"),
    ("prefectures.yaml", "東京都, 神奈川県", "神奈川県", contact_rules, "prefectures"),
    ("prefectures.yaml", "  札幌市: 北海道", "  札幌市: 北海", contact_rules, "cities.札幌市"),
    ("prefectures.yaml", "  001-009: 北海道", "  1-9: 北海道", contact_rules, "postal_ranges.1-9"),
    ("contact.yaml", "  - co.jp", "  - jp", contact_rules, "public_suffixes.jp"),
    ("free_mail.txt", "gmail.com", "gmail com", contact_rules, "gmail com"),
    ("person.yaml", "  佐藤: サトウ", "  佐藤: 佐藤", person_rules, "family_names.佐藤"),
    ("person.yaml", "\nhonorifics:", "\nhonorific:", person_rules, "honorifics"),
    ("records.yaml", '"no", "n",', '"no", "n", "won",', records_rules, "is_closed"),
])
def test_bad_rules_name_file_and_key(tmp_path, file, old, new, parser, key):
    rules = _broken(tmp_path, file, old, new)
    with pytest.raises(RulesError) as info:
        rules.view(parser)
    assert info.value.file.endswith(file)
    assert info.value.key == key
    assert file in info.value.message() and key in info.value.message()


def test_missing_file(tmp_path):
    root = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, root)
    (root / "legal_forms.yaml").unlink()
    with pytest.raises(RulesError) as info:
        load_rules(root, validate=False).view(company_rules)
    assert info.value.file.endswith("legal_forms.yaml")


def test_suffix_romaji_list_must_cover_suffixes(tmp_path):
    rules = _broken(tmp_path, "company.yaml", "  - kyushu\n", "")
    with pytest.raises(RulesError) as info:
        rules.view(company_rules)
    assert info.value.key == "distinguishing_suffixes_romaji" and "kyushu" in info.value.reason
