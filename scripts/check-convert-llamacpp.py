#!/usr/bin/env python3
"""Checks that GGUF files written by `strata convert` run in llama.cpp as they do in Strata.

For each file and prompt:
  1. the prompt's token ids from llama.cpp and from `strata tokenize` must be equal;
  2. llama.cpp decodes greedily for --tokens steps;
  3. teacher-forced on prompt + that continuation, Strata's top-1 (`strata logits`) must equal
     llama.cpp's at every position where llama.cpp's top-2 margin is clear (>= --margin; both
     engines round activations to 8 bits, so near-ties may flip), and the top logits are compared;
  4. Strata's own greedy continuation (`strata generate --temperature 0`) is compared with
     llama.cpp's text;
  5. with --source (the model the file was converted from), llama.cpp's own quantizer
     (`llama_model_quantize`, requantizing allowed) converts the source to the file's
     general.file_type, and every tensor must match the file's type and bytes exactly.

Needs llama-cpp-python (e.g. a venv: /tmp/lcpvenv/bin/python scripts/check-convert-llamacpp.py …)
and a built `strata`. Exit status 1 if any file fails check 1, 3 or 5.

Usage:
  strata convert --type q8_0 --out /tmp/m-q8_0.gguf
  python scripts/check-convert-llamacpp.py /tmp/m-q8_0.gguf [more.gguf …] [--strata .build/release/strata]
      [--source models/SmolLM2-135M-Instruct.Q4_1.gguf]
"""
import argparse
import ctypes
import json
import os
import subprocess
import sys
import tempfile

import llama_cpp
import numpy as np
from llama_cpp import Llama

PROMPTS = [
    "The capital of France is",
    "<|im_start|>user\nName three primary colours.<|im_end|>\n<|im_start|>assistant\n",
    "def fibonacci(n):\n    ",
]


def strata(binary, *args):
    out = subprocess.run([binary, *args], check=True, capture_output=True, text=True)
    return out.stdout


def compare_with_llama_quantize(path, source):
    """Check 5: llama.cpp's quantizer, run on the source, writes the same tensors as Strata did."""
    from gguf import GGUFReader

    ours = GGUFReader(path)
    ftype = int(ours.fields["general.file_type"].contents())
    with tempfile.TemporaryDirectory() as tmp:
        theirs_path = os.path.join(tmp, "llama-quantize.gguf")
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = ftype
        params.allow_requantize = True
        params.nthread = 2
        if llama_cpp.llama_model_quantize(source.encode(), theirs_path.encode(), ctypes.byref(params)) != 0:
            print("  llama_model_quantize failed")
            return False
        theirs = {t.name: t for t in GGUFReader(theirs_path).tensors}
        differing = []
        for t in ours.tensors:
            other = theirs.pop(t.name, None)
            if other is None or other.tensor_type != t.tensor_type or other.data.tobytes() != t.data.tobytes():
                differing.append(t.name)
        differing += sorted(theirs)  # tensors only llama.cpp wrote
    print(f"  llama.cpp's quantizer (file type {ftype}) on {os.path.basename(source)}: "
          f"{len(ours.tensors) - len(differing)}/{len(ours.tensors)} tensors identical in type and bytes"
          + (f"; differing: {differing[:5]}" if differing else ""))
    return not differing


def check_file(path, args):
    print(f"== {path}")
    llm = Llama(model_path=path, n_ctx=512, n_threads=args.threads, n_batch=512, logits_all=True, verbose=False)
    layers = int(llm.metadata["llama.block_count"])
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    ok = True
    totals = {"positions": 0, "clear": 0, "clear_agree": 0, "agree": 0}
    for prompt in PROMPTS:
        # add_bos=True adds BOS only where the file asks for it, as Strata does.
        ids = llm.tokenize(prompt.encode(), add_bos=True, special=True)
        strata_ids = json.loads(strata(args.strata, "tokenize", "--model", path, "--text", prompt))["ids"]
        if strata_ids != ids:
            print(f"  tokenization differs for {prompt!r}: llama.cpp {ids} strata {strata_ids}")
            ok = False
            continue

        # llama.cpp's greedy continuation, then its logits over prompt + continuation.
        llm.reset()
        llm.eval(ids)
        continuation = []
        for _ in range(args.tokens):
            logits = np.array(llm.scores[llm.n_tokens - 1])
            token = int(np.argmax(logits))
            if llama_cpp.llama_vocab_is_eog(vocab, token):  # the end-of-generation set Strata stops on
                break
            continuation.append(token)
            llm.eval([token])
        sequence = ids + continuation
        llm.reset()
        llm.eval(sequence)
        scores = np.array(llm.scores[: len(sequence)])

        worst = 0.0
        mismatches = []
        for t in range(len(ids) - 1, len(sequence)):
            row = scores[t]
            order = np.argsort(-row)
            top, margin = int(order[0]), float(row[order[0]] - row[order[1]])
            reply = json.loads(
                strata(args.strata, "logits", "--model", path, "--token-ids", ",".join(map(str, sequence[: t + 1])),
                       "--exits", str(layers), "--top", "1", "--threads", str(args.threads)))
            entry = reply["exits"][0]["top"][0]
            worst = max(worst, abs(entry["logit"] - float(row[entry["id"]])))
            totals["positions"] += 1
            totals["agree"] += entry["id"] == top
            if margin >= args.margin:
                totals["clear"] += 1
                totals["clear_agree"] += entry["id"] == top
                if entry["id"] != top:
                    mismatches.append((t, top, entry["id"], margin))
        if mismatches:
            ok = False
            print(f"  top-1 differs at clear positions: {mismatches}")

        text_lcpp = llm.detokenize(continuation).decode("utf-8", errors="replace")
        text_strata = strata(args.strata, "generate", "--model", path, "--prompt", prompt, "--max-tokens",
                             str(args.tokens), "--temperature", "0", "--threads", str(args.threads)).rstrip("\n")
        common = os.path.commonprefix([text_lcpp, text_strata])
        same = "identical" if text_lcpp == text_strata else f"same for {len(common)}/{len(text_lcpp)} chars"
        print(f"  {prompt[:40]!r}: {len(ids)} prompt tokens, {len(continuation)} generated; "
              f"max |Δ top logit| {worst:.3f}; greedy text {same}")
        print(f"    llama.cpp: {text_lcpp[:100]!r}")
        if text_lcpp != text_strata:
            print(f"    strata:    {text_strata[:100]!r}")
    if args.source and not compare_with_llama_quantize(path, args.source):
        ok = False
    print(f"  top-1 agreement: {totals['agree']}/{totals['positions']} positions, "
          f"{totals['clear_agree']}/{totals['clear']} where llama.cpp's margin >= {args.margin}: "
          + ("PASS" if ok else "FAIL"))
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", help="GGUF files written by strata convert")
    parser.add_argument("--strata", default=".build/release/strata", help="the strata binary")
    parser.add_argument("--tokens", type=int, default=24, help="greedy tokens per prompt")
    parser.add_argument("--margin", type=float, default=0.5, help="top-2 margin that counts as clear")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--source", help="the model the files were converted from (enables check 5)")
    args = parser.parse_args()
    results = [check_file(path, args) for path in args.files]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
