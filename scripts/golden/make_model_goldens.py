#!/usr/bin/env python3
"""Generate the golden model fixtures used by StrataModelTests.

Writes three JSON files (each well under 1 MB) into
Tests/StrataModelTests/Fixtures/ (or --out-dir):

  reference_exits.json   numpy float64 reference (reference_forward.py), 4 prompts,
                         exits k in {1, 5, 9, 15, 21, 29, 30} at positions 0 and last:
                         top-20 (id, logit), logits at 256 seeded probe ids, and the
                         logsumexp over the whole vocabulary.
  llamacpp_logits.json   llama-cpp-python (logits_all=True, n_ctx=512, n_threads=2),
                         6 prompts, final-layer logits at every position: top-10 (id, logit)
                         and the top-2 margin; at the last position also the probe-id logits.
                         Each prompt also carries its comparison with the numpy reference.
  llamacpp_greedy.json   greedy continuations (argmax of llama.cpp's logits, no penalties)
                         of 6 prompts for up to 48 tokens (stopping early only on ids 0 or 2),
                         with the top-2 margin of every step, re-checked teacher-forced with the
                         numpy reference; any disagreement is recorded.

Unless --no-f32-check is given, the script also converts the model to an all-F32 GGUF (in a
temporary directory, ~0.6 GB) with llama.cpp's converter and checks that llama.cpp on that copy,
with an F32 KV cache, matches the numpy reference to float32 rounding; the result is stored as
"validation" in reference_exits.json.

Every file starts with the header
  {"format": "strata-golden", "version": 1, "generator": ..., "model_sha256": ..., "seed": ...}.
Floats are stored with 6 significant digits. Token ids come from llama.cpp's tokenizer
(add_bos=False, special tokens parsed), so they are exactly what llama.cpp evaluated.

Reproduce (from the repository root, after scripts/fetch-model.sh):

    python3 -m venv .venv-golden
    .venv-golden/bin/pip install -r scripts/golden/requirements.txt
    .venv-golden/bin/python scripts/golden/make_model_goldens.py

Options: --model PATH, --out-dir DIR, --seed N, --threads N. The run takes a few minutes on
two cores (the numpy reference dominates); the output is deterministic for a given
llama-cpp-python build and CPU feature set (llama.cpp's kernels differ slightly between
instruction sets, which can move its logits in the last digits).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import tempfile
import sys
import time
from typing import Any, Dict, List, Sequence

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_forward import ReferenceModel  # noqa: E402

EXPECTED_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
DEFAULT_MODEL = "models/SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_OUT = "Tests/StrataModelTests/Fixtures"
DEFAULT_SEED = 1234

EXITS = [1, 5, 9, 15, 21, 29, 30]
N_PROBES = 256
TOPK_REFERENCE = 20
TOPK_LLAMACPP = 10
GREEDY_TOKENS = 48
STOP_IDS = [0, 2]
MARGIN_CLEAR = 0.5

SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


def chatml(user: str, system: str = SYSTEM) -> str:
    return (f"<|im_start|>system\n{system}<|im_end|>\n"
            f"<|im_start|>user\n{user}<|im_end|>\n"
            f"<|im_start|>assistant\n")


# Prompts for reference_exits.json (and the first four of llamacpp_logits.json).
EXIT_PROMPTS = [
    ("chat_capital", chatml("What is the capital of France?")),
    ("plain_sentence", "The quick brown fox jumps over the lazy dog while the farmer watches from the porch."),
    ("code_digits", "def add(a, b):\n    return a + b\n\nprint(add(1234, 5678))  # 6912"),
    ("single_token", "Hello"),
]
# Two more for llamacpp_logits.json.
EXTRA_LOGIT_PROMPTS = [
    ("story", "Once upon a time, in a small village by the sea, there lived an old fisherman who"),
    ("chat_colors", chatml("List the three primary colors.")),
]
GREEDY_PROMPTS = [
    ("chat_capital", chatml("What is the capital of France?")),
    ("chat_haiku", chatml("Write a haiku about the ocean.")),
    ("story", "Once upon a time, in a small village by the sea, there lived"),
    ("code_fib", "def fibonacci(n):\n"),
    ("fact_germany", "The capital of Germany is"),
    ("single_token", "Hello"),
]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def sig6(x: float) -> float:
    return float(f"{float(x):.6g}")


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def top_pairs(logits: np.ndarray, k: int) -> List[List[Any]]:
    # Stable order: by logit descending, ties by id ascending.
    idx = np.lexsort((np.arange(logits.size), -logits))[:k]
    return [[int(i), sig6(logits[i])] for i in idx]


def margin(logits: np.ndarray) -> float:
    two = np.partition(logits, -2)[-2:]
    return float(two[1] - two[0])


def logsumexp(x: np.ndarray) -> float:
    m = float(np.max(x))
    return m + float(np.log(np.sum(np.exp(x.astype(np.float64) - m))))


def header(generator: str, sha: str, seed: int) -> Dict[str, Any]:
    return {"format": "strata-golden", "version": 1, "generator": generator,
            "model_sha256": sha, "seed": seed}


def _is_scalar(v: Any) -> bool:
    return isinstance(v, (int, float, str, bool)) or v is None


def to_json(obj: Any, indent: int = 0) -> str:
    """JSON with objects indented and lists of scalars / scalar pairs kept on one line."""
    pad = "  " * indent
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f'{pad}  {json.dumps(k)}: {to_json(v, indent + 1)}' for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list):
        if all(_is_scalar(v) for v in obj) or all(isinstance(v, list) and all(_is_scalar(u) for u in v) for v in obj):
            return json.dumps(obj, separators=(",", ":"))
        items = [f"{pad}  {to_json(v, indent + 1)}" for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj)


def write(path: str, obj: Dict[str, Any]) -> int:
    text = to_json(obj) + "\n"
    with open(path, "w") as f:
        f.write(text)
    size = len(text.encode())
    if size >= 1_000_000:
        raise SystemExit(f"{path} is {size} bytes (limit 1 MB)")
    print(f"wrote {path} ({size} bytes)")
    return size


# ---------------------------------------------------------------------------
# llama.cpp side
# ---------------------------------------------------------------------------

class LlamaCpp:
    def __init__(self, path: str, threads: int, seed: int, f32_kv: bool = False):
        import llama_cpp
        self.version = llama_cpp.__version__
        self.system_info = llama_cpp.llama_print_system_info().decode().strip(" |")
        kv = dict(type_k=llama_cpp.GGML_TYPE_F32, type_v=llama_cpp.GGML_TYPE_F32) if f32_kv else {}
        self.llm = llama_cpp.Llama(model_path=path, n_ctx=512, n_batch=512, n_threads=threads,
                                   n_threads_batch=threads, logits_all=True, seed=seed,
                                   verbose=False, **kv)

    def tokenize(self, text: str) -> List[int]:
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def all_logits(self, ids: Sequence[int]) -> np.ndarray:
        """Final-layer logits (float32) at every position, evaluated as one batch."""
        self.llm.reset()
        self.llm.eval(list(ids))
        return np.array(self.llm.scores[: len(ids)], dtype=np.float64)

    def greedy(self, ids: Sequence[int], n: int, stop: Sequence[int]):
        self.llm.reset()
        self.llm.eval(list(ids))
        out, margins, seconds = [], [], []
        for _ in range(n):
            lg = np.array(self.llm.scores[self.llm.n_tokens - 1], dtype=np.float64)
            order = np.lexsort((np.arange(lg.size), -lg))
            tok, second = int(order[0]), int(order[1])
            out.append(tok)
            margins.append(float(lg[tok] - lg[second]))
            seconds.append(second)
            if tok in stop:
                return out, margins, seconds, "eos"
            self.llm.eval([tok])
        return out, margins, seconds, "length"


def convert_to_f32(src: str, dst: str, threads: int) -> None:
    """Dequantise every tensor of src into an all-F32 GGUF with llama.cpp's own converter.

    llama.cpp multiplies F32 weights by F32 activations without rounding them to 8 bits, so
    with an F32 KV cache it computes the same function as the numpy reference up to float32
    rounding. This is the exactness check of the reference; the Q4_1 run is not exact.
    """
    import ctypes
    import llama_cpp
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_ALL_F32
    params.allow_requantize = True
    params.nthread = threads
    # llama.cpp logs every tensor it converts to stderr; keep the console readable.
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(params))
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)
    if rc != 0:
        raise SystemExit(f"llama_model_quantize to F32 failed ({rc})")


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description="Generate Strata's golden model fixtures.")
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--out-dir", default=DEFAULT_OUT)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-f32-check", action="store_true",
                    help="skip the exactness check against llama.cpp on an all-F32 copy (needs ~0.6 GB of temp space)")
    args = ap.parse_args()

    sha = sha256_file(args.model)
    if sha != EXPECTED_SHA256:
        raise SystemExit(f"{args.model}: sha256 {sha} is not the expected {EXPECTED_SHA256}")
    os.makedirs(args.out_dir, exist_ok=True)

    lc = LlamaCpp(args.model, args.threads, args.seed)
    t0 = time.perf_counter()
    ref = ReferenceModel.load(args.model)
    print(f"numpy reference loaded in {time.perf_counter() - t0:.1f}s: {ref.hp}")
    n_layer, n_vocab = ref.hp.n_layer, ref.hp.n_vocab
    assert max(EXITS) == n_layer

    rng = np.random.default_rng(args.seed)
    probe_ids = sorted(int(i) for i in rng.choice(n_vocab, size=N_PROBES, replace=False))

    ref_gen = (f"scripts/golden/make_model_goldens.py: numpy {np.__version__} float64 reference "
               f"(scripts/golden/reference_forward.py), cache-free")
    lc_gen = (f"scripts/golden/make_model_goldens.py: llama-cpp-python {lc.version} "
              f"(CPU, n_threads={args.threads}, n_ctx=512, logits_all), {platform.machine()}: "
              f"{lc.system_info}")
    timings: Dict[str, float] = {}

    # -- a. reference_exits.json -------------------------------------------
    prompts_out = []
    t_ref = 0.0
    for name, text in EXIT_PROMPTS:
        ids = lc.tokenize(text)
        if name == "single_token" and len(ids) != 1:
            raise SystemExit(f"single_token prompt {text!r} tokenizes to {ids}")
        T = len(ids)
        positions = sorted({0, T - 1})
        t = time.perf_counter()
        out = ref.forward(ids, EXITS, positions=positions)
        dt = time.perf_counter() - t
        t_ref += dt
        print(f"reference {name}: {T} tokens, {len(EXITS)} exits in {dt:.2f}s")
        results = []
        for k in EXITS:
            for j, p in enumerate(positions):
                lg = out[k][j]
                results.append({
                    "exit": k, "position": p,
                    "top": top_pairs(lg, TOPK_REFERENCE),
                    "probe_logits": [sig6(lg[i]) for i in probe_ids],
                    "logsumexp": sig6(logsumexp(lg)),
                })
        prompts_out.append({"name": name, "text": text, "token_ids": ids, "results": results})
    timings["reference_exits_forward_s"] = t_ref
    exits_doc = header(ref_gen, sha, args.seed)
    exits_doc.update({
        "description": ("Logits after exit k (final RMSNorm + LM head applied to the hidden state "
                        "after block k, k counted from 1; k = block_count is the full model), from a "
                        "float64 numpy forward pass without KV cache. 'top' lists (id, logit) by "
                        "descending logit; 'probe_logits' are the logits at 'probe_ids' in order; "
                        "'logsumexp' is over the whole vocabulary. Positions are 0 and T - 1 (one "
                        "entry when T = 1). Token ids come from llama.cpp's tokenizer."),
        "exits": EXITS, "block_count": n_layer, "vocab_size": n_vocab,
        "probe_ids": probe_ids, "top_k": TOPK_REFERENCE,
        "prompts": prompts_out,
    })

    # -- b. llamacpp_logits.json + comparison -------------------------------
    lc_prompts = []
    summary = {"max_abs_diff": 0.0, "top1_clear_agree": 0, "top1_clear_total": 0,
               "top1_agree_all": 0, "positions": 0}
    t_lc_ref = 0.0
    f32_dir = None
    lc32 = None
    f32 = {"max_abs_diff": 0.0, "top1_agree": 0, "positions": 0}
    if not args.no_f32_check:
        f32_dir = tempfile.TemporaryDirectory(prefix="strata-golden-")
        f32_path = os.path.join(f32_dir.name, "model-f32.gguf")
        convert_to_f32(args.model, f32_path, args.threads)
        lc32 = LlamaCpp(f32_path, args.threads, args.seed, f32_kv=True)
    for name, text in EXIT_PROMPTS + EXTRA_LOGIT_PROMPTS:
        ids = lc.tokenize(text)
        T = len(ids)
        lg_lc = lc.all_logits(ids)
        t = time.perf_counter()
        lg_np = ref.forward(ids, [n_layer])[n_layer]
        t_lc_ref += time.perf_counter() - t
        f32_note = ""
        if lc32 is not None:
            lg32 = lc32.all_logits(ids)
            f32["max_abs_diff"] = max(f32["max_abs_diff"], float(np.max(np.abs(lg32 - lg_np))))
            f32["top1_agree"] += int(np.sum(np.argmax(lg32, axis=1) == np.argmax(lg_np, axis=1)))
            f32["positions"] += T
            f32_note = f", F32 copy max|d|={float(np.max(np.abs(lg32 - lg_np))):.2e}"
        positions = []
        diffs, agree_clear, n_clear, agree_all = [], 0, 0, 0
        for p in range(T):
            m = margin(lg_lc[p])
            positions.append({"position": p, "top": top_pairs(lg_lc[p], TOPK_LLAMACPP),
                              "margin": sig6(m)})
            d = float(np.max(np.abs(lg_lc[p] - lg_np[p])))
            diffs.append(d)
            same = int(np.argmax(lg_lc[p])) == int(np.argmax(lg_np[p]))
            agree_all += same
            if m >= MARGIN_CLEAR:
                n_clear += 1
                agree_clear += same
        cmp = {"max_abs_diff": sig6(max(diffs)), "max_abs_diff_per_position": [sig6(d) for d in diffs],
               "top1_agree_where_margin_clear": agree_clear, "positions_margin_clear": n_clear,
               "top1_agree_all": agree_all}
        print(f"llama.cpp vs numpy {name}: T={T} max|d|={max(diffs):.4f} "
              f"top1 clear {agree_clear}/{n_clear}, all {agree_all}/{T}{f32_note}")
        summary["max_abs_diff"] = max(summary["max_abs_diff"], max(diffs))
        summary["top1_clear_agree"] += agree_clear
        summary["top1_clear_total"] += n_clear
        summary["top1_agree_all"] += agree_all
        summary["positions"] += T
        lc_prompts.append({
            "name": name, "text": text, "token_ids": ids, "positions": positions,
            "last_probe_logits": [sig6(lg_lc[T - 1][i]) for i in probe_ids],
            "reference_comparison": cmp,
        })
    timings["llamacpp_logits_reference_forward_s"] = t_lc_ref
    summary["max_abs_diff"] = sig6(summary["max_abs_diff"])
    if lc32 is not None:
        if hasattr(lc32.llm, "close"):
            lc32.llm.close()
        del lc32
        f32_dir.cleanup()
        f32["max_abs_diff"] = float(f"{f32['max_abs_diff']:.3g}")
        print("F32 exactness check:", json.dumps(f32))
        exits_doc["validation"] = {
            "description": ("Final-layer logits of this reference compared with llama.cpp running an "
                            "all-F32 copy of the model (llama_model_quantize, LLAMA_FTYPE_ALL_F32) with "
                            "an F32 KV cache, over the whole vocabulary at every position of the "
                            "llamacpp_logits.json prompts."),
            "llamacpp_version": lc.version, **f32}
        exits_doc["prompts"] = exits_doc.pop("prompts")  # keep the prompts last
    logits_doc = header(lc_gen, sha, args.seed)
    logits_doc.update({
        "description": ("llama.cpp final-layer logits at every position of each prompt (one batch). "
                        "'top' lists (id, logit) by descending logit; 'margin' is top-1 minus top-2; "
                        "'last_probe_logits' are the last position's logits at 'probe_ids'. "
                        "'reference_comparison' compares with the float64 numpy reference over the "
                        "whole vocabulary (llama.cpp rounds matrix inputs to 8 bits and keeps an f16 "
                        "KV cache, so differences of several tenths are expected)."),
        "layer": n_layer, "vocab_size": n_vocab, "probe_ids": probe_ids, "top_k": TOPK_LLAMACPP,
        "margin_clear": MARGIN_CLEAR, "reference_summary": summary,
        "prompts": lc_prompts,
    })

    # -- c. llamacpp_greedy.json --------------------------------------------
    greedy_out = []
    all_agree = True
    t_greedy_ref = 0.0
    for name, text in GREEDY_PROMPTS:
        ids = lc.tokenize(text)
        gen, margins, seconds, why = lc.greedy(ids, GREEDY_TOKENS, STOP_IDS)
        # Teacher-forced check: one numpy pass over prompt + generated tokens; the logits at
        # position len(ids) - 1 + i predict generated token i.
        seq = ids + gen[:-1]
        pos = list(range(len(ids) - 1, len(seq)))
        t = time.perf_counter()
        lg_np = ref.forward(seq, [n_layer], positions=pos)[n_layer]
        t_greedy_ref += time.perf_counter() - t
        np_arg = [int(np.argmax(r)) for r in lg_np]
        np_margin = [margin(r) for r in lg_np]
        disagreements = []
        for i, (a, b) in enumerate(zip(gen, np_arg)):
            if a != b:
                disagreements.append({"step": i, "llamacpp_id": a, "reference_id": b,
                                      "llamacpp_margin": sig6(margins[i]),
                                      "reference_margin": sig6(np_margin[i]),
                                      "reference_logit_of_llamacpp_id": sig6(lg_np[i][a]),
                                      "reference_logit_of_reference_id": sig6(lg_np[i][b])})
        entry: Dict[str, Any] = {
            "name": name, "text": text, "prompt_ids": ids, "generated_ids": gen,
            "stop_reason": why, "margins": [sig6(m) for m in margins], "second_ids": seconds,
            "reference_margins": [sig6(m) for m in np_margin],
            "reference_disagreements": disagreements,
        }
        if disagreements:
            all_agree = False
            # Free-running numpy greedy from the first disagreement, for the record.
            first = disagreements[0]["step"]
            cont = ids + gen[:first]
            own = []
            t = time.perf_counter()
            for _ in range(len(gen) - first):
                r = ref.forward(cont, [n_layer], positions=[len(cont) - 1])[n_layer][0]
                tok = int(np.argmax(r))
                own.append(tok)
                if tok in STOP_IDS:
                    break
                cont.append(tok)
            t_greedy_ref += time.perf_counter() - t
            entry["reference_generated_ids"] = gen[:first] + own
        print(f"greedy {name}: {len(ids)}+{len(gen)} tokens ({why}), min margin {min(margins):.3f}, "
              f"disagreements {[(d['step'], d['llamacpp_margin']) for d in disagreements]}")
        greedy_out.append(entry)
    timings["greedy_reference_forward_s"] = t_greedy_ref
    greedy_doc = header(lc_gen, sha, args.seed)
    greedy_doc.update({
        "description": ("Greedy decoding with llama.cpp: the prompt is evaluated as one batch, then one "
                        "token at a time (KV cache), always taking the argmax (ties to the lower id); "
                        "no repetition penalty. Generation stops after 'max_new_tokens' or on a "
                        "'stop_ids' token, which is included in 'generated_ids'. 'margins'[i] is the "
                        "top-1 minus top-2 logit at step i and 'second_ids'[i] the runner-up. "
                        "'reference_margins' are the float64 numpy reference's margins teacher-forced "
                        "on the same tokens; 'reference_disagreements' lists steps whose reference "
                        "argmax differs (empty when they all agree)."),
        "max_new_tokens": GREEDY_TOKENS, "stop_ids": STOP_IDS,
        "reference_agrees": all_agree,
        "prompts": greedy_out,
    })

    write(os.path.join(args.out_dir, "reference_exits.json"), exits_doc)
    write(os.path.join(args.out_dir, "llamacpp_logits.json"), logits_doc)
    write(os.path.join(args.out_dir, "llamacpp_greedy.json"), greedy_doc)
    print("summary:", json.dumps(summary))
    print("timings:", json.dumps({k: round(v, 2) for k, v in timings.items()}))


if __name__ == "__main__":
    main()
