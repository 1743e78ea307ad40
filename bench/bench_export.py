"""Deployable outputs, measured: conformance of extended tokenizers across runtimes (transformers fast,
SentencePiece, llama.cpp), greedy generation in llama.cpp vs transformers, export time and peak memory against
llama.cpp's own converter on the base, and patch sizes against full models. Writes `bench/results/export.md`.

Terms are mined once (`vocabx analyze` with SmolLM2's tokenizer) on medical-zh/dialogues.csv; every family is
extended with them. Held-out text is another source: the answers of sft/medical_sft_1K_format.jsonl and
medical-zh/medical_corpus.txt (domain), wiki/c4/tnews (general), and seeded random Unicode plus vocabx's probes.

    python bench/bench_export.py                       # everything (about an hour on a shared 2-core machine)
    python bench/bench_export.py --skip-seven-b --budget 2000
    python bench/bench_export.py --only costs            # one table, printed (not written): costs or generation
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RESULTS = REPO / "bench" / "results" / "export.md"
SHARED = Path(os.environ.get("VOCABX_SHARED_DATA") or REPO.parent / "shared" / "data")
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")
MEDICAL = SHARED / "corpora" / "medical-zh"
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                r"\s*[\r\n]+|\s+(?!\S)|\s+")
# family label -> (base spec, llama.cpp pre-tokenizer to tell, or None: the one vocabx extend recorded)
FAMILIES = {
    "SmolLM2 (byte-level, GGUF)": ("smollm2", None),
    "GPT-2 (byte-level, ggml-vocab GGUF)": (str(SHARED / "tokenizers" / "gguf" / "ggml-vocab-gpt-2.gguf"), None),
    "Qwen2 (byte-level, tiktoken)": ("qwen2", None),
    "DeepSeek-V3 (byte-level)": ("deepseek-v3", None),
    "Llama-3-style (GPT-2 vocab, Llama-3 split)": ("llama3-style", "llama-bpe"),
    "Llama-2 (SentencePiece)": (str(SHARED / "tokenizers" / "llama2" / "tokenizer.model"), None),
    "Mistral v1 (SentencePiece)": ("mistral-v1", None),
    "Mistral v3 (SentencePiece)": ("mistral-v3", None),
}


def texts() -> dict[str, list[str]]:
    from vocabx.extend.api import read_corpus
    from vocabx.extend.probes import PROBE_TEXTS, random_unicode

    answers = []
    for line in (SHARED / "sft" / "medical_sft_1K_format.jsonl").read_text(encoding="utf-8").splitlines()[:300]:
        answers += [t["value"] for t in json.loads(line)["conversations"] if t["from"] == "gpt"][:1]
    return {
        "domain (held-out medical)": answers + read_corpus([str(MEDICAL / "medical_corpus.txt")])[:200],
        "general (wiki, c4, tnews)": (read_corpus([str(SHARED / "corpora" / "general-en" / "wiki_demo.txt")])[:100]
                                      + read_corpus([str(SHARED / "corpora" / "general-en" / "c4_demo.jsonl")])[:100]
                                      + read_corpus([str(SHARED / "corpora" / "general-zh" / "tnews_unlabeled.json")],
                                                    text_field="sentence")[:300]),
        "random Unicode + probes": random_unicode(300, 7) + list(PROBE_TEXTS),
    }


def llama3_style(root: Path) -> Path:
    """GPT-2's vocabulary and merges behind Llama-3's pre-tokenizer split: llama.cpp's `llama-bpe` rules."""
    from tokenizers import Regex, Tokenizer, pre_tokenizers

    from vocabx.adapters import load_tokenizer

    tok = Tokenizer.from_str(load_tokenizer(FAMILIES["GPT-2 (byte-level, ggml-vocab GGUF)"][0]).json_text)
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    root.mkdir(parents=True, exist_ok=True)
    tok.save(str(root / "tokenizer.json"))
    return root


