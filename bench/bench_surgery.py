"""Time and peak memory of vocabx's checkpoint surgery versus transformers' `resize_token_embeddings` + save,
on SmolLM2-135M (the embedded default) and on a synthetic checkpoint with a 7B model's embedding and head.

Baselines, in the same run: load + `resize_token_embeddings(mean_resizing=True/False)` + `save_pretrained`, and a
plain copy of the checkpoint directory (the floor surgery aims at). Each job runs in its own process; peak RSS is
that process's VmHWM. Writes `bench/results/surgery.md`.

    python bench/bench_surgery.py                    # SmolLM2 + a 7B-shaped checkpoint with 4 layers (2.2 GB)
    python bench/bench_surgery.py --layers 2 --skip-smollm
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "surgery.md"
NEW_ENTRIES = 1000
# Llama-2-7B shapes: vocab 32,000, hidden 4,096, MLP 11,008, 32 heads; untied head; bf16.
SEVEN_B = dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_attention_heads=32,
               num_key_value_heads=32, tie_word_embeddings=False, max_position_embeddings=4096)


def fake_extension(model_dir: Path, n_new: int):
    """The model's tokenizer (or, without one, a 1-piece-per-id BPE of the right size) plus `n_new` added words."""
    from tokenizers import Tokenizer, models

    from vocabx.adapters import HFTokenizerAdapter
    from vocabx.extend.base import Extension, NewEntry

    if (model_dir / "tokenizer.json").is_file():
        base_json = (model_dir / "tokenizer.json").read_text(encoding="utf-8")
    else:
        vocab = json.loads((model_dir / "config.json").read_text())["vocab_size"]
        base_json = Tokenizer(models.BPE({f"t{i}": i for i in range(vocab)}, [])).to_str()
    base = HFTokenizerAdapter(base_json, name="base", source=str(model_dir))
    tok = Tokenizer.from_str(base_json)
    words = [f"newword{i}" for i in range(n_new)]
    tok.add_tokens(words)
    ext = HFTokenizerAdapter(tok.to_str(), name="ext", source="memory")
    return Extension(base, ext, [NewEntry(w, w, ext.token_to_id(w), "term") for w in words])


def worker(job: str, model_dir: Path, out: Path) -> dict:
    """One measured job, in this (fresh) process; imports happen before the clock starts."""
    from transformers import AutoModelForCausalLM, LlamaForCausalLM  # noqa: F401  (lazy modules loaded here)

    import vocabx.model.api  # noqa: F401

    t0 = time.perf_counter()
    if job == "copy":
        shutil.copytree(model_dir, out)
    elif job == "surgery":
        from vocabx.model import extend_model

        extend_model(model_dir, fake_extension(model_dir, NEW_ENTRIES), out, init="mean", check_forward=False)
    else:
        from transformers import AutoModelForCausalLM

        ext = fake_extension(model_dir, NEW_ENTRIES)
        model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype="auto")
        model.resize_token_embeddings(ext.extended.vocab_size, mean_resizing=job == "resize-mean")
        model.save_pretrained(str(out))
    secs = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    from vocabx.select.report import peak_rss_mb  # VmHWM: ru_maxrss would carry the parent's peak across exec

    return {"job": job, "seconds": secs, "peak_rss_mb": peak_rss_mb(), "out_mb": size / 1e6}


