#!/usr/bin/env python3
"""Cache-free float64 reference forward pass for LLaMA-architecture GGUF models.

This is an independent implementation of the forward pass that Strata runs,
written directly against the GGUF file with numpy. It is slow and simple on
purpose: every weight is dequantised once to float64, every activation is kept
in float64, and the whole sequence is processed at once with a causal mask (no
KV cache). It exists to produce golden logits, including the logits of the
"early exits" (final RMSNorm + LM head applied to the hidden state after block
k, with k counted from 1; k = block_count is the full model).

Every hyperparameter is read from the GGUF metadata (``llama.*`` keys).

Model layout assumed (checked where it can be):
  * ``token_embd.weight`` [n_embd, n_vocab]; ``output.weight`` when present,
    otherwise the embedding is tied and doubles as the LM head.
  * GGUF shape [ne0, ne1] is ne1 rows of ne0 contiguous values, so a matrix
    weight dequantises to a numpy array of shape (ne1, ne0) and y = W @ x.
  * RoPE is GGUF "normal" rope: adjacent pairs (x[2i], x[2i+1]) of the first
    ``rope.dimension_count`` dims of each head are rotated by
    pos * base^(-2i / rope_dims). (The Hugging Face -> GGUF converter permutes
    the Q/K rows so that this equals HF's rotate-half on the original weights.)
  * Grouped-query attention: query head h reads KV head h // (n_head / n_head_kv).

Usage as a library::

    from reference_forward import ReferenceModel
    model = ReferenceModel.load("models/SmolLM2-135M-Instruct.Q4_1.gguf")
    out = model.forward([1, 9690, 198], exits=[1, 15, 30])   # {k: logits[T, vocab]}

Usage from the command line (quick check / timing)::

    python scripts/golden/reference_forward.py models/SmolLM2-135M-Instruct.Q4_1.gguf \
        --tokens 1,9690,198 --exits 1,15,30
    python scripts/golden/reference_forward.py MODEL --self-test   # decoder cross-check

Requires numpy and gguf (see scripts/golden/requirements.txt).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np

try:
    import gguf
    from gguf import GGUFReader, GGMLQuantizationType
except ImportError as exc:  # pragma: no cover - environment problem
    raise SystemExit("reference_forward.py needs the 'gguf' package: pip install -r scripts/golden/requirements.txt") from exc


# ---------------------------------------------------------------------------
# Dequantisation
# ---------------------------------------------------------------------------

QK = 32  # weights per block for Q4_1 and Q8_0


def _decode_q4_1(raw: np.ndarray, n_values: int) -> np.ndarray:
    """Own decoder: 20-byte blocks = f16 d, f16 m, 16 bytes of nibbles.

    Weight j (0..15) = d * (q[j] & 15) + m, weight j + 16 = d * (q[j] >> 4) + m.
    """
    blocks = raw.reshape(-1).view(np.uint8).reshape(-1, 20)
    d = blocks[:, 0:2].copy().view(np.float16).astype(np.float64)  # (nb, 1)
    m = blocks[:, 2:4].copy().view(np.float16).astype(np.float64)
    qs = blocks[:, 4:20]
    lo = (qs & 0x0F).astype(np.float64)
    hi = (qs >> 4).astype(np.float64)
    vals = np.concatenate([lo, hi], axis=1) * d + m  # (nb, 32)
    out = vals.reshape(-1)
    assert out.size == n_values
    return out


def _decode_q8_0(raw: np.ndarray, n_values: int) -> np.ndarray:
    """Own decoder: 34-byte blocks = f16 d, 32 x int8 q; weight = d * q."""
    blocks = raw.reshape(-1).view(np.uint8).reshape(-1, 34)
    d = blocks[:, 0:2].copy().view(np.float16).astype(np.float64)
    q = blocks[:, 2:34].copy().view(np.int8).astype(np.float64)
    out = (q * d).reshape(-1)
    assert out.size == n_values
    return out


def dequantize_own(tensor) -> np.ndarray:
    """Dequantise a GGUF tensor with this file's own decoders (float64, shape (ne1, ne0))."""
    shape = [int(s) for s in tensor.shape]  # [ne0, ne1, ...]
    n = int(np.prod(shape))
    t = tensor.tensor_type
    if t == GGMLQuantizationType.F32:
        flat = np.asarray(tensor.data, dtype=np.float32).reshape(-1).astype(np.float64)
    elif t == GGMLQuantizationType.F16:
        flat = np.asarray(tensor.data, dtype=np.float16).reshape(-1).astype(np.float64)
    elif t == GGMLQuantizationType.Q4_1:
        flat = _decode_q4_1(np.asarray(tensor.data), n)
    elif t == GGMLQuantizationType.Q8_0:
        flat = _decode_q8_0(np.asarray(tensor.data), n)
    else:
        raise NotImplementedError(f"own decoder has no support for {t.name} ({tensor.name})")
    return flat.reshape(list(reversed(shape)))


