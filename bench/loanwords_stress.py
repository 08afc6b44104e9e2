"""Stress for the loan-word model: company names in English words, and its cost per word.

Our generated worlds name Latin-letter companies mostly in Hepburn (Fukuoka Hayashi Printing), which
abm reads as written; a held-out world may name them in English (Blue Harbor Analytics, Northwind
Logistics), every distinct word a run of e2k's model. Two commands:

``world SRC DST``: a copy of world SRC whose Latin-letter company names have each Hepburn word
replaced by an English compound (Northwind, Bluecrest …), the same replacement for every name with
the same words (a company's variants stay alike), its business words (Printing, Logistics) and legal
form kept. Other columns and files are copied unchanged; SRC is only read.

``words``: CPU seconds per word of the one-word model (``e2k.C2K()(word)``) against the batched
decoder (``abm.normalize.loanwords.katakana``) at 1, 200 and 5,000 distinct words; both give the
same readings (checked).

    python -m bench.loanwords_stress world /tmp/w20k /tmp/w20k_en
    python -m bench.loanwords_stress words
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import re
import resource
import shutil
import sys
from pathlib import Path

#: English morphemes; two make a company word (6,000+ compounds, none spelled in Hepburn syllables)
MORPHEMES = (
    "north south east west blue green red silver gold stone river lake harbor bay bridge brook field wood wind "
    "star sun moon sky cloud rain snow pine oak maple cedar crest peak ridge vale glen ford haven port gate tower "
    "castle crown king lion eagle hawk falcon wolf bear fox iron copper bright clear swift true prime nova vista "
    "pioneer frontier horizon beacon anchor compass atlas orbit spark shadow frost ember spring winter summer ocean "
    "coast shore cliff hill mill stream"
).split()
COMPANY_COLUMNS = ("company_name", "name")   # crm_accounts names its company "name"
_RUN = re.compile(r"[A-Za-z]+")


def english_word(head: str, index: int) -> str:
    """The compound replacing the ``index``-th Hepburn word of a name whose Hepburn words are ``head``."""
    digest = hashlib.sha1(f"{head}\0{index}".encode()).digest()
    return (MORPHEMES[digest[0] % len(MORPHEMES)] + MORPHEMES[digest[1] % len(MORPHEMES)]).capitalize()


def anglicise(name: str) -> str:
    """``name`` with each Hepburn word of a Latin-letter name replaced (see the module doc)."""
    from abm.normalize.reading import _HEPBURN, _is_latin

    if not name or not _is_latin(name):
        return name
    runs = [m for m in _RUN.finditer(name) if len(m.group()) >= 3 and _HEPBURN.match(m.group().lower())]
    if not runs:
        return name
    head = " ".join(m.group().lower() for m in runs)
    out, last = [], 0
    for i, m in enumerate(runs):
        word = english_word(head, i)
        out += [name[last:m.start()], word.upper() if m.group().isupper() else word]
        last = m.end()
    return "".join(out) + name[last:]


def _rewrite(path: Path, dst: Path) -> int:
    """Copy one CSV with its company column anglicised; the names changed (0: copied as is)."""
    data = path.read_bytes()
    bom = data.startswith(b"\xef\xbb\xbf")
    for encoding in ("utf-8", "cp932"):
        try:
            text = data[3 if bom else 0:].decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        shutil.copy2(path, dst)
        return 0
    rows = list(csv.reader(io.StringIO(text, newline="")))
    cols = [i for i, c in enumerate(rows[0] if rows else []) if c.strip() in COMPANY_COLUMNS]
    if not cols:
        shutil.copy2(path, dst)
        return 0
    changed = 0
    for row in rows[1:]:
        for i in cols:
            if i < len(row) and (new := anglicise(row[i])) != row[i]:
                row[i] = new
                changed += 1
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n" if "\r\n" in text[:4096] else "\n").writerows(rows)
    dst.write_bytes((b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode(encoding))
    return changed


def make_world(src: Path, dst: Path) -> None:
    if dst.exists():
        sys.exit(f"{dst} exists: remove it first")
    shutil.copytree(src, dst)
    for path in sorted(src.glob("*.csv")):
        print(f"{path.name}: {_rewrite(path, dst / path.name)} names anglicised")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def per_word(sizes: list[int]) -> None:
    from abm.normalize.loanwords import katakana
    from abm.normalize.reading import _english_model
    from abm.normalize.unique import one_blas_thread

    model = _english_model()
    words = sorted({english_word("w", i).lower() for i in range(20_000)})
    words = sorted(words, key=lambda w: hashlib.sha1(w.encode()).digest())
    katakana(model, ["warmup"])
    with one_blas_thread():
        for n in sizes:
            sample = words[:n]
            start = _cpu()
            one = [model(w) for w in sample]
            mid = _cpu()
            batched = katakana(model, sample)
            end = _cpu()
            assert batched == one, "batched readings differ from the one-word model's"
            print(f"{n:>5} words: one-word {(mid - start) * 1000 / n:.2f} ms/word ({mid - start:.2f} s CPU), "
                  f"batched {(end - mid) * 1000 / n:.3f} ms/word ({end - mid:.3f} s CPU)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loanwords_stress", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    world = sub.add_parser("world", help="a copy of a world with English-word company names")
    world.add_argument("src", type=Path)
    world.add_argument("dst", type=Path)
    words = sub.add_parser("words", help="CPU per word: one-word model against the batched decoder")
    words.add_argument("--sizes", type=int, nargs="+", default=[1, 200, 5000])
    args = parser.parse_args(argv)
    if args.cmd == "world":
        make_world(args.src, args.dst)
    else:
        per_word(args.sizes)


if __name__ == "__main__":
    main()
