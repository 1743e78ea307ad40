"""The guarantees an extension must keep, checked on any base/extended pair: old ids kept, lossless, new terms
reachable, never longer, fast and slow tokenizers agreeing. `vocabx extend` runs them before it saves; `vocabx
verify` runs them on any two tokenizers.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vocabx.adapters.base import TokenizerAdapter
from vocabx.extend.probes import PROBE_TEXTS, random_unicode

log = logging.getLogger(__name__)

MAX_EXAMPLES = 5  # failing examples kept per check: enough to debug, small enough for a manifest


@dataclass
class Check:
    """One guarantee: passed (None when it could not apply), a one-line summary, and figures."""

    name: str
    passed: bool | None
    summary: str
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass
class VerifyReport:
    """All checks of one pair; `ok` is False when any applicable check failed."""

    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.passed is not False for c in self.checks)

    def get(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)

    def as_dict(self) -> dict[str, Any]:
        return {c.name: {"passed": c.passed, "summary": c.summary, **c.figures} for c in self.checks}


@dataclass
class VerifyInputs:
    """What to check a pair on. Terms map a new id to the text it must encode to on its own."""

    domain: Sequence[str] = ()
    general: Mapping[str, Sequence[str]] = field(default_factory=dict)  # corpus name -> documents
    terms: dict[int, str] = field(default_factory=dict)
    extended_dir: Path | None = None  # a tokenizer directory: AutoTokenizer loads it for the fast/slow check
    n_random: int = 300
    seed: int = 0


def verify(base: TokenizerAdapter, extended: TokenizerAdapter, inputs: VerifyInputs) -> VerifyReport:
    """Run every check; nothing is raised for a failure, the report says which failed and how."""
    general_all = [t for docs in inputs.general.values() for t in docs]
    random_texts = random_unicode(inputs.n_random, inputs.seed)
    samples = [*PROBE_TEXTS, *random_texts, *inputs.domain[:500], *general_all[:500]]
    checks = [
        check_ids(base, extended),
        check_lossless(base, extended, samples),
        check_reachable(extended, inputs.terms, inputs.domain),
        check_never_longer(base, extended, {"domain": inputs.domain, **inputs.general, "probes": PROBE_TEXTS,
                                            "random_unicode": random_texts}),
        check_fast_slow(extended, inputs.extended_dir, samples, base),
    ]
    for c in checks:
        log.info("%s: %s", c.name, c.summary)
    return VerifyReport(checks)


def vocab_of(adapter: TokenizerAdapter) -> dict[int, str]:
    """id -> token string, added tokens included (ids may have gaps, e.g. Qwen's specials above the merges)."""
    tokenizer = getattr(adapter, "tokenizer", None)
    if tokenizer is not None and hasattr(tokenizer, "get_vocab"):
        return {i: t for t, i in tokenizer.get_vocab(with_added_tokens=True).items()}
    return {i: t for i in range(adapter.vocab_size) if (t := adapter.id_to_token(i)) is not None}


def new_ids(base: TokenizerAdapter, extended: TokenizerAdapter) -> list[int]:
    """Ids the extended tokenizer has and the base does not, ascending."""
    old = vocab_of(base)
    return sorted(i for i in vocab_of(extended) if i not in old)


def check_ids(base: TokenizerAdapter, extended: TokenizerAdapter) -> Check:
    """Every old token keeps its id and string; new ids follow the highest old id without gaps."""
    old, new = vocab_of(base), vocab_of(extended)
    changed = [i for i, t in old.items() if new.get(i) != t]
    added = sorted(set(new) - set(old))
    top = max(old) if old else -1
    contiguous = added == list(range(top + 1, top + 1 + len(added)))
    passed = not changed and contiguous
    summary = (
        f"{len(old)} old ids unchanged; {len(added)} new ids {top + 1}..{top + len(added)}"
        if passed
        else f"{len(changed)} old ids changed or lost; new ids contiguous after {top}: {contiguous}"
    )
    examples = [f"{i}: {old[i]!r} -> {new.get(i)!r}" for i in changed[:MAX_EXAMPLES]]
    return Check("ids_kept", passed, summary, {"changed": len(changed), "new": len(added), "examples": examples})


def check_lossless(base: TokenizerAdapter, extended: TokenizerAdapter, texts: Sequence[str]) -> Check:
    """decode(encode(x)) == x wherever the base itself round-trips x; the texts the base itself loses (a
    normalizing or byte-less base cannot be held to more than itself) are counted apart, as the base's losses."""
    texts = list(texts)
    base_ok = [base.decode(ids) == t for t, ids in zip(texts, base.encode_batch(texts))]
    applicable = [t for t, ok in zip(texts, base_ok) if ok]
    base_lost = [t[:80] for t, ok in zip(texts, base_ok) if not ok]
    failures = [t[:80] for t, ids in zip(applicable, extended.encode_batch(applicable)) if extended.decode(ids) != t]
    passed = not failures if applicable else None
    summary = f"{len(applicable) - len(failures)}/{len(applicable)} texts round-trip"
    if base_lost:
        summary += f" ({len(base_lost)} more the base itself does not round-trip, left out)"
    return Check(
        "lossless", passed, summary,
        {"texts": len(applicable), "failed": len(failures), "examples": failures[:MAX_EXAMPLES],
         "base_losses": len(base_lost), "base_loss_examples": base_lost[:MAX_EXAMPLES]},
    )


# Left contexts for the reachability probe: sentence end, comma (CJK and Latin), a space, a newline.
REACH_CONTEXTS = ("。", "，", ", ", " ", "\n")


def check_reachable(extended: TokenizerAdapter, terms: dict[int, str], domain: Sequence[str]) -> Check:
    """Each added term's token is produced: by the term on its own, or in running domain text.

    On its own, a byte-level term encodes to exactly its token; a SentencePiece piece for a mid-word term
    (`高血压`, no `▁`) shows up after the dummy-prefix `▁`, or only in running text, so both count. A neighbour's
    merge can take a term's first or last bytes in running text, so domain production is also reported."""
    if not terms:
        return Check("reachable", None, "no added terms to check")
    items = list(terms.items())
    # On its own, and after a few neutral left contexts (a mid-word SentencePiece piece never starts a text).
    probes = [[text for _, text in items]] + [[ctx + text for _, text in items] for ctx in REACH_CONTEXTS]
    encoded = [set().union(*found) for found in zip(*(extended.encode_batch(p) for p in probes))]
    produced: set[int] = set()
    figures: dict[str, Any] = {"terms": len(items)}
    if domain:
        sample = list(domain[:20000])
        produced = {i for ids in extended.encode_batch(sample) for i in ids}
        blob = "\n".join(sample)
        # A produced token proves its term occurs; only the others need a (slow) substring search.
        occurring = [i for i, text in items if i in produced or (text.strip() and text.strip() in blob)]
        figures["occurring_in_domain"] = len(occurring)
        figures["produced_in_domain"] = sum(1 for i in occurring if i in produced)
    unreachable = [text for (i, text), ids in zip(items, encoded) if i not in ids and i not in produced]
    figures.update(unreachable=len(unreachable), examples=unreachable[:MAX_EXAMPLES])
    summary = f"{len(items) - len(unreachable)}/{len(items)} added terms produce their token"
    if "occurring_in_domain" in figures:
        summary += f"; {figures['produced_in_domain']}/{figures['occurring_in_domain']} produced in domain text"
    return Check("reachable", not unreachable, summary, figures)


def check_never_longer(base: TokenizerAdapter, extended: TokenizerAdapter, corpora: dict[str, Sequence[str]]) -> Check:
    """No document tokenizes into more tokens than before; totals and the worst document per corpus."""
    figures: dict[str, Any] = {}
    longer_total = 0
    for name, docs in corpora.items():
        if not docs:
            continue
        before = [len(ids) for ids in base.encode_batch(list(docs))]
        after = [len(ids) for ids in extended.encode_batch(list(docs))]
        deltas = [a - b for a, b in zip(after, before)]
        worst = max(range(len(deltas)), key=lambda k: deltas[k])
        longer = sum(d > 0 for d in deltas)
        longer_total += longer
        figures[name] = {
            "docs": len(docs), "tokens_before": sum(before), "tokens_after": sum(after), "docs_longer": longer,
            "worst_delta": deltas[worst], "worst_doc": docs[worst][:60],
        }
    summary = "no document got longer" if not longer_total else f"{longer_total} documents got longer"
    return Check("never_longer", longer_total == 0 if figures else None, summary, figures)


def check_fast_slow(extended: TokenizerAdapter, directory: Path | None, texts: Sequence[str],
                    base: TokenizerAdapter | None = None) -> Check:
    """The tokenizer vocabx uses and `transformers.AutoTokenizer.from_pretrained(directory)` give the same ids,
    wherever the base's own two forms agree: a SentencePiece model whose pieces tie in score (Chinese-LLaMA's
    merge gives 17,953 pieces score 0) breaks ties by position, which no tokenizer.json merge order can copy, so
    texts where the base's converted tokenizer.json already differs from its .model are counted apart."""
    if directory is None or not Path(directory).is_dir():
        return Check("fast_slow_agree", None, "not a tokenizer directory; nothing for AutoTokenizer to load")
    from transformers import AutoTokenizer

    try:
        auto = AutoTokenizer.from_pretrained(str(directory))
    except Exception as exc:  # noqa: BLE001 - any loader failure means OUT is not usable by transformers: that is the finding
        return Check("fast_slow_agree", False, f"AutoTokenizer cannot load {directory}: {str(exc)[:200]}")
    sample = list(texts)
    random.Random(0).shuffle(sample)
    sample = sample[:1000]
    twin = converted_twin(base) if base is not None else None
    base_differs = 0
    if twin is not None:
        agree = [a == b for a, b in zip(base.encode_batch(sample), twin.encode_batch(sample))]  # type: ignore[union-attr]
        base_differs = agree.count(False)
        sample = [t for t, ok in zip(sample, agree) if ok]
    theirs = auto(sample, add_special_tokens=False)["input_ids"] if sample else []
    mismatches = [t[:80] for t, a, b in zip(sample, theirs, extended.encode_batch(sample)) if list(a) != b]
    summary = f"{len(sample) - len(mismatches)}/{len(sample)} texts give the same ids via {type(auto).__name__}"
    if base_differs:
        summary += f" ({base_differs} texts where the base's own tokenizer.json and .model differ, left out)"
    return Check("fast_slow_agree", not mismatches, summary,
                 {"texts": len(sample), "mismatched": len(mismatches), "examples": mismatches[:MAX_EXAMPLES],
                  "base_forms_differ": base_differs})


def converted_twin(base: TokenizerAdapter) -> TokenizerAdapter | None:
    """The base as the tokenizer.json vocabx writes for its family (SentencePiece models), else None: the form
    `transformers` would use, to tell the base's own fast/slow differences from the extension's."""
    from vocabx.adapters import HFTokenizerAdapter
    from vocabx.adapters.sentencepiece import SentencePieceAdapter

    if not isinstance(base, SentencePieceAdapter) or base.family != "sentencepiece-bpe":
        return None
    from vocabx.extend.sentencepiece import sentencepiece_to_json

    return HFTokenizerAdapter(sentencepiece_to_json(base.model_bytes), f"{base.name}.json", base.source)