def measure(job: str, model_dir: Path, scratch: Path) -> dict:
    out = scratch / f"out-{job}"
    proc = subprocess.run([sys.executable, __file__, "--worker", job, str(model_dir), str(out)],
                          capture_output=True, text=True, check=False)
    shutil.rmtree(out, ignore_errors=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{job} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_seven_b(path: Path, layers: int) -> Path:
    """A bf16 Llama checkpoint with 7B shapes and `layers` layers, one layer per shard, random weights."""
    import torch
    from safetensors.torch import save_file
    from transformers import LlamaConfig

    path.mkdir(parents=True)
    cfg = LlamaConfig(num_hidden_layers=layers, **SEVEN_B)
    cfg.to_json_file(str(path / "config.json"))
    h, m, v = cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size
    gen = torch.Generator().manual_seed(0)
    rnd = lambda *shape: (torch.randn(*shape, generator=gen) * 0.02).to(torch.bfloat16)  # noqa: E731
    weight_map, total = {}, 0
    n_shards = layers + 1
    for s in range(n_shards):
        shard = {}
        if s == 0:
            shard["model.embed_tokens.weight"] = rnd(v, h)
        if s == n_shards - 1:
            shard.update({"lm_head.weight": rnd(v, h), "model.norm.weight": torch.ones(h, dtype=torch.bfloat16)})
        if s < layers:
            p = f"model.layers.{s}."
            for name, shape in (("self_attn.q_proj", (h, h)), ("self_attn.k_proj", (h, h)), ("self_attn.v_proj", (h, h)),
                                ("self_attn.o_proj", (h, h)), ("mlp.gate_proj", (m, h)), ("mlp.up_proj", (m, h)),
                                ("mlp.down_proj", (h, m))):
                shard[p + name + ".weight"] = rnd(*shape)
            shard[p + "input_layernorm.weight"] = torch.ones(h, dtype=torch.bfloat16)
            shard[p + "post_attention_layernorm.weight"] = torch.ones(h, dtype=torch.bfloat16)
        fname = f"model-{s + 1:05d}-of-{n_shards:05d}.safetensors"
        save_file(shard, str(path / fname), metadata={"format": "pt"})
        weight_map.update({k: fname for k in shard})
        total += sum(t.numel() * 2 for t in shard.values())
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (path / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))
    return path


def run_case(label: str, model_dir: Path, scratch: Path, emb_mb: float) -> list[str]:
    size = sum(p.stat().st_size for p in model_dir.glob("*.safetensors")) / 1e6
    rows = []
    for job in ("copy", "surgery", "resize-mean", "resize-random"):
        r = measure(job, model_dir, scratch)
        print(f"{label:28s} {job:14s} {r['seconds']:7.1f} s  peak RSS {r['peak_rss_mb']:8.0f} MB", flush=True)
        rows.append(f"| {label} | {size:,.0f} | {emb_mb:,.0f} | {job} | {r['seconds']:.1f} | {r['peak_rss_mb']:,.0f} | "
                    f"{r['out_mb']:,.0f} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=4, help="layers of the 7B-shaped checkpoint (real 7B: 32)")
    ap.add_argument("--skip-smollm", action="store_true")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="vocabx-surgery-", dir=os.environ.get("TMPDIR", "/tmp")) as tmp:
        scratch = Path(tmp)
        if not args.skip_smollm:
            from vocabx.model import resolve_model

            smol = resolve_model("smollm2-135m")
            rows += run_case("SmolLM2-135M (f32, tied)", smol, scratch, 49152 * 576 * 4 / 1e6)
        free = shutil.disk_usage(scratch).free / 1e9
        print(f"free disk {free:.0f} GB; writing the 7B-shaped checkpoint with {args.layers} layers", flush=True)
        seven = write_seven_b(scratch / "seven-b", args.layers)
        rows += run_case(f"7B-shaped, {args.layers} layers (bf16, untied)", seven, scratch, 2 * 32000 * 4096 * 2 / 1e6)
    write_results(rows, args)


def write_results(rows: list[str], args: argparse.Namespace) -> None:
    cmd = "python bench/bench_surgery.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    lines = [
        "# Checkpoint surgery: time and peak memory",
        "",
        "```",
        cmd.strip(),
        "```",
        "",
        f"Each job adds {NEW_ENTRIES:,} entries (init `mean`) and writes a complete model directory; each runs in a "
        "fresh process, peak RSS = its VmHWM (imports included: ~0.4-0.5 GB of it is torch + transformers; the clock starts after them). `copy`: copying the checkpoint directory (the floor). `surgery`: "
        "`vocabx.model.extend_model` (old-row check included, forward check off). `resize-*`: "
        "`from_pretrained` + `resize_token_embeddings(mean_resizing=...)` + `save_pretrained`. The 7B-shaped "
        "checkpoint has Llama-2-7B's embedding and head (32,000 x 4,096, bf16, untied) but only "
        f"{args.layers} of its 32 layers (one per shard): a real 7B (13.5 GB) would not fit beside the other jobs "
        "on this shared machine. Memory of surgery scales with the embedding matrices, that of resize with the model."
        f" Machine: 2-core CPU, 24 GB ({platform.machine()}), shared with other jobs: timings are noisy, ratios in "
        "one run are what count.",
        "",
        "| checkpoint | weights MB | embedding+head MB | job | seconds | peak RSS MB | output MB |",
        "|---|---:|---:|---|---:|---:|---:|",
        *rows,
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))))
    else:
        main()
