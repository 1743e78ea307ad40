"""Where an adapted model loses to its base, token by token: each extended token is aligned with the base tokens
that cover the same characters (every extended boundary is a base boundary), and the difference of the two models'
bits on that span is summed over old-token and new-token positions and per new token.

    python bench/adapt_excess.py MODEL_DIR HELDOUT.jsonl [--base smollm2-135m] [--chars 8000]

Prints the model's and the base's bits/char, the excess on old- and on new-token positions (bits per character of
the text), and the new tokens with the largest total excess. Used for the tnews note of bench/RESULTS.md ("Adapting
the extended model"): `python bench/adapt_excess.py /tmp/ab/runs/<arm>/snapshots/15 /tmp/ab/heldout/tnews.jsonl`.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict

import torch


def token_bits(model, tok, text: str) -> tuple[list[int], list[tuple[int, int]], list[float]]:
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    with torch.no_grad():
        logp = model(torch.tensor([[start, *ids]])).logits[0, :-1].float().log_softmax(-1)
    bits = (-logp[torch.arange(len(ids)), torch.tensor(ids)] / math.log(2)).tolist()
    return ids, offsets, bits


def main() -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from vocabx.model.api import resolve_model
    from vocabx.train.newrows import recorded_base_vocab_size

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("heldout", help="JSON lines with a \"text\" field")
    parser.add_argument("--base", default="smollm2-135m")
    parser.add_argument("--chars", type=int, default=8000)
    parser.add_argument("--docs", type=int, default=64)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    torch.set_num_threads(1)
    base_dir = resolve_model(args.base)
    bt, et = AutoTokenizer.from_pretrained(base_dir), AutoTokenizer.from_pretrained(args.model)
    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32).eval()
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32).eval()
    new_start = recorded_base_vocab_size(args.model)
    excess: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    totals = {"model": 0.0, "base": 0.0, "new": 0.0, "old": 0.0}
    chars = 0
    with open(args.heldout, encoding="utf-8") as fh:
        lines = [line for line in fh if line.strip()][: args.docs]
    for line in lines:
        if chars >= args.chars:
            break
        text = json.loads(line)["text"]
        chars += len(text)
        e_ids, e_off, e_bits = token_bits(model, et, text)
        _, b_off, b_bits = token_bits(base, bt, text)
        base_upto, acc = {}, 0.0  # base bits up to each base token end
        for (_, end), b in zip(b_off, b_bits):
            acc += b
            base_upto[end] = acc
        done = 0.0
        for tid, (_, end), b in zip(e_ids, e_off, e_bits):
            if end not in base_upto:  # inside a character split into byte tokens: counted at its end
                continue
            diff = b - (base_upto[end] - done)
            done = base_upto[end]
            kind = "new" if tid >= new_start else "old"
            totals[kind] += diff
            if kind == "new":
                key = et.decode([tid])
                excess[key] += diff
                count[key] += 1
        # byte tokens skipped above still count in the model's total
        totals["model"] += sum(e_bits)
        totals["base"] += sum(b_bits)
    print(f"{args.heldout}: {chars:,} characters; model {totals['model'] / chars:.3f} bits/char, base "
          f"{totals['base'] / chars:.3f}; excess on new-token positions {totals['new'] / chars:+.3f}, on old-token "
          f"positions {totals['old'] / chars:+.3f} bits/char")
    worst = sorted(excess.items(), key=lambda kv: -kv[1])[: args.top]
    print("new tokens with the largest excess (token, bits in all, occurrences):")
    print(", ".join(f"{k!r} {v:+.1f} x{count[k]}" for k, v in worst))


if __name__ == "__main__":
    main()
