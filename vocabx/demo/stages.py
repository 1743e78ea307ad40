"""The stages of `vocabx demo`, one function each: split, analyze, extend, distill, train, eval (trained and untrained),
bench, examples. Each calls one library API (never the CLI), writes into OUT/<dir>, and returns a small summary
for the report."""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vocabx.demo.config import DemoConfig
from vocabx.demo.split import TEXT_FIELD, Split, split_corpus
from vocabx.outputs import MANIFEST_NAME, atomic_output_dir, build_manifest, write_json

log = logging.getLogger(__name__)

FIELD_FLAGS = {"domain": "--text-field {}", "general": "--general SPEC#{}"}  # how the demo names each corpus's field

# stage name -> its directory under OUT, in the order the stages run
STAGE_DIRS: dict[str, str] = {
    "split": "data", "analyze": "analysis", "extend": "model", "distill": "distill", "train": "train", "eval": "eval",
    "eval_initialized": "eval-initialized", "bench": "bench", "examples": "examples",
}
TRAINED_ONLY = ("distill", "train", "eval_initialized")  # stages that run only when the demo trains
# model labels shared by eval and bench, so that eval.json folds into bench.json row by row
BASE_LABEL, EXTENDED_LABEL, INITIALIZED_LABEL = "base", "extended", "initialized"
QUICK_EVAL_DOCS = 8  # --quick scores fewer held-out documents and decodes from one prompt
TOP_TERMS = 12


@dataclass
class Workspace:
    """What the stages share: the config, OUT, the split files, the labels of the two corpora, and the run's clock
    (`total_s`: the total the report quotes, set when it is written)."""

    config: DemoConfig
    out: Path
    progress: bool = False
    splits: dict[str, Split] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # "domain"/"general" -> corpus label in reports
    started: float = field(default_factory=time.perf_counter)
    total_s: float | None = None

    def dir(self, stage: str) -> Path:
        return self.out / STAGE_DIRS[stage]

    def corpus_specs(self, part: str) -> tuple[str, ...]:
        """`LABEL=PATH` of the domain and general split files of `part` (train or heldout)."""
        return tuple(f"{self.labels[r]}={getattr(self.splits[r], part)}" for r in ("domain", "general"))

    @property
    def evaluated_model(self) -> Path:
        """The model eval measures: the trained one, or the extended one as initialized."""
        return self.dir("train") if self.config.trains else self.dir("extend")


def corpus_labels(domain: tuple[str, ...], general: tuple[str, ...]) -> dict[str, str]:
    """Short names of the two corpora for the report (`legal-zh`, `news-zh`); generic ones when they clash."""
    from vocabx.bench.labels import corpus_label

    names = {role: _label(corpus_label(specs[0])) if len(specs) == 1 else role
             for role, specs in (("domain", domain), ("general", general))}
    return names if names["domain"] != names["general"] else {"domain": "domain", "general": "general"}


def _label(text: str) -> str:
    return re.sub(r"[^\w.+-]", "-", text).strip("-") or "corpus"


def run_split(ws: Workspace) -> dict[str, Any]:
    """Hold out every Nth document of both corpora; the JSONL files feed every later stage."""
    c = ws.config
    ws.labels = corpus_labels(c.corpus, c.general)
    with atomic_output_dir(ws.dir("split")) as tmp:
        for role, specs in (("domain", c.corpus), ("general", c.general)):
            ws.splits[role] = split_corpus(role, specs, tmp, every=c.holdout_every, text_field=c.text_field,
                                           max_chars=c.max_chars, field_flag=FIELD_FLAGS[role])
        summary = {role: s.as_dict() for role, s in ws.splits.items()}
        outputs = sorted(p.name for p in tmp.iterdir())
        rule = {"every": c.holdout_every, "max_chars": c.max_chars, "rule": "index % every == 0 is held out"}
        write_json(tmp / MANIFEST_NAME, build_manifest("demo split", rule, inputs=[*c.corpus, *c.general],
                                                       counts=summary, outputs=[*outputs, MANIFEST_NAME],
                                                       deterministic=True))
    for split in ws.splits.values():  # the files now live in OUT/data, not in the temporary directory
        split.train, split.heldout = ws.dir("split") / split.train.name, ws.dir("split") / split.heldout.name
    return {"labels": ws.labels, **summary}


