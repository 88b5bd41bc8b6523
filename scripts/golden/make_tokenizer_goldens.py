#!/usr/bin/env python3
"""Golden fixtures for the StrataTokenizer tests, made with independent implementations.

What it writes (all under Tests/StrataTokenizerTests/Fixtures/):

* smollm2_tokenizer.json / smollm2_tokenizer_config.json
    The SmolLM2-135M-Instruct vocabulary, merges, special tokens and chat template, read from
    the GGUF file with the `gguf` package and written in Hugging Face tokenizer.json form, so
    that the Swift tests load the real vocabulary through `Tokenizer.fromTokenizerJSON`.
* smollm2_tokens.json
    Token ids from llama.cpp (through llama-cpp-python, vocab_only) for tricky strings and for
    seeded random text over all of Unicode, with
    llama.cpp's detokenization of those ids (ill-formed UTF-8 replaced by U+FFFD, maximal
    subparts, as Swift does), plus chat prompts rendered by jinja2 from the
    template stored in the GGUF file.
* pretokenizer_splits.json
    How the GPT-2, SmolLM (digits first), LLaMA 3 and Qwen 2 split patterns cut the same
    strings, computed with the `regex` package (which implements \\p{L}, \\p{N} and (?i:...)).
* spm_tiny.json
    A small SentencePiece ("llama") vocabulary built here (byte tokens <0x00>..<0xFF>, pieces
    with scores, a user-defined token), written to a temporary vocab-only GGUF with `gguf`,
    and the ids llama.cpp gives for a set of strings with it.

How to run (from the repository root):

    python3 -m venv /tmp/lcpvenv
    /tmp/lcpvenv/bin/pip install llama-cpp-python==0.3.36 gguf==0.19.0 jinja2 regex numpy
    scripts/fetch-model.sh            # puts models/SmolLM2-135M-Instruct.Q4_1.gguf in place
    /tmp/lcpvenv/bin/python scripts/golden/make_tokenizer_goldens.py

Options: --model PATH (default models/SmolLM2-135M-Instruct.Q4_1.gguf), --out DIR.
The output is deterministic: the same inputs and package versions give byte-identical files.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import os
import random
import sys
import tempfile
from pathlib import Path

import gguf
import jinja2
import llama_cpp
import regex

FORMAT = "strata-golden"
VERSION = 1
GENERATOR = f"llama-cpp-python {llama_cpp.__version__}, gguf {getattr(gguf, '__version__', '0.19.0')}, jinja2 {jinja2.__version__}, regex {regex.__version__}"

# Strings that stress pre-tokenization, merging and special-token matching.
CASES: list[str] = [
    "", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \r\n ", "\n \n\t\n",
    "Hello", " Hello", "Hello ", "  Hello  ", "Hello world", "Hello  world", "Hello\tworld",
    "Hello\n\nworld", "line1\r\nline2\r\n", "tabs\t\tand  spaces \t mixed",
    "1", "12", "123", "1234567890", "3.14159", "$1,000,000.00", "year 2024 and 1e-9", " 42",
    "a1b2c3", "I'm", "you're", "they've", "it's", "we'll", "I'd", "DON'T", "SHE'LL", "'s",
    "''", "rock 'n' roll", "don't's'll", "café", "cafe\u0301", "naïve résumé", "Ångström",
    "straße", "ﬁ ligature", "Ｆｕｌｌｗｉｄｔｈ", "中文测试", "日本語のテキスト", "한국어 텍스트",
    "mixed English和中文", "😀", "👍🏽", "👨\u200d👩\u200d👧\u200d👦", "🏳️\u200d🌈",
    "emoji 😀 in text 🎉!", "مرحبا بالعالم", "שלום עולם", "Привет, мир!", "Γειά σου Κόσμε",
    "नमस्ते दुनिया", "ไทย", "def f(x):\n    return x ** 2  # square\n",
    "if (a && b) { c = d->e[0]; }", "<html><body>hi</body></html>", "path/to/file.swift:42:7",
    "https://example.com/a?b=c&d=e", "<|im_start|>user\nhi<|im_end|>\n", "<|im_start|>",
    "<|im_sta", "<|im_start|><|im_end|>", "a<|endoftext|>b",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "<<|im_start|>>", "<|im_end|><|im_end|>", "<jupyter_code>print(1)<empty_output>",
    " <|im_start|> spaced <|im_end|> ", "“quotes” — dashes… ‘single’ «guillemets»",
    "¿Qué? ¡Sí!", "x² + y³ = z⁴", "½ ¼ ¾ Ⅻ ①", "\u00a0non-breaking\u00a0space",
    "zero\u200bwidth", "\u3000ideographic space", "trailing space ", "multiple   \n   lines  \n",
    "\x00\x01 control \x7f", "a" * 70, "=" * 100, " " * 60 + "x",
    "supercalifragilisticexpialidocious" * 3, "x" + "\u0301" * 20,
    # Bytes SmolLM2 has no token for (0x04, 0xF1, 0xF2): llama.cpp drops them.
    "a\x04b", "plane 4 \U00040000 and plane 9 \U00090001!",
]

# Pool for the seeded random text: white space of all kinds, letters, digits and marks of many
# scripts, emoji parts, punctuation and special-token fragments.
RANDOM_POOL = (" \t\n\r\x0b\x0c\x85\xa0\u1680\u2000\u2028\u3000'aAzZ09éßıİ中文日本한글ابجשלוםДжΩ१२٣𝟙Ⅻ½"
               "\u0301\u0308\u200d\u200b\ufe0f😀👍🏽👨🏳🌈🎉<|>_!?.,;:-+=*/\\\"(){}[]$€£¥…—“”‘’«»\x00\x7f\ufffd")


def random_text(seed: int, length: int) -> str:
    """Seeded text: 30% any scalar, 20% the dense start of the BMP, 50% from RANDOM_POOL."""
    rng = random.Random(seed)
    chars: list[str] = []
    while len(chars) < length:
        r = rng.random()
        if r < 0.3:
            c = rng.randrange(0x110000)
            if 0xD800 <= c < 0xE000:
                continue
            chars.append(chr(c))
        elif r < 0.5:
            chars.append(chr(rng.randrange(0x3000)))
        else:
            chars.append(rng.choice(RANDOM_POOL))
    return "".join(chars)


RANDOM_SEEDS = [1, 2, 3]
RANDOM_LENGTH = 1500

# Strings also encoded with special-token parsing off.
PLAIN_CASES: list[str] = [
    "<|im_start|>user\nhi<|im_end|>", "<|endoftext|>", "a<|endoftext|>b", "<jupyter_code>x",
]

CONVERSATIONS: list[tuple[list[dict[str, str]], bool]] = [
    ([{"role": "user", "content": "Hello!"}], True),
    ([{"role": "system", "content": "You are a pirate."}, {"role": "user", "content": "Hi"}], True),
    (
        [
            {"role": "user", "content": "What is 2+2?"},
            {"role": "assistant", "content": "4."},
            {"role": "user", "content": "And 3+3?"},
        ],
        True,
    ),
    ([{"role": "user", "content": "hi"}], False),
    ([], True),
    ([{"role": "user", "content": "  line one\nline two  \n"}], True),
]

SPLIT_PATTERNS = {
    "gpt2": r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
    "llama3": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    "qwen2": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
}

SPLIT_EXTRA = [
    "Hello's WORLD'S 'LL 'Re", "  \n\n  x", "a \n b", "\t\tword", ".hello ,world", "12345678",
    "x\r\n\r\n\ty", "'hello", "!!!\n\n", "foo  \t bar", "١٢٣٤ ٥", "ａｂｃ１２３", "Ⅻ 𝟙𝟚𝟛",
]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def header(**extra) -> dict:
    return {"format": FORMAT, "version": VERSION, "generator": GENERATOR, **extra}


def write_json(path: Path, obj: dict, compact: bool = False) -> None:
    """Compact: one line. Otherwise one top-level key per line and one list entry per line,
    which keeps goldens small yet reviewable in a diff."""
    dump = lambda value: json.dumps(value, ensure_ascii=False, separators=(",", ":"))  # noqa: E731
    if compact:
        text = dump(obj)
    else:
        lines = []
        for key, value in obj.items():
            if isinstance(value, list) and value:
                items = ",\n".join(" " + dump(item) for item in value)
                lines.append(f"{dump(key)}:[\n{items}\n]")
            else:
                lines.append(f"{dump(key)}:{dump(value)}")
        text = "{\n" + ",\n".join(lines) + "\n}"
    path.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {path} ({path.stat().st_size} bytes)")


# MARK: - GGUF vocabulary

def field(reader: gguf.GGUFReader, key: str):
    f = reader.fields.get(key)
    return None if f is None else f.contents()


def dump_smollm2_tokenizer(model: Path, out: Path) -> dict:
    reader = gguf.GGUFReader(str(model))
    tokens = field(reader, "tokenizer.ggml.tokens")
    types = field(reader, "tokenizer.ggml.token_type")
    merges = field(reader, "tokenizer.ggml.merges")
    meta = {
        "model": field(reader, "tokenizer.ggml.model"),
        "pre": field(reader, "tokenizer.ggml.pre"),
        "bos": field(reader, "tokenizer.ggml.bos_token_id"),
        "eos": field(reader, "tokenizer.ggml.eos_token_id"),
        "unk": field(reader, "tokenizer.ggml.unknown_token_id"),
        "pad": field(reader, "tokenizer.ggml.padding_token_id"),
        "add_bos": bool(field(reader, "tokenizer.ggml.add_bos_token")),
        "chat_template": field(reader, "tokenizer.chat_template"),
    }
    assert meta["model"] == "gpt2" and meta["pre"] == "smollm", meta
    added = [
        {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": int(types[i]) == 3}
        for i, t in enumerate(tokens) if int(types[i]) in (3, 4)
    ]
    tokenizer_json = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        ]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": tokens[meta["unk"]],
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False,
                  "vocab": {t: i for i, t in enumerate(tokens)}, "merges": list(merges)},
    }
    config = {
        "add_bos_token": meta["add_bos"],
        "add_eos_token": False,
        "bos_token": tokens[meta["bos"]],
        "eos_token": tokens[meta["eos"]],
        "unk_token": tokens[meta["unk"]],
        "pad_token": tokens[meta["pad"]],
        "chat_template": meta["chat_template"],
    }
    write_json(out / "smollm2_tokenizer.json", tokenizer_json, compact=True)
    write_json(out / "smollm2_tokenizer_config.json", config)
    return meta


# MARK: - llama.cpp goldens

def load_vocab(path: Path) -> llama_cpp.Llama:
    return llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)


def detokenize(llm: llama_cpp.Llama, ids: list[int], unparse_special: bool) -> bytes:
    """llama.cpp's own llama_detokenize (llama-cpp-python's wrapper adds its own space rule)."""
    vocab = llm._model.vocab
    arr = (llama_cpp.llama_token * max(len(ids), 1))(*ids)
    size = 64 + 64 * len(ids)
    buf = ctypes.create_string_buffer(size)
    n = llama_cpp.llama_detokenize(vocab, arr, len(ids), buf, size, False, unparse_special)
    assert n >= 0, n
    return buf.raw[:n]


def encode_cases(llm, texts: list[str], special: bool, add_special: bool = False) -> list[dict]:
    cases = []
    for text in texts:
        ids = llm.tokenize(text.encode("utf-8"), add_bos=add_special, special=special)
        cases.append({
            "text": text,
            "parse_special": special,
            "add_special": add_special,
            "ids": ids,
            "decoded": detokenize(llm, ids, True).decode("utf-8", errors="replace"),
            "decoded_skip_special": detokenize(llm, ids, False).decode("utf-8", errors="replace"),
        })
    return cases


def smollm2_goldens(model: Path, meta: dict, out: Path) -> None:
    llm = load_vocab(model)
    randoms = [random_text(seed, RANDOM_LENGTH) for seed in RANDOM_SEEDS]
    cases = (encode_cases(llm, CASES, special=True) + encode_cases(llm, PLAIN_CASES, special=False)
             + encode_cases(llm, randoms, special=True))
    env = jinja2.Environment(loader=jinja2.BaseLoader(), keep_trailing_newline=True)
    template = env.from_string(meta["chat_template"])
    chats = [
        {"messages": messages, "add_generation_prompt": gen,
         "rendered": template.render(messages=messages, add_generation_prompt=gen)}
        for messages, gen in CONVERSATIONS
    ]
    write_json(out / "smollm2_tokens.json", header(
        model=model.name, model_sha256=sha256(model), random_seeds=RANDOM_SEEDS, cases=cases, chat=chats))


# MARK: - Split patterns

def smollm_split(text: str) -> list[str]:
    pieces = []
    for chunk in regex.findall(r"\p{N}|[^\p{N}]+", text):
        if regex.fullmatch(r"\p{N}", chunk):
            pieces.append(chunk)
        else:
            pieces.extend(regex.findall(SPLIT_PATTERNS["gpt2"], chunk))
    return pieces


def split_goldens(out: Path) -> None:
    cases = []
    for text in CASES + SPLIT_EXTRA:
        entry = {"text": text}
        for name, pattern in SPLIT_PATTERNS.items():
            entry[name] = regex.findall(pattern, text)
            assert "".join(entry[name]) == text, (name, text)
        entry["smollm"] = smollm_split(text)
        assert "".join(entry["smollm"]) == text
        cases.append(entry)
    write_json(out / "pretokenizer_splits.json", header(patterns=SPLIT_PATTERNS, cases=cases))


# MARK: - Tiny SentencePiece vocabulary

SPM_MERGED = [
    "▁t", "he", "▁the", "in", "er", "▁a", "on", "re", "▁h", "ll", "▁w", "or", "ld", "▁wor",
    "▁world", "el", "▁hel", "llo", "▁hello", "ing", "▁th", "an", "en", "at", "▁s", "is", "▁is",
    "▁▁", "▁▁▁▁", "es", "te", "st", "▁te", "▁test", "ter", "ate", "▁H", "▁He", "ello", "▁Hello",
    "12", "123", "▁1", "ab", "bc", "abc", "▁ab", "é", "▁café",
]
SPM_CHARS = list("▁abcdefghijklmnopqrstuvwxyzHWT,.!'0123456789") + ["é", "中"]
SPM_TIES = {"ab": -5.0, "bc": -5.0}  # equal scores: the leftmost pair must win

SPM_CASES = [
    "", " ", "hello world", "Hello world", " hello", "  two  spaces", "the theater", "testing",
    "abc", "abcbc", "ababab", "café", "crème brûlée", "中文", "😀 emoji", "123 1234", "\n",
    "trailing ", "<s>hello</s>", "x<|user|>y", "<unk>", "hello<s>", "tab\there", "Hello, World!",
]
SPM_PLAIN = ["<s>hello</s>", "x<|user|>y"]


def spm_vocabulary() -> tuple[list[str], list[float], list[int]]:
    tokens = ["<unk>", "<s>", "</s>"]
    scores = [0.0, 0.0, 0.0]
    types = [2, 3, 3]
    for b in range(256):
        tokens.append(f"<0x{b:02X}>")
        scores.append(0.0)
        types.append(6)
    tokens.append("<|user|>")
    scores.append(0.0)
    types.append(4)
    for i, piece in enumerate(SPM_MERGED):
        if piece in tokens:
            continue
        tokens.append(piece)
        scores.append(SPM_TIES.get(piece, -float(i)))
        types.append(1)
    for i, ch in enumerate(SPM_CHARS):
        if ch in tokens:
            continue
        tokens.append(ch)
        scores.append(-100.0 - i)
        types.append(1)
    return tokens, scores, types


def write_spm_gguf(path: Path, tokens, scores, types) -> None:
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_context_length(64)
    w.add_embedding_length(8)
    w.add_block_count(1)
    w.add_feed_forward_length(16)
    w.add_head_count(1)
    w.add_head_count_kv(1)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_add_space_prefix(True)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def spm_goldens(out: Path) -> None:
    tokens, scores, types = spm_vocabulary()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spm_tiny.gguf"
        write_spm_gguf(path, tokens, scores, types)
        llm = load_vocab(path)
        cases = (encode_cases(llm, SPM_CASES, special=True)
                 + encode_cases(llm, SPM_PLAIN, special=False)
                 + encode_cases(llm, ["hello world", ""], special=True, add_special=True))
        del llm
    vocab = {"model": "llama", "tokens": tokens, "scores": scores, "token_types": types,
             "bos": 1, "eos": 2, "unk": 0, "add_bos": True, "add_space_prefix": True}
    write_json(out / "spm_tiny.json", header(vocabulary=vocab, cases=cases))


def main() -> int:
    root = Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=root / "models/SmolLM2-135M-Instruct.Q4_1.gguf")
    parser.add_argument("--out", type=Path, default=root / "Tests/StrataTokenizerTests/Fixtures")
    args = parser.parse_args()
    if not args.model.exists():
        print(f"missing {args.model}; run scripts/fetch-model.sh first", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    meta = dump_smollm2_tokenizer(args.model, args.out)
    smollm2_goldens(args.model, meta, args.out)
    split_goldens(args.out)
    spm_goldens(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
