"""`evaluate(config)`: measure a model (and optionally its base) on held-out domain and general text: bits per
character, chars/token, context gain, decoding speed, new-token usage and under-trained rows, and on held-out
instructions (answer bits/char, greedy answers side by side); write eval.json."""

from __future__ import annotations

import gc
import logging
import math
import time
from collections import Counter
from pathlib import Path
from typing import Any

import torch

from vocabx.eval.bpc import BPCResult, bits_per_character
from vocabx.eval.config import EvalConfig
from vocabx.eval.context import ContextGain, context_gain
from vocabx.eval.curves import read_curves
from vocabx.eval.decode_speed import domain_prompts, measure_decode
from vocabx.eval.instructions import InstructionSet, answer_bpc, greedy_answers, prompt_text, read_instructions
from vocabx.eval.loading import EvalModel, TokenizerOnly, load_base, load_eval_model
from vocabx.eval.newrows import find_init_reference, new_row_report
from vocabx.eval.result import CorpusText, EvalResult, SideResult, instruction_records, side_records
from vocabx.eval.usage import CRITERION, TokenCost, emission_share, emitted_new, worst
from vocabx.progress import step

log = logging.getLogger(__name__)

MOST_EMITTED = 10  # new tokens listed by how often the model generated them


def read_heldout(config: EvalConfig) -> list[CorpusText]:
    """Every --domain and --general corpus, read within max_docs/max_chars; labelled `NAME=SPEC` or by file name."""
    from vocabx.bench.labels import corpus_label, split_label, unique_labels
    from vocabx.corpus import CorpusConfig, open_corpus

    parsed = [(role, *split_label(text)) for role, specs in (("domain", config.domain), ("general", config.general))
              for text in specs]
    labels = unique_labels([name or corpus_label(spec) for _, name, spec in parsed])
    out = []
    for label, (role, _, spec) in zip(labels, parsed):
        field_flag = "--text-field {}" if role == "domain" else "--general SPEC#{}"
        flags = (("text_field", field_flag), ("max_docs", "--max-docs {}"), ("max_chars", "--max-chars {}"))
        corpus = open_corpus([spec], CorpusConfig(text_field=config.text_field, max_docs=config.max_docs,
                                                  max_chars=config.max_chars, flags=flags))
        texts = list(corpus.texts())  # an empty corpus raises CorpusError naming it and the likely fix
        out.append(CorpusText(label, spec, role, texts, {"skipped": corpus.stats.skipped,
                                                        "stopped_at": corpus.stats.stopped_at}))
    return out


def read_instruction_sets(config: EvalConfig) -> list[InstructionSet]:
    """Every --general-instructions and --domain-instructions set, labelled `NAME=SPEC` or by file name."""
    from vocabx.bench.labels import corpus_label, split_label, unique_labels

    parsed = [(role, *split_label(text)) for role, specs in (("general", config.general_instructions),
                                                             ("domain", config.domain_instructions)) for text in specs]
    labels = unique_labels([name or corpus_label(spec) for _, name, spec in parsed])
    return [read_instructions(label, spec, role, config.instruction_docs)
            for label, (role, _, spec) in zip(labels, parsed)]


def measure_instructions(em: EvalModel, side: SideResult, sets: list[InstructionSet], config: EvalConfig,
                         progress: bool = False) -> None:
    """Answer bits/char on every instruction set, and greedy answers to the first general set's prompts."""
    for item in sets:
        with step(f"{em.label}: answer bits/char on {item.label} ({len(item.conversations)} conversations)", progress):
            side.instructions[item.label] = answer_bpc(em.model, em.tokenizer, item.conversations, em.context, em.label)
        log.info("%s on %s: answers %.4f bits/char", em.label, item.label, side.instructions[item.label].bpc)
    general = next((item for item in sets if item.role == "general"), None)
    if general is not None and config.answer_prompts:
        prompts = general.conversations[: config.answer_prompts]
        with step(f"{em.label}: greedy answers to {len(prompts)} prompts of {general.label}", progress):
            side.answers = greedy_answers(em.model, em.tokenizer, prompts, config.answer_tokens, em.label)