def dequantize_gguf(tensor) -> np.ndarray:
    """Dequantise with gguf.quants.dequantize (float64, shape (ne1, ne0))."""
    shape = [int(s) for s in tensor.shape]
    t = tensor.tensor_type
    if t in (GGMLQuantizationType.F32, GGMLQuantizationType.F16):
        arr = np.asarray(tensor.data).astype(np.float64)
    else:
        arr = gguf.quants.dequantize(np.asarray(tensor.data), t).astype(np.float64)
    return arr.reshape(list(reversed(shape)))


def _has_gguf_dequantize() -> bool:
    quants = getattr(gguf, "quants", None)
    return quants is not None and hasattr(quants, "dequantize")


def dequantize(tensor) -> np.ndarray:
    """gguf.quants.dequantize when the installed gguf has it, else the own decoders."""
    if _has_gguf_dequantize():
        return dequantize_gguf(tensor)
    return dequantize_own(tensor)


# ---------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------


def _field(reader: GGUFReader, key: str, default=None):
    f = reader.fields.get(key)
    if f is None:
        if default is None:
            raise KeyError(f"GGUF metadata key {key!r} is missing")
        return default
    v = f.contents()
    return v


@dataclass
class Hyper:
    arch: str
    n_layer: int
    n_embd: int
    n_ff: int
    n_head: int
    n_head_kv: int
    head_dim: int
    rope_dims: int
    rope_base: float
    rope_freq_scale: float
    eps: float
    n_vocab: int


@dataclass
class Block:
    attn_norm: np.ndarray
    wq: np.ndarray
    wk: np.ndarray
    wv: np.ndarray
    wo: np.ndarray
    ffn_norm: np.ndarray
    w_gate: np.ndarray
    w_up: np.ndarray
    w_down: np.ndarray