def conformance(scratch: Path, analysis: Path, budget: int) -> tuple[list[str], list[str]]:
    """Per family: ids in each runtime against transformers' fast tokenizer; new tokens and serving safety."""
    from vocabx.export.to_gguf import directory_tokenizer
    from vocabx.extend.api import ExtendConfig, extend

    sets, rows, safety = texts(), [], []
    for label, (spec, pre) in FAMILIES.items():
        base = str(llama3_style(scratch / "llama3-base")) if spec == "llama3-style" else spec
        out = scratch / f"ext-{len(safety)}"
        t0 = time.perf_counter()
        ext = extend(ExtendConfig(base=base, out=str(out), terms=str(analysis), text_field="title,ask,answer",
                                  corpus_max_chars=1_500_000, budget=budget, check_docs=300))
        first = ext.counts["base_vocab_size"]
        added = f"+{ext.counts['added']:,}"
        family_rows, runtime, res = _family_rows(scratch, out, pre, sets, label, added)
        rows += family_rows
        new = list(range(first, ext.counts["extended_vocab_size"]))
        safety.append(_safety_row(label, base, out, directory_tokenizer(out), runtime, new))
        runtime.close()
        print(f"{label}: {added} entries, pre {res.pre} ({res.pre_source}), {time.perf_counter() - t0:.0f} s", flush=True)
        print("  ", safety[-1], flush=True)
    return rows, safety


def _family_rows(scratch: Path, out: Path, pre: str | None, sets: dict[str, list[str]], label: str, added: str):
    from transformers import AutoTokenizer

    from vocabx.adapters import load_tokenizer
    from vocabx.export.config import GGUFExportConfig
    from vocabx.export.runtime import LlamaRuntime
    from vocabx.export.to_gguf import export_gguf

    gguf = scratch / f"{out.name}.gguf"
    res = export_gguf(GGUFExportConfig(model=str(out), out=str(gguf), vocab_only=True, pre=pre))
    fast = AutoTokenizer.from_pretrained(str(out))
    slow = load_tokenizer(out / "tokenizer.model") if (out / "tokenizer.model").is_file() else None
    runtime = LlamaRuntime(gguf)
    rows = []
    for name, docs in sets.items():
        ref = fast(docs, add_special_tokens=False)["input_ids"]
        same_llama = sum(runtime.tokenize(d) == list(r) for d, r in zip(docs, ref))
        same_slow = f"{sum(a == list(r) for a, r in zip(slow.encode_batch(docs), ref)):,}" if slow else "n/a"
        rows.append(f"| {label} | {added} | {res.pre} | {name} | {len(docs):,} | {same_slow} | {same_llama:,} |")
        print("  ", rows[-1], flush=True)
    return rows, runtime, res


def _safety_row(label: str, base: str, out: Path, extended, runtime, new: list[int]) -> str:
    from vocabx.adapters import load_tokenizer
    from vocabx.export.conformance import detokenize_check
    from vocabx.export.serving import serving_checks

    detok = detokenize_check(runtime, extended, new)
    ordinary, skip = serving_checks(load_tokenizer(base), extended, out, new)
    return (f"| {label} | {len(new):,} | {detok.figures['new'] - detok.figures['wrong']:,} | "
            f"{'yes' if ordinary.passed else 'no: ' + ordinary.summary} | {skip.figures['new'] - skip.figures['lost']:,} |")


def generation(scratch: Path, analysis: Path, budget: int, n_tokens: int) -> tuple[Path, list[str]]:
    """SmolLM2 +budget (the model): greedy continuations in llama.cpp vs transformers, per export route."""
    from vocabx.adapters import load_tokenizer
    from vocabx.export.config import GGUFExportConfig
    from vocabx.export.conformance import generation_check
    from vocabx.export.to_gguf import export_gguf
    from vocabx.extend.api import ExtendConfig, extend
    from vocabx.model import resolve_model

    model = scratch / "smollm2-ext"
    extend(ExtendConfig(base="smollm2-135m", out=str(model), terms=str(analysis), text_field="title,ask,answer",
                        corpus_max_chars=1_500_000, budget=budget, check_docs=300))
    sets = texts()
    prompts = {"domain": sets["domain (held-out medical)"][:2], "general": sets["general (wiki, c4, tnews)"][:2]}
    rows = []
    base_dir = resolve_model("smollm2-135m")
    for label, directory, outtype in (("extended, converter f32", model, "f32"),
                                      ("extended, GGUF in/out (Q4_1/Q8_0 as stored)", model, "base"),
                                      ("base SmolLM2, its own Q4_1 GGUF", base_dir, None)):
        if outtype is None:
            from vocabx.adapters.builtin import builtin_path

            gguf = builtin_path("smollm2")
        else:
            gguf = scratch / f"gen-{outtype}.gguf"
            export_gguf(GGUFExportConfig(model=str(directory), out=str(gguf), outtype=outtype))
        check = generation_check(gguf, directory, load_tokenizer(directory), prompts, n_tokens)
        rows.append(f"| {label} | {check.figures.get('prompts', 0)} | {n_tokens} | {check.figures.get('same', 0)} |")
        print("  ", rows[-1], flush=True)
    return model, rows