def run_analyze(ws: Workspace) -> dict[str, Any]:
    """Mine terms from the domain training part against the general training part."""
    from vocabx.analyze.api import AnalyzeConfig, analyze

    s = ws.splits
    config = AnalyzeConfig(corpus=(str(s["domain"].train),), reference=(str(s["general"].train),),
                           tokenizer=ws.config.model, text_field=TEXT_FIELD, out=str(ws.dir("analyze")))
    result = analyze(config, progress=ws.progress)
    terms = [t["term"] for t in result.top_terms[:TOP_TERMS]]
    return {"candidates": result.counts.get("candidates"), "terms_written": result.counts.get("terms_written"),
            "top_terms": terms}


def run_extend(ws: Workspace) -> dict[str, Any]:
    """Grow the model's tokenizer and embeddings with up to --budget entries from the analysis."""
    from vocabx.extend.api import ExtendConfig, extend

    config = ExtendConfig(base=ws.config.model, terms=str(ws.dir("analyze")), budget=ws.config.budget,
                          text_field=TEXT_FIELD, general=(str(ws.splits["general"].train),),
                          out=str(ws.dir("extend")))
    result = extend(config, progress=ws.progress)
    checks = {name: check.get("passed") for name, check in result.checks.items()}
    return {"family": result.family, "added": result.counts.get("added"), "counts": result.counts, "checks": checks}


def run_distill(ws: Workspace) -> dict[str, Any]:
    """The base model teaches the extended one on the domain text and general replay (`vocabx train distill
    --method full`: the whole model, the new rows at --rows-lr), so that continued pretraining starts from a model
    that matches the base."""
    from vocabx.train.api import train_distill
    from vocabx.train.config import DistillConfig

    c, s = ws.config, ws.splits
    config = DistillConfig(
        model=str(ws.dir("extend")), out=str(ws.dir("distill")), data=(str(s["domain"].train),),
        replay=(str(s["general"].train),), replay_ratio=c.replay_ratio, text_field=TEXT_FIELD,
        max_steps=c.distill_steps,  # the default method, full: the whole model, no rows-only stage
        block_size=c.block_size, batch_size=c.batch_size, seed=c.seed, log_steps=1,
        save_steps=max(c.distill_steps, 1))
    counts = train_distill(config, progress=ws.progress)
    keep = ("steps", "global_batch", "domain_chars", "replay_share", "new_token_share", "teacher_seconds", "seconds")
    return {k: counts.get(k) for k in keep}


def run_train(ws: Workspace) -> dict[str, Any]:
    """A short continued pretraining of the extended (and distilled) model: new rows first unless distilled, then
    LoRA (+ new rows), merged."""
    from vocabx.train.api import train_cpt
    from vocabx.train.config import CPTConfig

    c, s = ws.config, ws.splits
    start = ws.dir("distill") if c.distills else ws.dir("extend")
    config = CPTConfig(
        model=str(start), out=str(ws.dir("train")), data=(str(s["domain"].train),),
        replay=(str(s["general"].train),), replay_ratio=c.replay_ratio, text_field=TEXT_FIELD,
        method="lora", lr=c.lr, max_steps=c.train_steps,
        embed_steps=c.resolved_embed_steps, block_size=c.block_size, batch_size=c.batch_size, seed=c.seed,
        log_steps=1, save_steps=max(c.train_steps, 1), merge=True)
    counts = train_cpt(config, progress=ws.progress)
    keep = ("steps", "embed_steps", "main_steps", "block_size", "global_batch", "tokens", "chars", "domain_chars",
            "replay_share", "final_loss", "seconds")
    return {k: counts.get(k) for k in keep} | {"first_loss": _first_loss(ws.dir("train") / "log.jsonl")}


def _first_loss(path: Path) -> float | None:
    if not path.is_file():
        return None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and json.loads(line).get("loss") is not None:
            return float(json.loads(line)["loss"])
    return None


