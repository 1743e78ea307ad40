"""`logit-match`: output rows that give each new token about the probability the base model gave its pieces,
in the contexts where the token actually occurs.

For a new token t = p1 p2 .. pk the base model assigns the text P(p1|h) * P(p2..pk | p1, h). We set
    w_t = w_p1 + c_t * b
c_t: the mean over t's occurrences in domain text of sum_{j>=2} log P(p_j | context, p1..p_{j-1}) under the base
model (terms never seen take the median c of seen terms with as many pieces); b: a "bias direction" fitted by
ridge least squares so that h . b ~ 1 for the hidden states h that feed the head on that text. Then
logit_t(h) ~ logit_p1(h) + c_t, i.e. P(t|h) ~ P(p1 .. pk | h), instead of the context-free logit of `mean`.

Measured first with context-free c_t (the pieces after a bare start token): continuations of byte fragments out
of context cost ~20 nats, far below their in-context cost, and the new tokens became nearly unpredictable. Hence
the corpus. It loads the base model and runs it over `max_tokens` of the text: for models that fit in memory.

Why it loses to plain `subword-first` output rows (bench/results/model_init.md): on SmolLM2 the new tokens' own
targets already cost about what the base model paid for their pieces under subword rows; the loss comes from the
old tokens, through the input rows (the context after a new token is worse) and through probability mass the new
tokens take from them. Matching each new logit to log P(pieces) on the contexts where the term occurs ignores the
contexts where it does not, and anchoring on the first piece (for byte-level Chinese, a byte shared by thousands
of terms) leaves terms that share it with the same context-dependent logit, apart from a constant. Kept as an
option and an ablation; prefer `subword-first`.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from vocabx.adapters.base import TokenizerAdapter
from vocabx.eval.bpc import windows
from vocabx.model.init import row_mean
from vocabx.quiet import quiet_loading

if TYPE_CHECKING:
    from transformers import PreTrainedModel

log = logging.getLogger(__name__)

RIDGE = 1e-3  # relative to the mean eigenvalue of H^T H: keeps b small along directions the states never use
FIT_STATES = 16384  # hidden states used to fit b
WINDOW = 512


def logit_match_rows(
    model_dir: Path,
    out_old: torch.Tensor,
    pieces: dict[int, list[int]],
    base: TokenizerAdapter,
    extended: TokenizerAdapter,
    corpus: Sequence[str],
    *,
    start_id: int | None,
    max_tokens: int = 20000,
    progress: bool = False,
) -> tuple[torch.Tensor, dict[str, float | int]]:
    """Output rows (float32) for the new ids in `pieces` (new id -> base piece ids, in id order), and counts."""
    from transformers import AutoModelForCausalLM

    with quiet_loading():
        model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype="auto").eval()
    docs = _aligned_docs(corpus, base, extended, pieces, max_tokens)
    logps, states = _score(model, docs, start_id, progress)
    del model
    per_term = _continuations(docs, logps, pieces)
    cont, unseen = _fill_unseen(per_term, pieces)
    b, rmse = _fit_bias_direction(states)
    ids = list(pieces)
    first = torch.tensor([pieces[i][0] if pieces[i] else -1 for i in ids])
    ok = first >= 0
    c = torch.tensor([cont[i] for i in ids], dtype=torch.float32)
    rows = row_mean(out_old).expand(len(ids), -1).clone()
    rows[ok] = out_old[first[ok]].float() + c[ok, None] * b
    return rows, {
        "logit_match": int(ok.sum()),
        "logit_match_seen_in_corpus": len(per_term),
        "logit_match_unseen_median": unseen,
        "fallback_mean": int((~ok).sum()),
        "logit_match_corpus_tokens": sum(len(d[0]) for d in docs),
        "logit_match_mean_shift_nats": round(float(c[ok].mean()) if ok.any() else 0.0, 4),
        "logit_match_fit_rmse": round(rmse, 4),
    }


def _aligned_docs(
    corpus: Sequence[str], base: TokenizerAdapter, extended: TokenizerAdapter, pieces: dict[int, list[int]], budget: int
) -> list[tuple[list[int], list[tuple[int, int, int]]]]:
    """Per text: its base ids, and the (new id, start, length) spans where the extended tokenizer put a new token.

    The extension only adds merges on top of the base ones, so each extended token covers a run of base tokens;
    a text where the runs do not line up is left out.
    """
    docs, used = [], 0
    for text in corpus:
        if used >= budget:
            break
        b_ids, spans, pos = base.encode(text)[: budget - used], [], 0
        for tok in extended.encode(text):
            run = pieces.get(tok, [tok])
            if b_ids[pos : pos + len(run)] != run:
                break
            if tok in pieces:
                spans.append((tok, pos, len(run)))
            pos += len(run)
            if pos >= len(b_ids):
                break
        docs.append((b_ids[:pos], spans))
        used += pos
    return docs


@torch.inference_mode()
def _score(model: PreTrainedModel, docs: list, start_id: int | None, progress: bool) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Per doc: log P(base id j | ids before j) for every j (NaN where unscored); and head-input states."""
    captured: list[torch.Tensor] = []
    hook = model.get_output_embeddings().register_forward_hook(lambda m, args, out: captured.append(args[0]))
    prefix = [start_id] if start_id is not None else []
    out, states = [], []
    try:
        for ids, _ in _progress(docs, progress):
            full, lp = prefix + ids, torch.full((len(ids),), float("nan"), dtype=torch.float64)
            scored = 1  # full position 0 is the start token (or the unscored first id): never a target
            for win, n in windows(full, WINDOW, WINDOW // 2) if full else []:
                x = torch.tensor([win])
                logp = torch.log_softmax(model(input_ids=x).logits[0].double(), dim=-1)
                t = torch.arange(len(win) - 1 - n, len(win) - 1)
                lp[scored - len(prefix) : scored + n - len(prefix)] = logp[t, x[0, t + 1]]
                states.append(captured.pop()[0].float())
                scored += n
            out.append(lp)
    finally:
        hook.remove()
    pool = torch.cat(states) if states else torch.zeros(0, 1)
    return out, pool[torch.randperm(pool.shape[0])[:FIT_STATES]]


def _continuations(docs: list, logps: list[torch.Tensor], pieces: dict[int, list[int]]) -> dict[int, float]:
    """Mean in-context log P(p2..pk | context, p1) per new id seen in the text."""
    seen: dict[int, list[float]] = defaultdict(list)
    for (_, spans), lp in zip(docs, logps):
        for tok, start, length in spans:
            value = float(lp[start + 1 : start + length].sum())
            if not math.isnan(value):  # NaN: the first token of a text without a start token
                seen[tok].append(value)
    return {tok: sum(v) / len(v) for tok, v in seen.items()}


def _fill_unseen(per_term: dict[int, float], pieces: dict[int, list[int]]) -> tuple[dict[int, float], int]:
    """Unseen ids take the median continuation of seen ids with the same number of pieces (else of all)."""
    by_len: dict[int, list[float]] = defaultdict(list)
    for tok, c in per_term.items():
        by_len[len(pieces[tok])].append(c)
    overall = statistics.median(per_term.values()) if per_term else 0.0
    medians = {n: statistics.median(values) for n, values in by_len.items()}
    cont, unseen = dict(per_term), 0
    for tok, ps in pieces.items():
        if tok not in cont:
            cont[tok] = 0.0 if len(ps) <= 1 else medians.get(len(ps), overall)
            unseen += 1
    return cont, unseen


def _fit_bias_direction(states: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Ridge least squares for b with states @ b ~ 1; returns b and the RMSE of states @ b around 1."""
    h = states.double()
    gram = h.T @ h
    lam = RIDGE * float(gram.diagonal().mean())
    b = torch.linalg.solve(gram + lam * torch.eye(gram.shape[0], dtype=h.dtype), h.T @ torch.ones(h.shape[0], dtype=h.dtype))
    rmse = float(((h @ b - 1) ** 2).mean().sqrt())
    log.info("logit-match: bias direction fitted on %d states, rmse of h.b around 1 = %.3f", h.shape[0], rmse)
    return b.float(), rmse


def _progress(items: list, enabled: bool):
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc="logit-match: base log-probs", unit="doc")