def measured(cmd: list[str]) -> dict:
    """Wall time and peak RSS of `cmd` and its children, run from a fresh wrapper process."""
    code = ("import json,resource,subprocess,sys,time;t=time.perf_counter();"
            "p=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
            "print(json.dumps({'rc':p.returncode,'s':time.perf_counter()-t,"
            "'mb':resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024,'err':p.stderr[-800:]}))")
    proc = subprocess.run([sys.executable, "-c", code, *cmd], capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        raise RuntimeError(f"{cmd} failed: {result['err']}")
    return result


def export_costs(scratch: Path, model: Path, tokenizer_only: Path, outtype: str) -> list[str]:
    from vocabx.export.converter import SCRIPT, find_converter
    from vocabx.model import resolve_model

    vocabx = str(Path(sys.executable).parent / "vocabx")
    base_dir = resolve_model("smollm2-135m")
    jobs = [
        ("llama.cpp convert_hf_to_gguf.py, base SmolLM2 (baseline)", [sys.executable, str(find_converter() / SCRIPT),
         str(base_dir), "--outfile", str(scratch / "conv-base.gguf"), "--outtype", outtype]),
        ("llama.cpp convert_hf_to_gguf.py, extended (no pre told)", [sys.executable, str(find_converter() / SCRIPT),
         str(model), "--outfile", str(scratch / "conv-ext.gguf"), "--outtype", outtype]),
        (f"vocabx export gguf --outtype {outtype}, extended", [vocabx, "export", "gguf", str(model), "--out",
         str(scratch / "vx-ext.gguf"), "--outtype", outtype]),
        ("vocabx export gguf --outtype base, extended (GGUF in/out)", [vocabx, "export", "gguf", str(model), "--out",
         str(scratch / "vx-base.gguf"), "--outtype", "base"]),
        ("vocabx export gguf --outtype base, tokenizer-only extension (rows initialized from the GGUF)",
         [vocabx, "export", "gguf", str(tokenizer_only), "--out", str(scratch / "vx-tok.gguf"), "--outtype", "base"]),
    ]
    rows = []
    for label, cmd in jobs:
        out = Path(cmd[cmd.index("--outfile" if "--outfile" in cmd else "--out") + 1])
        try:
            r = measured(cmd)
            rows.append(f"| {label} | {r['s']:.1f} | {r['mb']:,.0f} | {out.stat().st_size / 1e6:,.1f} |")
        except RuntimeError as exc:
            last = [line for line in str(exc).splitlines() if line.strip()][-1][:120]
            rows.append(f"| {label} | fails: `{last}` | | |")
        print("  ", rows[-1], flush=True)
        out.unlink(missing_ok=True)
    return rows


def _tokenizer_extension(scratch: Path, analysis: Path, budget: int) -> Path:
    """The same extension of SmolLM2's tokenizer alone (no weights): what GGUF in, GGUF out starts from."""
    from vocabx.extend.api import ExtendConfig, extend

    out = scratch / "smollm2-tok"
    extend(ExtendConfig(base="smollm2", out=str(out), terms=str(analysis), text_field="title,ask,answer",
                        corpus_max_chars=1_500_000, budget=budget, check_docs=300))
    return out


def patch_sizes(scratch: Path, model: Path, seven_b: bool) -> list[str]:
    rows = [_patch_row("SmolLM2-135M (f32, tied)", model, "smollm2-135m", scratch)]
    if seven_b:
        ext_dir, base_dir = _seven_b_extension(scratch, 20000)
        rows.append(_patch_row("7B-shaped: Llama-2-7B embedding + head, 1 layer (bf16, untied)", ext_dir,
                               str(base_dir), scratch))
    return rows


def _patch_row(label: str, model: Path, base: str, scratch: Path) -> str:
    from vocabx.export.apply import apply_patch
    from vocabx.export.config import ApplyConfig, PatchExportConfig
    from vocabx.export.patch import export_patch

    t0 = time.perf_counter()
    p = export_patch(PatchExportConfig(model=str(model), out=str(scratch / "patch"), base=base, force=True))
    t1 = time.perf_counter()
    apply_patch(ApplyConfig(patch=str(scratch / "patch"), base=base, out=str(scratch / "rebuilt"), force=True))
    t2 = time.perf_counter()
    new = json.loads((model / "manifest.json").read_text())["counts"].get("added", "?")
    row = (f"| {label} | +{new:,} | {p['model_bytes'] / 1e6:,.1f} | {p['patch_bytes'] / 1e6:,.2f} | "
           f"{p['rows_bytes'] / 1e6:,.2f} | {p['ratio']:.2%} | {t1 - t0:.1f} | {t2 - t1:.1f} | yes |")
    print("  ", row, flush=True)
    return row


def _seven_b_extension(scratch: Path, n_new: int) -> tuple[Path, Path]:
    """bench_surgery's 7B-shaped checkpoint (1 layer) grown by `n_new` entries, with tokenizer and manifest."""
    sys.path.insert(0, str(REPO / "bench"))
    from bench_surgery import fake_extension, write_seven_b

    from vocabx.model import extend_model

    base = write_seven_b(scratch / "seven-b", 1)
    ext = fake_extension(base, n_new)
    (base / "tokenizer.json").write_text(ext.base.json_text, encoding="utf-8")
    out = scratch / "seven-b-ext"
    out.mkdir()
    (out / "tokenizer.json").write_text(ext.extended.json_text, encoding="utf-8")
    extend_model(base, ext, out, init="mean", check_forward=False)
    manifest = {"command": "extend", "config": {"base": str(base)}, "counts": {"added": n_new}}
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return out, base


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=5000, help="new entries per family (and for the SmolLM2 model)")
    ap.add_argument("--gen-tokens", type=int, default=16)
    ap.add_argument("--outtype", default="f16", help="outtype of the export-cost comparison")
    ap.add_argument("--skip-seven-b", action="store_true")
    ap.add_argument("--only", choices=["costs", "generation"], help="measure one table and print it")
    args = ap.parse_args()
    if args.only:
        return only(args)
    with tempfile.TemporaryDirectory(prefix="vocabx-export-", dir=os.environ.get("TMPDIR", "/tmp")) as tmp:
        scratch = Path(tmp)
        analysis = scratch / "analysis"
        subprocess.run([str(Path(sys.executable).parent / "vocabx"), "analyze", str(MEDICAL / "dialogues.csv"),
                        "--text-field", "title,ask,answer", "--tokenizer", "smollm2", "--out", str(analysis)],
                       check=True, capture_output=True)
        sections: dict[str, list[str]] = {}
        sections["conformance"], sections["safety"] = conformance(scratch, analysis, args.budget)
        model, sections["generation"] = generation(scratch, analysis, args.budget, args.gen_tokens)
        tokenizer_only = _tokenizer_extension(scratch, analysis, args.budget)
        sections["costs"] = export_costs(scratch, model, tokenizer_only, args.outtype)
        sections["patch"] = patch_sizes(scratch, model, not args.skip_seven_b)
    write_results(sections, args)


