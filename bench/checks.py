"""Correctness checks a bench script runs before it reports: a failed check stops the script with the reason, so no
figure is ever written from a wrong result (a lossy tokenizer, models scored on different text, counts that do not
add up). `assert` is not used: `python -O` would skip it.

>>> require(True, "never printed")
>>> same_counts({"a": 3, "b": 3}, "characters scored")
3
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence


class CheckFailed(SystemExit):
    """A bench precondition that did not hold; exits with status 1 and its message."""

    def __init__(self, what: str) -> None:
        super().__init__(f"bench check failed: {what}")


def require(ok: bool, what: str) -> None:
    """Stop unless `ok`; `what` says what should have held and where."""
    if not ok:
        raise CheckFailed(what)


def round_trip(name: str, encode: Callable[[list[str]], Sequence[Sequence[int]]],
               decode: Callable[[Sequence[int]], str], texts: list[str]) -> int:
    """Every text decodes back to itself from its ids; returns the texts checked."""
    bad = [t for t, ids in zip(texts, encode(texts)) if decode(ids) != t]
    require(not bad, f"{name} is not lossless on {len(bad)}/{len(texts)} texts, e.g. {bad[0][:60]!r}" if bad else "")
    return len(texts)


def round_trip_like_base(name: str, base, extended, texts: list[str]) -> int:
    """An extension decodes back every text its base decodes back (a base may normalize some text itself, e.g.
    SentencePiece's whitespace handling); adapters with `encode_batch`/`decode`. Returns the texts checked."""
    kept = [t for t, ids in zip(texts, base.encode_batch(texts)) if base.decode(ids) == t]
    return round_trip(name, extended.encode_batch, extended.decode, kept)


def hf_round_trip(name: str, tokenizer, texts: list[str]) -> int:
    """`round_trip` for a `tokenizers.Tokenizer` (no special tokens added)."""
    return round_trip(name, lambda ts: [e.ids for e in tokenizer.encode_batch(ts, add_special_tokens=False)],
                      lambda ids: tokenizer.decode(ids, skip_special_tokens=False), texts)


def same_counts(counts: Mapping[str, Hashable], what: str) -> Hashable:
    """Every entry counted the same (e.g. each model scored the same characters); returns that count."""
    values = set(counts.values())
    require(len(values) == 1, f"{what} differ: {dict(counts)}")
    return values.pop()


def same_text_scored(results: Mapping[str, Mapping], what: str = "eval") -> None:
    """Every model of every `vocabx eval` result (name -> its to_dict()) scored the same characters of each corpus
    and instruction set, so their bits/char compare."""
    chars: dict[str, dict[str, int]] = {}
    for name, result in results.items():
        for r in result.get("rows", []):
            if r.get("eval_chars") is not None:
                chars.setdefault(r["corpus"], {})[f"{name}/{r['tokenizer']}"] = r["eval_chars"]
        for r in result.get("instructions") or []:
            chars.setdefault(r["set"], {})[f"{name}/{r['model']}"] = r["answer_chars"]
    for corpus, counts in chars.items():
        same_counts(counts, f"{what}: characters scored on {corpus}")


def never_longer(name: str, before: Iterable[int], after: Iterable[int]) -> None:
    """No text got more tokens after the extension than before."""
    longer = sum(a > b for b, a in zip(before, after))
    require(longer == 0, f"{name} made {longer} texts longer than the base did")

