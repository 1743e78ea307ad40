"""Bits per character: windows by hand, uniform model by hand, sliding window equals the full pass when it fits."""

from __future__ import annotations

import math

import pytest
import torch

from vocabx.eval.bpc import bits_per_character, windows

TEXTS = ["The patient has a fever and a cough.", "患者发热咳嗽，血压升高。", "Take 5 mg."]


def test_windows_score_every_token_once():
    assert windows([0, 1, 2, 3, 4], 3, 2) == [([0, 1, 2], 2), ([2, 3, 4], 2)]
    for n in range(2, 30):
        assert sum(k for _, k in windows(list(range(n)), 7, 3)) == n - 1


@pytest.fixture(scope="module")
def model(tiny_models):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(tiny_models["single-untied"])).eval()


def test_uniform_model_by_hand(model, tiny_tok):
    """A zero head gives every token probability 1/V: bits = tokens * log2(V)."""
    import copy

    flat = copy.deepcopy(model)
    with torch.no_grad():
        flat.lm_head.weight.zero_()
    def encode(t):
        return tiny_tok.encode(t).ids

    res = bits_per_character(flat, encode, TEXTS, start_id=0)
    v = tiny_tok.get_vocab_size()
    assert res.tokens == sum(len(encode(t)) for t in TEXTS) and res.chars == sum(map(len, TEXTS))
    assert res.bits == pytest.approx(res.tokens * math.log2(v), rel=1e-6)


def test_sliding_window_and_batching_agree(model, tiny_tok):
    def encode(t):
        return tiny_tok.encode(t).ids

    full = bits_per_character(model, encode, TEXTS, start_id=0, max_length=128, stride=64, batch_size=1)
    batched = bits_per_character(model, encode, TEXTS, start_id=0, max_length=128, stride=64, batch_size=3)
    assert batched.bits == pytest.approx(full.bits, rel=1e-5)
    # a direct computation, one text at a time
    nats = 0.0
    with torch.no_grad():
        for t in TEXTS:
            ids = torch.tensor([[0, *encode(t)]])
            logp = model(input_ids=ids).logits.log_softmax(-1)[0, :-1]
            nats -= float(logp.gather(1, ids[0, 1:, None]).sum())
    assert full.bits == pytest.approx(nats / math.log(2), rel=1e-5)
    short = bits_per_character(model, encode, TEXTS, start_id=0, max_length=8, stride=4)
    assert short.tokens == full.tokens and short.bits > 0