class ReferenceModel:
    def __init__(self, hp: Hyper, tok_embd: np.ndarray, blocks: List[Block],
                 output_norm: np.ndarray, lm_head: np.ndarray, tied: bool):
        self.hp = hp
        self.tok_embd = tok_embd          # (n_vocab, n_embd)
        self.blocks = blocks
        self.output_norm = output_norm    # (n_embd,)
        self.lm_head = lm_head            # (n_vocab, n_embd)
        self.tied = tied

    # -- loading -------------------------------------------------------------

    @staticmethod
    def read_hyper(reader: GGUFReader) -> Hyper:
        arch = str(_field(reader, "general.architecture"))
        if arch != "llama":
            raise ValueError(f"unsupported architecture {arch!r} (expected 'llama')")
        p = arch + "."
        n_embd = int(_field(reader, p + "embedding_length"))
        n_head = int(_field(reader, p + "attention.head_count"))
        n_head_kv = int(_field(reader, p + "attention.head_count_kv", n_head))
        head_dim = n_embd // n_head
        if p + "attention.key_length" in reader.fields:
            head_dim = int(_field(reader, p + "attention.key_length"))
        rope_dims = int(_field(reader, p + "rope.dimension_count", head_dim))
        scaling = str(_field(reader, p + "rope.scaling.type", "none"))
        freq_scale = 1.0
        if scaling == "linear":
            freq_scale = 1.0 / float(_field(reader, p + "rope.scaling.factor"))
        elif scaling not in ("none", ""):
            raise NotImplementedError(f"rope scaling {scaling!r} is not implemented")
        tokens = reader.fields["tokenizer.ggml.tokens"]
        n_vocab = int(_field(reader, p + "vocab_size", len(tokens.data)))
        return Hyper(
            arch=arch,
            n_layer=int(_field(reader, p + "block_count")),
            n_embd=n_embd,
            n_ff=int(_field(reader, p + "feed_forward_length")),
            n_head=n_head,
            n_head_kv=n_head_kv,
            head_dim=head_dim,
            rope_dims=rope_dims,
            rope_base=float(_field(reader, p + "rope.freq_base", 10000.0)),
            rope_freq_scale=freq_scale,
            eps=float(_field(reader, p + "attention.layer_norm_rms_epsilon")),
            n_vocab=n_vocab,
        )

    @classmethod
    def load(cls, path: str, decoder: str = "auto") -> "ReferenceModel":
        """Load and dequantise every tensor to float64.

        decoder: "auto" (gguf.quants.dequantize if available), "gguf" or "own".
        """
        reader = GGUFReader(path)
        hp = cls.read_hyper(reader)
        deq = {"auto": dequantize, "gguf": dequantize_gguf, "own": dequantize_own}[decoder]
        tensors = {t.name: t for t in reader.tensors}

        def get(name: str, shape: Sequence[int]) -> np.ndarray:
            if name not in tensors:
                raise KeyError(f"tensor {name} is missing")
            a = deq(tensors[name])
            if tuple(a.shape) != tuple(shape):
                raise ValueError(f"{name}: shape {a.shape}, expected {tuple(shape)}")
            return a

        D, F, V = hp.n_embd, hp.n_ff, hp.n_vocab
        q_dim = hp.n_head * hp.head_dim
        kv_dim = hp.n_head_kv * hp.head_dim
        tok_embd = get("token_embd.weight", (V, D))
        blocks = []
        for i in range(hp.n_layer):
            b = f"blk.{i}."
            blocks.append(Block(
                attn_norm=get(b + "attn_norm.weight", (D,)),
                wq=get(b + "attn_q.weight", (q_dim, D)),
                wk=get(b + "attn_k.weight", (kv_dim, D)),
                wv=get(b + "attn_v.weight", (kv_dim, D)),
                wo=get(b + "attn_output.weight", (D, q_dim)),
                ffn_norm=get(b + "ffn_norm.weight", (D,)),
                w_gate=get(b + "ffn_gate.weight", (F, D)),
                w_up=get(b + "ffn_up.weight", (F, D)),
                w_down=get(b + "ffn_down.weight", (D, F)),
            ))
        output_norm = get("output_norm.weight", (D,))
        tied = "output.weight" not in tensors
        lm_head = tok_embd if tied else get("output.weight", (V, D))
        return cls(hp, tok_embd, blocks, output_norm, lm_head, tied)

    # -- pieces --------------------------------------------------------------

    def rms_norm(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        ms = np.mean(x * x, axis=-1, keepdims=True)
        return x / np.sqrt(ms + self.hp.eps) * w

    def rope(self, x: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """x: (T, heads, head_dim). Rotate adjacent pairs of the first rope_dims dims."""
        hp = self.hp
        n_rot = hp.rope_dims
        i = np.arange(n_rot // 2, dtype=np.float64)
        inv_freq = hp.rope_base ** (-2.0 * i / n_rot)                      # (n_rot/2,)
        ang = (positions.astype(np.float64) * hp.rope_freq_scale)[:, None] * inv_freq[None, :]
        cos = np.cos(ang)[:, None, :]                                     # (T, 1, n_rot/2)
        sin = np.sin(ang)[:, None, :]
        out = x.copy()
        x0 = x[..., 0:n_rot:2]
        x1 = x[..., 1:n_rot:2]
        out[..., 0:n_rot:2] = x0 * cos - x1 * sin
        out[..., 1:n_rot:2] = x0 * sin + x1 * cos
        return out

    def attention(self, blk: Block, x: np.ndarray, positions: np.ndarray) -> np.ndarray:
        hp = self.hp
        T = x.shape[0]
        hd = hp.head_dim
        q = (x @ blk.wq.T).reshape(T, hp.n_head, hd)
        k = (x @ blk.wk.T).reshape(T, hp.n_head_kv, hd)
        v = (x @ blk.wv.T).reshape(T, hp.n_head_kv, hd)
        q = self.rope(q, positions)
        k = self.rope(k, positions)
        group = hp.n_head // hp.n_head_kv
        kv_of = np.arange(hp.n_head) // group                              # query head -> KV head
        kh = k[:, kv_of, :]                                                # (T, n_head, hd)
        vh = v[:, kv_of, :]
        scores = np.einsum("thd,shd->hts", q, kh) / np.sqrt(hd)            # (n_head, T, T)
        causal = np.triu(np.ones((T, T), dtype=bool), k=1)
        scores = np.where(causal[None, :, :], -np.inf, scores)
        scores = scores - scores.max(axis=-1, keepdims=True)
        p = np.exp(scores)
        p /= p.sum(axis=-1, keepdims=True)
        o = np.einsum("hts,shd->thd", p, vh).reshape(T, hp.n_head * hd)
        return o @ blk.wo.T

    @staticmethod
    def silu(x: np.ndarray) -> np.ndarray:
        return x / (1.0 + np.exp(-x))

    def ffn(self, blk: Block, x: np.ndarray) -> np.ndarray:
        g = x @ blk.w_gate.T
        u = x @ blk.w_up.T
        return (self.silu(g) * u) @ blk.w_down.T

    def head(self, h: np.ndarray) -> np.ndarray:
        return self.rms_norm(h, self.output_norm) @ self.lm_head.T

    # -- forward -------------------------------------------------------------

    def forward(self, token_ids: Sequence[int], exits: Iterable[int],
                positions: Optional[Sequence[int]] = None) -> Dict[int, np.ndarray]:
        """Run the whole sequence once and return {k: logits} for every exit k.

        k counts blocks from 1 (k = n_layer is the full model; k = 0 would be the
        head applied to the raw embeddings). logits has shape (T, n_vocab), or
        (len(positions), n_vocab) when ``positions`` selects sequence positions.
        """
        hp = self.hp
        ids = np.asarray(list(token_ids), dtype=np.int64)
        if ids.ndim != 1 or ids.size == 0:
            raise ValueError("token_ids must be a non-empty 1-D sequence")
        if ids.min() < 0 or ids.max() >= hp.n_vocab:
            raise ValueError("token id out of range")
        exit_set = sorted(set(int(k) for k in exits))
        for k in exit_set:
            if not 0 <= k <= hp.n_layer:
                raise ValueError(f"exit {k} out of range 0..{hp.n_layer}")
        sel = slice(None) if positions is None else np.asarray(list(positions), dtype=np.int64)

        pos = np.arange(ids.size)
        h = self.tok_embd[ids].copy()                                      # (T, D) float64
        out: Dict[int, np.ndarray] = {}
        if 0 in exit_set:
            out[0] = self.head(h[sel])
        last = exit_set[-1] if exit_set else 0
        for li in range(last):
            blk = self.blocks[li]
            h = h + self.attention(blk, self.rms_norm(h, blk.attn_norm), pos)
            h = h + self.ffn(blk, self.rms_norm(h, blk.ffn_norm))
            if li + 1 in exit_set:
                out[li + 1] = self.head(h[sel])
        return out


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def self_test(path: str) -> None:
    """Check the own Q4_1/Q8_0 decoders against gguf.quants.dequantize on every tensor type present."""
    reader = GGUFReader(path)
    seen = set()
    worst = 0.0
    for t in reader.tensors:
        if t.tensor_type in seen and t.tensor_type not in (GGMLQuantizationType.Q4_1,):
            continue
        a = dequantize_own(t)
        if _has_gguf_dequantize():
            b = dequantize_gguf(t)
            d = float(np.max(np.abs(a - b)))
            worst = max(worst, d)
            if d != 0.0:
                raise SystemExit(f"decoder mismatch on {t.name} ({t.tensor_type.name}): max |diff| {d}")
        seen.add(t.tensor_type)
    print(f"decoders agree on types {[s.name for s in seen]} (max |diff| {worst})")


def main(argv: Optional[List[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--tokens", default="1,9690,198", help="comma-separated token ids")
    ap.add_argument("--exits", default=None, help="comma-separated exits (default: all)")
    ap.add_argument("--decoder", default="auto", choices=["auto", "gguf", "own"])
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args(argv)
    if args.self_test:
        self_test(args.model)
        return
    t0 = time.perf_counter()
    model = ReferenceModel.load(args.model, decoder=args.decoder)
    t1 = time.perf_counter()
    ids = [int(s) for s in args.tokens.split(",")]
    exits = list(range(1, model.hp.n_layer + 1)) if args.exits is None else [int(s) for s in args.exits.split(",")]
    out = model.forward(ids, exits)
    t2 = time.perf_counter()
    print(f"{model.hp}")
    print(f"load {t1 - t0:.2f}s, forward of {len(ids)} tokens {t2 - t1:.2f}s")
    for k, lg in out.items():
        last = lg[-1]
        top = np.argsort(-last)[:5]
        print(f"exit {k:2d}: top5 at last position {[(int(i), round(float(last[i]), 4)) for i in top]}")


if __name__ == "__main__":
    main(sys.argv[1:])