def _eval_config(ws: Workspace, **kw: Any) -> Any:
    """An EvalConfig on both held-out parts within the demo's bounds; `kw` names the model(s) and the output."""
    from vocabx.eval.config import EvalConfig

    c = ws.config
    domain, general = ws.corpus_specs("heldout")
    return EvalConfig(
        domain=(domain,), general=(general,), text_field=TEXT_FIELD,
        max_docs=min(c.eval_docs, QUICK_EVAL_DOCS) if c.quick else c.eval_docs, max_chars=c.eval_chars,
        decode_prompts=1 if c.quick else c.decode_prompts, threads=1, **kw)


def run_eval(ws: Workspace) -> dict[str, Any]:
    """Bits per character, chars/token, decoding speed (one thread) of the evaluated model versus the base."""
    from vocabx.eval.api import evaluate

    c = ws.config
    config = _eval_config(ws, model=str(ws.evaluated_model), base=c.model, decode_tokens=c.decode_tokens,
                          model_label=EXTENDED_LABEL, base_label=BASE_LABEL, out=str(ws.dir("eval")))
    result = evaluate(config, progress=ws.progress)
    return {"rows": len(result.rows), "new_token_share": (result.usage or {}).get("new_token_share"),
            "seconds": result.seconds}


def run_eval_initialized(ws: Workspace) -> dict[str, Any]:
    """The extended model before training, on the same held-out text (no decoding): what training changed."""
    from vocabx.eval.api import evaluate

    config = _eval_config(ws, model=str(ws.dir("extend")), decode_tokens=0, model_label=INITIALIZED_LABEL,
                          out=str(ws.dir("eval_initialized")))
    result = evaluate(config, progress=ws.progress)
    return {"rows": len(result.rows), "seconds": result.seconds}


def compare_specs(compare: tuple[str, ...]) -> list[str]:
    """`LABEL=SPEC` for each reference tokenizer: the label given, else the spec's last path part."""
    from vocabx.bench.labels import split_label

    out = []
    for text in compare:
        name, spec = split_label(text)
        out.append(f"{name or _label(Path(spec).stem if Path(spec).exists() else spec.split('/')[-1])}={spec}")
    return out


def run_bench(ws: Workspace) -> dict[str, Any]:
    """Base, extended and the reference tokenizers on both held-out parts, with eval.json folded in."""
    from vocabx.bench import BenchConfig, bench

    c = ws.config
    tokenizers = (f"{BASE_LABEL}={c.model}", f"{EXTENDED_LABEL}={ws.dir('extend')}", *compare_specs(c.compare))
    config = BenchConfig(tokenizers=tokenizers, corpora=ws.corpus_specs("heldout"), reference=BASE_LABEL,
                         text_field=TEXT_FIELD, max_chars=c.bench_max_chars, eval=str(ws.dir("eval") / "eval.json"),
                         out=str(ws.dir("bench")))
    result = bench(config, progress=ws.progress)
    return {"tokenizers": [t.label for t in result.tokenizers], "pairs": len(result.rows)}


def run_examples(ws: Workspace) -> dict[str, Any]:
    """Tokenize a few held-out domain sentences with the base and the extended tokenizer; examples.json."""
    from vocabx.adapters import load_tokenizer
    from vocabx.demo.examples import tokenization_examples

    heldout = ws.splits["domain"].heldout
    texts = [json.loads(line)[TEXT_FIELD] for line in heldout.read_text(encoding="utf-8").splitlines() if line]
    tokenizers = [(BASE_LABEL, load_tokenizer(ws.config.model)), (EXTENDED_LABEL, load_tokenizer(ws.dir("extend")))]
    examples = [e.as_dict() for e in tokenization_examples(texts, tokenizers, ws.config.examples)]
    with atomic_output_dir(ws.dir("examples")) as tmp:
        write_json(tmp / "examples.json", examples)
        write_json(tmp / MANIFEST_NAME, build_manifest(
            "demo examples", {"examples": ws.config.examples}, inputs=[heldout],
            counts={"examples": len(examples)}, outputs=["examples.json", MANIFEST_NAME], deterministic=True))
    return {"examples": len(examples)}


STAGES = {"split": run_split, "analyze": run_analyze, "extend": run_extend, "distill": run_distill,
          "train": run_train, "eval": run_eval,
          "eval_initialized": run_eval_initialized, "bench": run_bench, "examples": run_examples}