def score(em: EvalModel, corpus: CorpusText, config: EvalConfig, progress: bool, on_scored: Any = None) -> BPCResult:
    """Bits per character of `em` on a corpus, windows of min(max_length, context) tokens overlapping by half."""
    length = min(config.max_length, em.context)
    return bits_per_character(em.model, em.encode, corpus.texts, start_id=em.start_id, max_length=length,
                              stride=max(1, length // 2), batch_size=config.batch_size, progress=progress,
                              on_scored=on_scored, desc=f"{em.label}: bits/char on {corpus.label}")


def measure_side(
    em: EvalModel, corpora: list[CorpusText], config: EvalConfig, progress: bool, cost: TokenCost | None = None,
    sets: list[InstructionSet] | None = None,
) -> SideResult:
    """Scores on every corpus (new-token costs collected on domain text), the instruction sets, decoding speed."""
    scores = {c.label: score(em, c, config, progress, cost if c.role == "domain" else None) for c in corpora}
    for c in corpora:
        log.info("%s on %s: %.4f bits/char, %.3f chars/token", em.label, c.label, scores[c.label].bpc,
                 scores[c.label].chars_per_token)
    side = SideResult(em.label, em.spec, em.context, scores, has_model=True, vocab=len(em.tokenizer))
    measure_instructions(em, side, sets or [], config, progress)
    domain_texts = [t for c in corpora if c.role == "domain" for t in c.texts]
    prompts = domain_prompts(domain_texts or [t for c in corpora for t in c.texts], config.decode_prompts,
                             config.prompt_chars)
    if config.decode_tokens > 0 and prompts:
        side.decode = measure_decode(em.model, em.encode, em.decode, prompts, config.decode_tokens,
                                     start_id=em.start_id, eos_id=em.tokenizer.eos_token_id, progress=progress,
                                     desc=f"{em.label}: decoding speed")
    return side


def tokenizer_side(base: TokenizerOnly, corpora: list[CorpusText], context: int) -> SideResult:
    """A tokenizer-only base: token counts (for chars/token and context gain) at the model's context."""
    scores = {}
    for c in corpora:
        tokens = sum(len(base.encode(t)) for t in c.texts)
        scores[c.label] = BPCResult(bits=math.nan, chars=c.chars, tokens=tokens, docs=len(c.texts))
    return SideResult(base.label, base.spec, context, scores, has_model=False, vocab=base.adapter.vocab_size)


def usage_report(em: EvalModel, side: SideResult, cost: TokenCost, config: EvalConfig,
                 domain_bpc: float | None, domain_tokens: int = 0) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """New-token emission in the generated text, their cost in the domain text, the under-trained rows (the
    worst K in the summary; every new row in the second value)."""
    assert em.new_start is not None
    generated = side.decode.ids if side.decode else []
    emitted = emitted_new(generated, em.new_start)
    ref = Path(config.init_reference).expanduser().resolve() if config.init_reference else find_init_reference(em.path)
    stats = new_row_report(em, cost, emitted, domain_bpc, ref)
    flagged = [s for s in stats if s.flags]
    by_id = {s.id: s for s in stats}
    texts = side.decode.texts if side.decode else []
    return {
        "new_start": em.new_start, "new_tokens": len(stats),
        "generated_tokens": sum(len(g) for g in generated),
        "new_token_share": emission_share((i for g in generated for i in g), em.new_start),
        # What the model would emit if it wrote its own text in the canonical (extended) tokenization, and what
        # held-out domain text holds: a share far below these means the new tokens are not being used.
        "canonical_new_token_share": emission_share((i for t in texts for i in em.encode(t)), em.new_start),
        "reference_new_token_share": sum(cost.count.values()) / domain_tokens if domain_tokens else math.nan,
        "distinct_emitted": len(emitted),
        "most_emitted": [{"id": i, "text": by_id[i].text, "count": n} for i, n in emitted.most_common(MOST_EMITTED)],
        "domain_new_token_occurrences": sum(cost.count.values()), "distinct_in_domain": len(cost.count),
        "init_reference": str(ref) if ref else None,
        "flagged": len(flagged), "flag_counts": dict(Counter(f for s in stats for f in s.flags)),
        "criterion": CRITERION,
        "under_trained": [s.as_dict() for s in worst(stats, config.top_k)],
    }, [s.as_dict() for s in stats]


def _model_pass(
    config: EvalConfig, corpora: list[CorpusText], progress: bool, sets: list[InstructionSet],
) -> tuple[SideResult, dict[str, Any] | None, list[dict[str, Any]], Path]:
    em = load_eval_model(config.model, config.model_label, config.new_from, progress)
    cost = TokenCost(em.new_start) if em.new_start is not None else None
    side = measure_side(em, corpora, config, progress, cost, sets)
    usage: dict[str, Any] | None = None
    new_rows: list[dict[str, Any]] = []
    if em.new_start is not None and cost is not None:
        domain = [side.scores[c.label] for c in corpora if c.role == "domain"]
        domain_bpc = sum(s.bits for s in domain) / sum(s.chars for s in domain) if domain else None
        with step(f"{em.label}: new-token usage and rows", progress):
            usage, new_rows = usage_report(em, side, cost, config, domain_bpc, sum(s.tokens for s in domain))
    else:
        log.info("%s: no new tokens known (no base_vocab_size in its manifest, no --new-from)", em.path)
    return side, usage, new_rows, em.path


def _base_pass(config: EvalConfig, corpora: list[CorpusText], context: int, progress: bool,
               sets: list[InstructionSet]) -> SideResult | None:
    """--base measured like MODEL, or only tokenized (at MODEL's context) when it is a tokenizer."""
    if not config.base:
        return None
    base = load_base(config.base, config.base_label, progress)
    if isinstance(base, TokenizerOnly):
        return tokenizer_side(base, corpora, context)
    return measure_side(base, corpora, config, progress, sets=sets)


def answer_records(sides: list[SideResult], sets: list[InstructionSet], config: EvalConfig) -> list[dict[str, Any]]:
    """Each general prompt with every model's greedy answer, side by side."""
    general = next((item for item in sets if item.role == "general"), None)
    if general is None or not config.answer_prompts:
        return []
    conversations = general.conversations[: config.answer_prompts]
    return [{"set": general.label, "prompt": prompt_text(messages),
             "answers": {s.label: s.answers[k] for s in sides if k < len(s.answers)}}
            for k, messages in enumerate(conversations)]


def _gains(model: SideResult, base: SideResult | None, corpora: list[CorpusText]) -> dict[str, ContextGain]:
    if base is None:
        return {}
    return {c.label: context_gain(model.context, model.scores[c.label].chars_per_token, base.context,
                                  base.scores[c.label].chars_per_token) for c in corpora}


def evaluate(config: EvalConfig, progress: bool = False) -> EvalResult:
    """Run every measurement of `config`, one model in memory at a time; write --out when given."""
    threads = torch.get_num_threads()
    if config.threads is not None:
        # Single-token decode steps are latency-bound: on an oversubscribed host, OpenMP threads waiting for
        # each other can make them many times slower.
        torch.set_num_threads(config.threads)
    try:
        return _evaluate(config, progress)
    finally:
        torch.set_num_threads(threads)


def _evaluate(config: EvalConfig, progress: bool) -> EvalResult:
    from vocabx.bench.labels import split_label
    from vocabx.outputs import check_output_dir

    started = time.perf_counter()
    corpus_specs = [split_label(text)[1] for text in (*config.domain, *config.general, *config.general_instructions,
                                                      *config.domain_instructions)]
    inputs = [s for s in (config.model, config.base, config.init_reference, *corpus_specs) if s]
    out = check_output_dir(config.out, force=config.force, inputs=inputs) if config.out else None
    with step("reading the held-out text", progress):
        corpora = read_heldout(config)
        sets = read_instruction_sets(config)
    model_side, usage, new_rows, model_dir = _model_pass(config, corpora, progress, sets)
    gc.collect()  # the model's tensors go before the base's arrive
    base_side = _base_pass(config, corpora, model_side.context, progress, sets)
    gains = _gains(model_side, base_side, corpora)
    rows = side_records(model_side, corpora, gains) + (side_records(base_side, corpora, {}) if base_side else [])
    if usage is not None and model_side.decode is not None:
        first = next((r for r in rows if r["tokenizer"] == model_side.label and r["role"] == "domain"), None)
        if first is not None:
            first["new_token_share"] = usage["new_token_share"]
    curves = read_curves(model_dir)
    sides = [s for s in (model_side, base_side) if s is not None]
    result = EvalResult(
        model=str(model_dir), base=config.base, corpora=[c.describe() for c in corpora], rows=rows,
        context_gain={k: g.as_dict() for k, g in gains.items()},
        decode={s.label: s.decode.as_dict() for s in sides if s.decode is not None},
        usage=usage, curves=curves.as_dict() if curves else None, settings=_settings(config, model_side),
        instructions=instruction_records(sides, sets), answers=answer_records(sides, sets, config),
        new_rows=new_rows, seconds=round(time.perf_counter() - started, 2))
    if out is not None:
        from vocabx.eval.writer import write_eval

        with step(f"writing {out}", progress):
            write_eval(result, out, config, curves, [c.spec for c in corpora] + [item.spec for item in sets])
    return result


def _settings(config: EvalConfig, model: SideResult) -> dict[str, Any]:
    """How the figures were measured, for the reader of eval.json."""
    length = min(config.max_length, model.context)
    return {"window_tokens": length, "stride_tokens": max(1, length // 2), "max_docs": config.max_docs,
            "max_chars": config.max_chars, "decode_tokens": config.decode_tokens,
            "decode_prompts": config.decode_prompts, "prompt_chars": config.prompt_chars, "dtype": "float32",
            "threads": torch.get_num_threads(),
            "decode_mode": "greedy, batch 1, exactly decode_tokens new tokens per prompt (EOS suppressed)",
            "bits_per_char": "total NLL in bits / characters; each text scored after one start token"}
