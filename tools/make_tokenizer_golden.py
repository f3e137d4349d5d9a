#!/usr/bin/env python3
"""Golden references for tessera's tokenizer tests, produced with HF `tokenizers`.

Runs on the GPU machine (Python 3.12, tokenizers 0.23, no internet):

    tools/make_tokenizer_golden.py --tokenizers DIR --corpus tests/data/tokenizer/corpus.json \
        --out tests/data/tokenizer/golden

DIR holds <name>/tokenizer.json as laid out by tools/fetch_reference_tokenizers.sh. For every
tokenizer it writes golden/<name>.json with, for each corpus string, the ids with and without
special tokens and the decodes of the ids with special tokens, plus decode-only cases: id lists
that cut UTF-8 characters in the middle, and lists that contain special/added tokens.
"""
import argparse
import json
import os
import sys

REQUIRED = ["llama3", "llama3_1", "llama2", "qwen3"]
OPTIONAL = ["gemma3"]
MAX_GOLDEN_BYTES = 1_500_000


def added_tokens(tokenizer_json_path):
    """(id, special) of every added token, read straight from tokenizer.json."""
    with open(tokenizer_json_path, encoding="utf-8") as f:
        data = json.load(f)
    return [(t["id"], bool(t.get("special", False))) for t in data.get("added_tokens") or []]


def decode_cases(tok, corpus, added):
    """Id lists whose decoding is interesting beyond the corpus round trips."""
    lists = []
    # Prefixes and suffixes of encodings of short non-ASCII strings: they start or stop in the
    # middle of a multi-byte character (byte-level tokens or <0xXX> byte-fallback tokens).
    non_ascii = [t for t in corpus if any(ord(c) > 0x7F for c in t) and 0 < len(t) <= 40]
    for text in non_ascii[:16]:
        ids = tok.encode(text, add_special_tokens=False).ids[:24]
        for k in range(1, len(ids)):
            lists.append(ids[:k])
            lists.append(ids[k:])
    # Special and other added tokens mixed with ordinary text.
    specials = [i for i, special in added if special]
    others = [i for i, special in added if not special]
    base = tok.encode("Hello 😀 world", add_special_tokens=False).ids
    lists.append([])
    for i in specials[:20] + others[:10]:
        lists.append([i])
    if specials:
        s0 = specials[0]
        s1 = specials[1] if len(specials) > 1 else specials[0]
        lists.append([s0] + base + [s1])
        lists.append(base + [s0, s1] + base)
        lists.append([s0, s0, s0])
        lists.append([s1] + base[:1] + [s0] + base[1:])
    for i in others[:3]:
        lists.append(base + [i] + base)
    cases = []
    for ids in lists:
        for skip in (False, True):
            cases.append({"ids": ids, "skip_special_tokens": skip,
                          "text": tok.decode(ids, skip_special_tokens=skip)})
    return cases


def golden_for(name, path, corpus, version):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(path)
    cases = []
    for text in corpus:
        ids_special = tok.encode(text, add_special_tokens=True).ids
        ids_plain = tok.encode(text, add_special_tokens=False).ids
        cases.append({
            "text": text,
            "ids_special": ids_special,
            "ids_plain": ids_plain,
            "decoded_skip": tok.decode(ids_special, skip_special_tokens=True),
            "decoded_keep": tok.decode(ids_special, skip_special_tokens=False),
            # Lets tests know when decode(encode(x)) == x holds for HF itself.
            "plain_round_trips": tok.decode(ids_plain, skip_special_tokens=False) == text,
        })
    return {"tokenizer": name, "tokenizers_version": version, "cases": cases,
            "decode_cases": decode_cases(tok, corpus, added_tokens(path))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokenizers", required=True, help="folder with <name>/tokenizer.json")
    parser.add_argument("--corpus", required=True, help="JSON array of strings")
    parser.add_argument("--out", required=True, help="folder for <name>.json golden files")
    parser.add_argument("--names", nargs="*", default=None, help="subset of tokenizers")
    args = parser.parse_args(argv)

    import tokenizers

    with open(args.corpus, encoding="utf-8") as f:
        corpus = json.load(f)
    if not isinstance(corpus, list) or not all(isinstance(s, str) for s in corpus):
        sys.exit(f"{args.corpus}: expected a JSON array of strings")
    os.makedirs(args.out, exist_ok=True)

    names = args.names or REQUIRED + OPTIONAL
    for name in names:
        path = os.path.join(args.tokenizers, name, "tokenizer.json")
        if not os.path.exists(path):
            if name in REQUIRED:
                sys.exit(f"{path}: missing (run tools/fetch_reference_tokenizers.sh first)")
            print(f"skipping {name}: {path} not found")
            continue
        golden = golden_for(name, path, corpus, tokenizers.__version__)
        text = json.dumps(golden, ensure_ascii=False, separators=(",", ":"))
        size = len(text.encode("utf-8"))
        if size > MAX_GOLDEN_BYTES:
            print(f"warning: {name}.json is {size} bytes (over {MAX_GOLDEN_BYTES})")
        out = os.path.join(args.out, f"{name}.json")
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)
            f.write("\n")
        print(f"wrote {out}: {len(golden['cases'])} cases, "
              f"{len(golden['decode_cases'])} decode cases, {size} bytes")


if __name__ == "__main__":
    main()
