"""`train_cpt` on a 2-layer Llama (hidden 16): the embeddings stage moves only new rows, outputs and the manifest,
the replay share achieved, resume after a kill equals an uninterrupted run, and the clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from tests._tiny_llama import write_tiny_model
from vocabx.errors import CorpusError, ModelError, OutputError, UsageError
from vocabx.train import CPTConfig, train_cpt


def cfg(model: Path, data: dict[str, Path], out: Path, **kw) -> CPTConfig:
    base = dict(model=str(model), data=(str(data["domain"]),), out=str(out), block_size=16, batch_size=4,
                save_steps=50, log_steps=1, seed=3)
    base.update(kw)
    return CPTConfig(**base)


def weights(directory: Path) -> dict[str, torch.Tensor]:
    return load_file(directory / "model.safetensors")


@pytest.mark.parametrize("tied", [True, False])
def test_embeddings_stage_moves_only_the_new_rows(tmp_path, corpora, tied) -> None:
    model = write_tiny_model(tmp_path / "m", tied=tied)
    start = json.loads((model / "manifest.json").read_text())["counts"]["base_vocab_size"]
    result = train_cpt(cfg(model, corpora, tmp_path / "out", method="full", embed_steps=3, max_steps=3))
    assert result["embed_steps"] == 3 and result["main_steps"] == 0 and result["new_rows_from"] == start
    before, after = weights(model), weights(tmp_path / "out")
    assert set(after) == set(before)
    mode = (tmp_path / "out" / "model.safetensors").stat().st_mode & 0o777  # save_pretrained writes 0600
    assert mode == (tmp_path / "out" / "manifest.json").stat().st_mode & 0o777
    for name, old in before.items():
        new = after[name]
        if name in ("model.embed_tokens.weight", "lm_head.weight"):
            assert torch.equal(new[:start], old[:start]), f"old rows of {name} moved"
            assert not torch.equal(new[start:], old[start:]), f"new rows of {name} did not train"
        else:
            assert torch.equal(new, old), f"{name} is frozen in the embeddings stage"


def test_lora_run_writes_outputs_log_and_manifest(tmp_path, tiny_model, corpora) -> None:
    out = tmp_path / "out"
    result = train_cpt(cfg(tiny_model, corpora, out, replay=(str(corpora["general"]),), replay_ratio=0.25,
                           embed_steps=2, max_steps=6))
    assert {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "log.jsonl", "manifest.json"} <= {
        p.name for p in out.iterdir()}
    assert not (out / "base").exists()  # no second copy of the base: the adapter references MODEL
    assert not (out / "checkpoints").exists() and not (out / ".final.tmp").exists()
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5, 6]
    assert [r["stage"] for r in records] == ["embed"] * 2 + ["lora"] * 4
    assert all(set(r) >= {"loss", "lr", "tokens", "chars", "elapsed"} for r in records)
    assert records[-1]["tokens"] == 6 * 4 * 16 == result["tokens"]
    assert [r["tokens"] for r in records] == sorted(r["tokens"] for r in records)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["steps"] == 6 and manifest["config"]["replay_ratio"] == 0.25
    # 24 blocks drawn on an even schedule: 6 replay, within one block of 25 %.
    assert result["replay_share"] == 0.25  # 24 blocks on an even schedule: exactly 6 replay


def test_each_replay_source_gives_an_equal_share(tmp_path, tiny_model, corpora) -> None:
    """Two --replay sources, each long enough to fill the replay share alone: half the replay blocks come from each
    (read in order as one stream, the second source was never read)."""
    from transformers import AutoTokenizer

    from vocabx.train.cpt import build_mix
    from vocabx.train.data import pack_texts

    second = tmp_path / "second.txt"
    second.write_text(corpora["domain"].read_text(encoding="utf-8"), encoding="utf-8")
    tok = AutoTokenizer.from_pretrained(tiny_model)
    specs = (str(corpora["general"]), str(second))
    mix, _ = build_mix(cfg(tiny_model, corpora, tmp_path / "out", replay=specs, replay_ratio=0.5, max_steps=4),
                       tok, 16, 4)
    assert mix.counts["replay_blocks_by_source"] == {specs[0]: 4, specs[1]: 4}
    replayed = {tuple(row) for row in mix.ids[torch.from_numpy(mix.is_replay)].tolist()}
    for spec in specs:
        alone = pack_texts([line for line in Path(spec).read_text(encoding="utf-8").splitlines() if line], tok, 16, 4)
        assert replayed & {tuple(row) for row in alone.ids.tolist()}, f"no replay block from {spec}"


def test_rows_lr_moves_the_new_rows_at_their_own_rate(tmp_path, corpora) -> None:
    """A full step with --rows-lr 10x --lr: the body and the old rows take the same step as without it, the new rows
    ten times the step (Adam's first step does not depend on the gradient's scale)."""
    model = write_tiny_model(tmp_path / "m", tied=True)
    start = json.loads((model / "manifest.json").read_text())["counts"]["base_vocab_size"]
    common = dict(method="full", embed_steps=0, max_steps=1, lr=1e-3, weight_decay=0.0, warmup_steps=0)
    train_cpt(cfg(model, corpora, tmp_path / "plain", **common))
    train_cpt(cfg(model, corpora, tmp_path / "rows", rows_lr=1e-2, **common))
    before, plain, rows = weights(model), weights(tmp_path / "plain"), weights(tmp_path / "rows")
    for name in before:
        if name == "model.embed_tokens.weight":
            assert torch.equal(rows[name][:start], plain[name][:start])
            ratio = (rows[name][start:] - before[name][start:]).norm() / (plain[name][start:] - before[name][start:]).norm()
            assert 9.9 < float(ratio) < 10.1
        else:
            assert torch.equal(rows[name], plain[name]), name


class Killed(Exception):
    """Stands in for a SIGKILL: raised right after a checkpoint is written."""


class KillAfterSave(TrainerCallback):
    """Kills the run once `stage` has written its checkpoint at `step` (steps count within the stage)."""

    def __init__(self, stage: str, step: int) -> None:
        self.stage, self.step = stage, step
        self.fired = False

    def on_save(self, args, state, control, **kwargs):
        if Path(args.output_dir).name == self.stage and state.global_step == self.step:
            self.fired = True
            raise Killed()


def test_resume_after_a_kill_equals_an_uninterrupted_run(tmp_path, tiny_model, corpora) -> None:
    common = dict(method="full", embed_steps=2, max_steps=6, save_steps=2,
                  replay=(str(corpora["general"]),), replay_ratio=0.2)
    straight = train_cpt(cfg(tiny_model, corpora, tmp_path / "a", **common))
    kill = KillAfterSave("full", 2)  # global step 4: mid-way through the second stage
    with pytest.raises(Killed):
        train_cpt(cfg(tiny_model, corpora, tmp_path / "b", **common), callbacks=[kill])
    assert kill.fired and (tmp_path / "b" / "checkpoints" / "full" / "checkpoint-2").is_dir()
    assert not (tmp_path / "b" / "manifest.json").exists()
    with pytest.raises(OutputError, match="--resume"):
        train_cpt(cfg(tiny_model, corpora, tmp_path / "b", **common))
    resumed = train_cpt(cfg(tiny_model, corpora, tmp_path / "b", resume=True, **common))
    assert resumed["final_loss"] == pytest.approx(straight["final_loss"], rel=1e-5)
    a, b = weights(tmp_path / "a"), weights(tmp_path / "b")
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-5, atol=1e-6)
    steps = [json.loads(line)["step"] for line in (tmp_path / "b" / "log.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]  # nothing lost, nothing logged twice


def test_resume_refuses_a_different_config(tmp_path, tiny_model, corpora) -> None:
    with pytest.raises(Killed):
        train_cpt(cfg(tiny_model, corpora, tmp_path / "o", method="full", embed_steps=0, max_steps=4, save_steps=2,
                      new_from=None), callbacks=[KillAfterSave("full", 2)])
    with pytest.raises(UsageError, match=r"differs in .*lr.*seed") as err:
        train_cpt(cfg(tiny_model, corpora, tmp_path / "o", method="full", embed_steps=0, max_steps=4, save_steps=2,
                      lr=1e-2, seed=9, resume=True))
    assert "block_size" not in str(err.value)


def test_bad_inputs_fail_clearly_and_write_nothing(tmp_path, tiny_model, corpora) -> None:
    out = tmp_path / "out"
    with pytest.raises(CorpusError, match="no text"):
        train_cpt(cfg(tiny_model, {"domain": corpora["empty"]}, out, max_steps=2))
    with pytest.raises(UsageError, match="exceeds the model context"):
        train_cpt(cfg(tiny_model, corpora, out, block_size=4096, max_steps=2))
    short = write_tiny_model(tmp_path / "short", vocab_rows=300)
    with pytest.raises(ModelError, match="vocabx extend"):
        train_cpt(cfg(short, corpora, out, max_steps=2))
    plain = write_tiny_model(tmp_path / "plain", extended=False)
    with pytest.raises(UsageError, match="no new rows"):
        train_cpt(cfg(plain, corpora, out, embed_steps=5, max_steps=2))
    with pytest.raises(UsageError, match="--rows-lr .* no new rows"):
        train_cpt(cfg(plain, corpora, out, embed_steps=0, rows_lr=1e-2, max_steps=2))
    with pytest.raises(UsageError, match="replay"):
        cfg(tiny_model, corpora, out, replay_ratio=0.3)
    assert not out.exists()


def test_eval_hook_calls_bpc_every_n_steps_and_at_the_end(tmp_path, tiny_model, corpora, monkeypatch) -> None:
    import math

    import vocabx.eval.bpc as bpc

    calls = []
    real = bpc.bits_per_character

    def counting(model, encode, texts, **kwargs):
        texts = list(texts)
        calls.append(len(texts))
        return real(model, encode, texts, **kwargs)

    monkeypatch.setattr(bpc, "bits_per_character", counting)
    out = tmp_path / "out"
    result = train_cpt(cfg(tiny_model, corpora, out, method="full", embed_steps=0, max_steps=4,
                           eval_data=(str(corpora["general"]),), eval_steps=2, eval_max_docs=5))
    evals = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines() if "eval_bpc" in line]
    assert [e["step"] for e in evals] == [2, 4] and calls == [5, 5, 5]
    assert math.isfinite(result["eval_bpc"]) and result["eval_bpc"] > 0


def test_disk_full_during_a_stage_is_an_output_error_and_other_os_errors_pass(tmp_path):
    import errno

    from vocabx.errors import OutputError
    from vocabx.train.rundir import disk_full_as_error

    with pytest.raises(OutputError, match="disk full") as info, disk_full_as_error(tmp_path):
        raise OSError(errno.ENOSPC, "No space left on device")
    assert "--resume" in info.value.hint
    with pytest.raises(PermissionError), disk_full_as_error(tmp_path):
        raise PermissionError(errno.EACCES, "denied")


def test_bf16_autocast_follows_the_hardware(monkeypatch) -> None:
    """bf16 by default where the CPU computes in it (AVX512-BF16 / AMX) or the GPU supports it; a flag overrides."""
    from vocabx.train import engine

    real = engine.cpu_has_native_bf16
    for flags, native in (("fpu avx512f avx512_bf16 sse", True), ("fpu amx_bf16", True), ("fpu avx2 avx512f", False)):
        monkeypatch.setattr(engine.Path, "read_text", lambda self, *a, flags=flags, **k: f"flags\t\t: {flags}\n")
        assert real() is native
    monkeypatch.setattr(engine.torch.cuda, "is_available", lambda: False)
    for native in (True, False):
        monkeypatch.setattr(engine, "cpu_has_native_bf16", lambda native=native: native)
        assert engine.bf16_default(None) is native
        assert engine.bf16_default(not native) is (not native)
