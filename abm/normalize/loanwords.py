"""The e2k loan-word model (English → katakana) over many words at once, with e2k's own weights.

``e2k.C2K()(word)`` reads one word: a bidirectional GRU encoder, then a greedy decoder that attends
over the encoder's output one katakana token at a time — a few dozen numpy calls on matrices of one
row, ~6 ms a word. A held-out world of English company names (Blue Harbor Analytics, Northwind
Logistics …) has thousands of distinct words: seconds to tens of seconds of CPU. ``katakana`` runs
the same network over a batch of words in the same numpy calls: words are grouped by encoded length
(no padding, so the encoder and the attention see exactly what the one-word model sees), the decoder
steps the whole group and each word stops at its own ``<eos>`` (or e2k's ``max_len``).

A matrix product over many rows rounds in another order than over one row (BLAS gemm against gemv),
so the logits differ from the one-word model's in their last bits. A greedy decoder can only read
another token where the two best logits are that close: a word whose best and second-best logits
come within ``MARGIN`` of each other at any step is read again by the one-word model. Readings are
therefore exactly ``C2K()(word)``'s. When e2k's internals are not the ones this mirrors (another
version, another layout of the weights) every word goes to the one-word model: slower, never wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from typing import Any

import numpy as np

#: e2k versions whose ``S2S.forward`` (greedy decoding) this module mirrors, checked against the
#: one-word model by tests/test_loanwords.py
KNOWN_VERSIONS = frozenset({"0.8.1"})

#: smallest gap between the best and the second-best logit at which the batched decoder's choice is
#: taken as the one-word model's. The two differ by rounding only (measured: at most 1.5e-5 over 800
#: words, logits of order 10: 200x that); below this gap the word is read again one word at a time
#: (~0.5 % of words)
MARGIN = 3e-3

#: words decoded in one batch: bounds the working memory, beyond it larger batches gain nothing
BATCH = 2048

_F = np.float32


@lru_cache(maxsize=2)
def supported(model: Any) -> bool:
    """Whether ``model`` is an e2k C2K of a version and layout this module mirrors (once per model)."""
    try:
        if metadata.version("e2k") not in KNOWN_VERSIONS:
            return False
        s = model.s2s
        cells = (s.encoder.cell, s.encoder_reverse.cell, s.pre_decoder.cell, s.post_decoder.cell)
        return (not s.encoder.reverse and s.encoder_reverse.reverse and s.attn.num_heads * s.attn.d_heads == s.attn.dim
                and all(c.ih.weight.dtype == _F and c.hh.weight.dtype == _F for c in cells)
                and s.e_emb.weight.dtype == _F and s.k_emb.weight.dtype == _F and s.fc.weight.dtype == _F
                and isinstance(model.in_table, dict) and isinstance(s.max_len, int))
    except Exception:  # noqa: BLE001 - anything unexpected means: read one word at a time
        return False


def encode(model: Any, word: str) -> list[int]:
    """The encoder's input for ``word``, as ``BaseE2K.__call__`` builds it: <sos>, the characters the
    model knows (others dropped), <eos>."""
    table = model.in_table
    return [model.s2s.sos_idx, *(table[c] for c in word.lower() if c in table), model.s2s.eos_idx]


def _gru_step(cell: Any, x_proj: np.ndarray, h: np.ndarray) -> np.ndarray:
    """One step of e2k's ``GRUCell.forward`` for a batch; ``x_proj``: the input already projected
    (``x @ W_ih.T + b_ih``). In place where e2k makes temporaries: at a few hundred rows the
    elementwise work costs as much as the matrix product, most of it in memory traffic."""
    hh = h @ cell.hh.weight.T
    hh += cell.hh.bias
    d = hh.shape[-1] // 3
    rz = np.add(x_proj[:, :2 * d], hh[:, :2 * d])
    np.negative(rz, out=rz)
    np.exp(rz, out=rz)
    rz += 1
    np.reciprocal(rz, out=rz)   # sigmoid
    r, z = rz[:, :d], rz[:, d:]
    n = np.multiply(r, hh[:, 2 * d:])
    n += x_proj[:, 2 * d:]
    np.tanh(n, out=n)
    out = np.subtract(h, n)   # (1 - z) * n + z * h as n + z * (h - n)
    out *= z
    out += n
    return out


@dataclass(frozen=True)
class _Tables:
    """Input projections of every symbol, once per model: an embedding row is the only input of the
    encoder's GRUs and of the decoder's first GRU, so ``emb[i] @ W_ih.T + b_ih`` is a table lookup
    (the same products, a quarter of the decoding work)."""
    forward: np.ndarray
    backward: np.ndarray
    decoder: np.ndarray


@lru_cache(maxsize=2)
def _tables(s2s: Any) -> _Tables:
    def project(emb: np.ndarray, cell: Any) -> np.ndarray:
        return np.asarray(emb @ cell.ih.weight.T + cell.ih.bias)
    return _Tables(project(s2s.e_emb.weight, s2s.encoder.cell), project(s2s.e_emb.weight, s2s.encoder_reverse.cell),
                   project(s2s.k_emb.weight, s2s.pre_decoder.cell))


def _linear(layer: Any, x: np.ndarray) -> np.ndarray:
    """e2k's ``Linear.forward`` over the last axis, as one 2-D product (numpy runs a 3-D one as a
    loop of small ones)."""
    return (x.reshape(-1, x.shape[-1]) @ layer.weight.T + layer.bias).reshape(*x.shape[:-1], -1)


def _gru(cell: Any, proj: np.ndarray, reverse: bool) -> np.ndarray:
    """e2k's ``GRU.forward`` from a zero state over a batch of projected inputs [B, T, 3H]: the
    outputs [B, T, H]."""
    h = np.zeros((proj.shape[0], cell.hh.weight.shape[-1]), dtype=cell.hh.weight.dtype)
    out = np.empty((proj.shape[0], proj.shape[1], h.shape[1]), dtype=h.dtype)
    for t in (range(proj.shape[1] - 1, -1, -1) if reverse else range(proj.shape[1])):
        h = _gru_step(cell, proj[:, t], h)
        out[:, t] = h
    return out


def _memory(s2s: Any, src: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The encoder's output for ``src`` [B, T] projected to attention keys and values, both
    [B, H, T, D/H] (``S2S.forward`` up to ``attn.memory``)."""
    tables = _tables(s2s)
    enc = np.concatenate([_gru(s2s.encoder.cell, tables.forward[src], False),
                          _gru(s2s.encoder_reverse.cell, tables.backward[src], True)], axis=-1)
    enc = np.tanh(_linear(s2s.encoder_fc, enc))
    attn = s2s.attn
    b, t = src.shape
    k = _linear(attn.k_proj, enc).reshape(b, t, attn.num_heads, attn.d_heads)
    v = _linear(attn.v_proj, enc).reshape(b, t, attn.num_heads, attn.d_heads)
    return k.transpose(0, 2, 1, 3), v.transpose(0, 2, 1, 3)


