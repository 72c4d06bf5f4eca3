#!/usr/bin/env python3
"""Is a model copying yet? Mean loss (nats/token) on repeat documents by repetition of the string.

Repeat documents (`lolcats data recall --mix repeat=1`) are a little filler, then one random string
of 8-64 characters repeated to the end. A model that knows only the alphabet scores about
log(62) = 4.13 nats on every repetition; one with a working induction circuit scores ~0 after the
first. Scores each document with `lolcats score --json` (byte-level tokenizer with <s> assumed).

    scripts/repeat-probe.py --model DIR --docs repeat.jsonl [--lolcats ./lolcats]
"""
import argparse
import json
import subprocess
import sys


def periodic_start(text):
    """(start, period) of the periodic tail: the first character of the string's first copy."""
    tail = text[-128:]
    for p in range(8, 65):
        if all(tail[i] == tail[i + p] for i in range(len(tail) - p)):
            s = len(text) - 1
            while s - p >= 0 and text[s - p] == text[s]:
                s -= 1
            return s + 1 - p, p
    return None


def fail(message):
    """One line on stderr and exit code 2, as every lolcats command does on bad input."""
    print(f"repeat-probe: {message}", file=sys.stderr)
    sys.exit(2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--docs", required=True, help="JSONL with a 'text' field per line (repeat documents)")
    ap.add_argument("--lolcats", default="./lolcats")
    a = ap.parse_args()
    sums, counts, used = [0.0] * 4, [0] * 4, 0
    try:
        lines = open(a.docs, encoding="utf-8").read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        fail(f"{a.docs}: cannot read ({e})")
    for line_no, line in enumerate(lines, 1):
        try:
            text = json.loads(line)["text"]
        except (ValueError, KeyError, TypeError):
            text = None
        if not isinstance(text, str):
            fail(f"{a.docs}:{line_no}: expected a JSON object with a string field 'text'")
        found = periodic_start(text)
        if found is None or not text.isascii():
            print(f"{a.docs}:{line_no}: not an ASCII repeat document, skipped", file=sys.stderr)
            continue
        start, period = found
        out = subprocess.run([a.lolcats, "score", "--model", a.model, "--json", "--text", text],
                             capture_output=True, text=True)
        if out.returncode != 0:
            fail(f"lolcats score failed: {out.stderr.strip()}")
        logprobs = json.loads(out.stdout)["logprobs"]  # logprobs[c] predicts character c (after <s>)
        for c in range(start, len(text)):
            r = min((c - start) // period, 3)
            sums[r] -= logprobs[c]
            counts[r] += 1
        used += 1
    if used == 0:
        fail(f"{a.docs}: no repeat documents")
    print(f"{used} documents; nats/char on the 1st / 2nd / 3rd / later repetitions: "
          + " / ".join(f"{sums[r] / counts[r]:.2f}" for r in range(4)))


if __name__ == "__main__":
    main()
