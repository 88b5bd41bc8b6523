"""Measure llama.cpp (through llama-cpp-python) the way `strata bench` measures Strata.

Prefill: one eval of the prompt. Decode: greedy, one token per eval, `gen` tokens; the rate is
(gen - 1) / time, as Strata reports it (the first token comes from the prefill's logits).
The prompt is the same English sentence Strata uses, tokenized by llama.cpp, repeated to length.

Prints one JSON line: {"prefill": tok/s, "decode": tok/s, "version": ...}.
Used by scripts/bench-vs-llamacpp; not a dependency of Strata.
"""
import argparse
import json
import time

import llama_cpp
import numpy as np

TEXT = "The history of the city is long and complicated, and its people have told it in many ways. "


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt-tokens", type=int, default=512)
    ap.add_argument("--gen-tokens", type=int, default=128)
    args = ap.parse_args()

    llm = llama_cpp.Llama(
        model_path=args.model,
        n_ctx=args.prompt_tokens + args.gen_tokens + 8,
        n_batch=max(512, args.prompt_tokens),
        n_threads=args.threads,
        n_threads_batch=args.threads,
        verbose=False,
    )
    piece = llm.tokenize(TEXT.encode(), add_bos=False, special=False)
    prompt = (piece * (args.prompt_tokens // len(piece) + 1))[: args.prompt_tokens]

    vocab = llm.n_vocab()

    def last_argmax() -> int:
        # Without logits_all, llama.cpp keeps only the last position's logits in its context.
        return int(np.argmax(np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(vocab,))))

    llm.reset()
    start = time.perf_counter()
    llm.eval(prompt)
    prefill_s = time.perf_counter() - start
    token = last_argmax()

    start = time.perf_counter()
    for _ in range(args.gen_tokens - 1):
        llm.eval([token])
        token = last_argmax()
    decode_s = time.perf_counter() - start
    print(json.dumps({
        "prefill": args.prompt_tokens / prefill_s,
        "decode": (args.gen_tokens - 1) / decode_s,
        "version": llama_cpp.__version__,
    }))


if __name__ == "__main__":
    main()