def _attend(attn: Any, h: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """e2k's ``MHA.forward`` for one query row per word: h [B, D] → [B, D]. The per-head products
    are elementwise sums (a batched matmul of one-row matrices is a slow loop in numpy)."""
    q = (h @ attn.q_proj.weight.T + attn.q_proj.bias).reshape(h.shape[0], attn.num_heads, 1, attn.d_heads)
    w = np.exp((keys * q).sum(axis=-1) / attn.scale)
    w = w / w.sum(axis=-1, keepdims=True)
    o = (values * w[..., None]).sum(axis=-2).reshape(h.shape[0], -1)
    return o @ attn.o_proj.weight.T + attn.o_proj.bias


def _decode(s2s: Any, src: np.ndarray) -> tuple[list[list[int]], np.ndarray]:
    """Greedy decoding of words of one encoded length ``src`` [B, T]: each word's tokens (its <eos>
    dropped, as ``BaseE2K.__call__`` does) and whether a step's choice was too close to call."""
    keys, values = _memory(s2s, src)
    table = _tables(s2s).decoder
    b = src.shape[0]
    tokens: list[list[int]] = [[] for _ in range(b)]
    unsure = np.zeros(b, dtype=bool)
    live = np.arange(b)   # rows still decoding; the states below hold only theirs
    prev = np.full(b, s2s.sos_idx)
    pre, post = s2s.pre_decoder.cell, s2s.post_decoder.cell
    h1 = np.zeros((b, pre.hh.weight.shape[-1]), dtype=pre.hh.weight.dtype)
    h2 = np.zeros((b, post.hh.weight.shape[-1]), dtype=post.hh.weight.dtype)
    for _ in range(s2s.max_len):
        h1 = _gru_step(pre, table[prev], h1)
        x = np.concatenate([h1, _attend(s2s.attn, h1, keys, values)], axis=-1)
        h2 = _gru_step(post, x @ post.ih.weight.T + post.ih.bias, h2)
        logits = h2 @ s2s.fc.weight.T + s2s.fc.bias
        prev = logits.argmax(axis=-1)
        top2 = np.partition(logits, -2, axis=-1)[:, -2:]
        unsure[live[top2[:, 1] - top2[:, 0] < MARGIN]] = True
        going = prev != s2s.eos_idx
        for row, token in zip(live[going].tolist(), prev[going].tolist(), strict=True):
            tokens[row].append(token)
        if not going.all():
            live, prev, h1, h2 = live[going], prev[going], h1[going], h2[going]
            keys, values = keys[going], values[going]
            if live.size == 0:
                break
    return tokens, unsure


def katakana(model: Any, words: Sequence[str]) -> list[str]:
    """``[model(w) for w in words]`` (an e2k C2K, greedy), batched where ``supported``."""
    if not words or not supported(model):
        return [model(w) for w in words]
    s2s = model.s2s
    out: list[str | None] = [None] * len(words)
    groups: dict[int, list[tuple[int, list[int]]]] = {}
    for i, w in enumerate(words):
        src = encode(model, w)
        groups.setdefault(len(src), []).append((i, src))
    for members in groups.values():
        for o in range(0, len(members), BATCH):
            part = members[o:o + BATCH]
            tokens, unsure = _decode(s2s, np.array([src for _, src in part]))
            for (i, _), toks, doubt in zip(part, tokens, unsure.tolist(), strict=True):
                out[i] = model(words[i]) if doubt else "".join(s2s.out_table[t] for t in toks)
    return [o if o is not None else model(w) for o, w in zip(out, words, strict=True)]
