"""transformers' loading bars and peft's deprecation warning stay out of vocabx's output, and only inside."""

from __future__ import annotations

import warnings

import pytest


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=32, hidden_size=8, intermediate_size=16, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2)
    path = tmp_path_factory.mktemp("tiny")
    LlamaForCausalLM(config).save_pretrained(path)
    return path


def test_loading_and_wrapping_print_nothing_inside_and_bars_come_back_after(tiny_dir, capfd) -> None:
    import peft
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    from vocabx.quiet import quiet_loading

    hf_logging.enable_progress_bar()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_loading():
            model = AutoModelForCausalLM.from_pretrained(tiny_dir)
            peft.get_peft_model(model, peft.LoraConfig(r=2, target_modules="all-linear", task_type="CAUSAL_LM"))
    assert "Loading weights" not in capfd.readouterr().err
    assert not [w for w in caught if "is_gradient_checkpointing" in str(w.message)]
    assert hf_logging.is_progress_bar_enabled()  # restored: the filter is scoped to the load
    AutoModelForCausalLM.from_pretrained(tiny_dir)
    assert "Loading weights" in capfd.readouterr().err  # the bar this guards against exists outside
