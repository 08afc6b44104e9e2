"""The batched loan-word decoder (abm/normalize/loanwords.py) reads exactly what e2k's one-word model
reads, over real and random words, and falls back to the one-word model where it cannot be sure."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.normalize import loanwords as L
from abm.normalize.reading import _english_model
from abm.normalize.unique import one_blas_thread

MODEL = _english_model()
pytestmark = pytest.mark.skipif(MODEL is None or not L.supported(MODEL), reason="e2k missing or another version")

#: words of English company names (and a few odd ones: Hepburn, digits, very long, one letter)
REAL = """
alpha software harmony network union bright blue harbor analytics northwind logistics pacific global systems
solutions dynamics quantum silverline greenfield summit apex vertex nexus zenith horizon pioneer frontier beacon
anchor compass atlas orbit spark shadow frost ember spring winter summer ocean coast shore cliff hill mill stream
acme contoso fabrikam tailspin wingtip adventure works litware proseware fourth coffee margie travel lucerne
publishing trey research wide world importers southridge video blue yonder airlines datum corporation humongous
insurance woodgrove bank alpine ski house relecloud bellows college best for you organics consolidated messenger
graphic design institute school fine arts liberty delightful northern star precision engineering bioscience
medical devices therapeutics genomics robotics automation semiconductor photonics aerospace maritime energy
renewables hydrogen battery circuit cloud data digital cyber security intelligence interactive media studio
creative partners capital ventures holdings group international enterprise consulting advisory brokerage
realty properties construction architecture design furniture apparel footwear cosmetics beverage brewing
bakery confectionery dairy seafood poultry organic farm garden nursery veterinary pharmacy clinic hospital
education academy university learning training recruitment staffing payroll accounting audit legal patent
translation marketing advertising branding printing packaging shipping freight courier express airline railway
sakura hanshin tokyo osaka kk 3m x a bb ccc 123abc abc123 xyzzy qwerty llanfairpwllgwyngyll supercalifragilistic
strengths rhythm queue zyzzyva mcdonald o'brien jean-luc
""".split()


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """As abm runs the model (thousands of tiny products: BLAS threads only slow them down)."""
    with one_blas_thread():
        yield


def _random_words(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters if rng.random() < 0.95 else "0123456789'")
                    for _ in range(rng.randint(0, 18))) for _ in range(n)]


def _one_by_one(words: list[str]) -> list[str]:
    return [MODEL(w) for w in words]


@pytest.mark.parametrize("words", [REAL, _random_words(1500, 20261201)], ids=["real", "random"])
def test_batched_readings_equal_the_one_word_model(words: list[str]) -> None:
    assert L.katakana(MODEL, words) == _one_by_one(words)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCXYZ0189' -é", max_size=24), max_size=12))
def test_batched_readings_equal_the_one_word_model_on_any_text(words: list[str]) -> None:
    assert L.katakana(MODEL, words) == _one_by_one(words)


class _Counting:
    """The model, counting the words it is asked one at a time."""

    def __init__(self, model: Any) -> None:
        self.model, self.s2s, self.in_table, self.calls = model, model.s2s, model.in_table, 0

    def __call__(self, word: str) -> str:
        self.calls += 1
        return str(self.model(word))


def test_the_batch_reads_most_words_itself() -> None:
    """The one-word model is asked only where the best two logits come within ``MARGIN``: few words."""
    words = _random_words(300, 7)
    model = _Counting(MODEL)
    assert L.katakana(model, words) == _one_by_one(words)
    assert model.calls < len(words) // 20


def test_too_close_to_call_goes_to_the_one_word_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(L, "MARGIN", float("inf"))   # every step unsure
    model = _Counting(MODEL)
    words = ["blue", "harbor", "analytics", "zyzzyva"]
    assert L.katakana(model, words) == _one_by_one(words)
    assert model.calls == len(words)


@pytest.mark.parametrize("version", ["0.7.0", "0.9.0", "1.0"])
def test_another_e2k_version_reads_one_word_at_a_time(monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    L.supported.cache_clear()
    monkeypatch.setattr(L.metadata, "version", lambda name: version)
    try:
        model = _Counting(MODEL)
        assert not L.supported(model)
        assert L.katakana(model, ["northwind", "logistics"]) == _one_by_one(["northwind", "logistics"])
        assert model.calls == 2
    finally:
        L.supported.cache_clear()


@pytest.mark.parametrize("broken", ["s2s", "in_table"])
def test_another_layout_reads_one_word_at_a_time(broken: str) -> None:
    model = _Counting(MODEL)
    setattr(model, broken, None)
    assert not L.supported(model)


def test_batches_split_at_batch_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(L, "BATCH", 3)
    words = ["alpha", "bravo", "delta", "gamma", "omega", "sigma", "kappa"]   # one encoded length
    assert L.katakana(MODEL, words) == _one_by_one(words)


# --- in the company reading (abm/normalize/reading.py) -------------------------------------------

def test_read_words_equals_latin_word_per_word() -> None:
    """``_read_words`` (one batch) gives ``_latin_word`` (one word at a time) for every kind of word:
    model words, Hepburn words and numbers read as written, short words."""
    from abm.normalize import reading as R

    words = ["northwind", "sakura", "hanshin", "2024", "ab", "x", "logistics", "", "blue", "qwerty"]
    R._latin_word.cache_clear()
    assert R._read_words([(w,) for w in words]) == [(R._latin_word(w),) for w in words]


@pytest.mark.parametrize("background", [False, True])
def test_loan_readings_keep_the_value_cache(tmp_path: Any, monkeypatch: pytest.MonkeyPatch, background: bool) -> None:
    """The first run reads the words with the model and stores them (value cache ``loan_word``); a
    later process reads them back without running the model."""
    import polars as pl

    from abm.normalize import reading as R
    from abm.normalize.unique import value_cache
    from abm.rules import load_rules

    rr = load_rules().view(R.reading_rules)
    names = pl.DataFrame({"company_name": ["Northwind Logistics", "Blue Harbor Analytics", "Sakura Trading", None]})
    monkeypatch.setattr(R, "_LOANS", {})
    with value_cache(tmp_path, "k"):
        first = R.loan_readings_later(names, rr, background=background)()
    assert set(first) == {"northwind", "blue", "harbor", "analytics"}
    assert first == {w: R._latin_word(w) for w in first}
    assert list(tmp_path.glob("loan_word-k.parquet"))

    def no_model(rows: Any) -> Any:
        raise AssertionError("the model ran although every word was cached")
    monkeypatch.setattr(R, "_LOANS", {})   # a new process
    monkeypatch.setattr(R, "_read_words", no_model)
    with value_cache(tmp_path, "k"):
        assert R.loan_readings_later(names, rr, background=background)() == first


# --- the stress world (bench/loanwords_stress.py) ------------------------------------------------

@pytest.mark.parametrize(("name", "same"), [
    ("Fukuoka Hayashi Printing Logistics", False),
    ("FUKUOKA HAYASHI Co., Ltd.", False),
    ("株式会社中央新栄電子", True),
    ("Ace Real Estate", True),          # no Hepburn word: nothing to replace
    ("", True),
])
def test_stress_world_anglicises_only_hepburn_words(name: str, same: bool) -> None:
    from bench.loanwords_stress import anglicise

    new = anglicise(name)
    assert (new == name) is same
    if name.startswith("Fukuoka"):
        assert new.endswith(" Printing Logistics") and "Fukuoka" not in new
        assert anglicise(name) == new   # the same name, the same words
    if name.startswith("FUKUOKA"):
        assert new.endswith(" Co., Ltd.") and new.split()[0].isupper()