def only(args: argparse.Namespace) -> None:
    """One table (export costs or generation) in a run of its own, printed."""
    from vocabx.extend.api import ExtendConfig, extend

    with tempfile.TemporaryDirectory(prefix="vocabx-export-", dir=os.environ.get("TMPDIR", "/tmp")) as tmp:
        scratch = Path(tmp)
        analysis = scratch / "analysis"
        subprocess.run([str(Path(sys.executable).parent / "vocabx"), "analyze", str(MEDICAL / "dialogues.csv"),
                        "--text-field", "title,ask,answer", "--tokenizer", "smollm2", "--out", str(analysis)],
                       check=True, capture_output=True)
        if args.only == "generation":
            rows = generation(scratch, analysis, args.budget, args.gen_tokens)[1]
        else:
            model = scratch / "smollm2-ext"
            extend(ExtendConfig(base="smollm2-135m", out=str(model), terms=str(analysis),
                                text_field="title,ask,answer", corpus_max_chars=1_500_000, budget=args.budget,
                                check_docs=300))
            rows = export_costs(scratch, model, _tokenizer_extension(scratch, analysis, args.budget), args.outtype)
    print("\n".join(rows))


def write_results(sections: dict[str, list[str]], args: argparse.Namespace) -> None:
    cmd = "python bench/bench_export.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    machine = (f"2-core CPU, 24 GB ({platform.machine()}), shared with other jobs while measuring (load average "
               f"{os.getloadavg()[0]:.1f} at the end): timings are noisy, ratios in one run are what count")
    lines = [
        "## Deployable outputs: llama.cpp conformance, GGUF export, patches (`vocabx export`, `vocabx apply`)", "",
        "```", cmd.strip(), "```", "",
        f"Terms mined by `vocabx analyze` (SmolLM2 tokenizer) on medical-zh/dialogues.csv; each family extended by "
        f"`vocabx extend --budget {args.budget}` with them. Reference: transformers' fast tokenizer "
        "(`AutoTokenizer.from_pretrained(OUT)`, no special tokens added); each column counts documents whose ids "
        "equal the reference's. llama.cpp: llama-cpp-python 0.3.36 (built from its sdist, CPU), `vocab_only` "
        "load of the GGUF that `vocabx export gguf --vocab-only` wrote, tokenize without BOS, special-token text "
        "parsed (as HF does). Text sets (none trained or mined on): the answers of 300 sft/medical_sft_1K "
        "conversations + all 87 medical_corpus.txt passages; all 30 wiki + 100 c4 + 300 tnews documents; 300 seeded "
        f"random-Unicode strings + vocabx's probe texts. Machine: {machine}.", "",
        "| family | added | llama.cpp pre | text set | documents | SentencePiece / transformers slow | llama.cpp |",
        "|---|---:|---|---|---:|---:|---:|", *sections["conformance"], "",
        "New tokens and serving safety, same extensions: each new token detokenized alone by llama.cpp against "
        "its own bytes; added-token and special-token lists unchanged (the new entries are ordinary vocabulary); "
        "transformers' `decode([id], skip_special_tokens=True)` keeps the token's text.", "",
        "| family | new tokens | detokenize to their text in llama.cpp | ordinary vocabulary | kept by skip_special_tokens |",
        "|---|---:|---:|---|---:|", *sections["safety"], "",
        f"Greedy generation, SmolLM2-135M +{args.budget} (the model; prompts: the first 24 tokens of 2 held-out "
        "medical and 2 general documents): llama.cpp vs transformers (float32, argmax decoding), "
        "continuations identical token for token. The quantized rows are for contrast: llama.cpp then computes with "
        "quantized weights (and activations), and even the base model's own Q4_1 GGUF departs from its float32 "
        "dequantization in transformers.", "",
        "| GGUF | prompts | tokens | identical continuations |", "|---|---:|---:|---:|", *sections["generation"], "",
        f"Export time and peak memory (wall seconds, peak RSS of the process tree), SmolLM2 +{args.budget}, "
        f"--outtype {args.outtype}, against llama.cpp's own converter on the base in the same run:", "",
        "| job | seconds | peak RSS MB | output MB |", "|---|---:|---:|---:|", *sections["costs"], "",
        "Patch size against the full model (`vocabx export patch`; `vocabx apply` rebuilt every file with the "
        "model's sha256 in the same run). The 7B-shaped checkpoint is bench_surgery's: Llama-2-7B's embedding "
        "and head (32,000 x 4,096, bf16, untied) and one of its 32 layers, extended with 20,000 entries; a full "
        "7B checkpoint is 13.5 GB, and its patch would be the same size as here (only the vocabulary rows and "
        "the tokenizer change).", "",
        "| model | added | model MB | patch MB | of which rows MB | patch / model | export s | apply s | bit-identical |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|", *sections["patch"],
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
