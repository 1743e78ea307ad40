"""`vocabx.train` data: packing, the replay schedule, chat messages and assistant-only labels (no model runs)."""

from __future__ import annotations

import numpy as np
import pytest

from tests._tiny_llama import DOMAIN_WORDS, GENERAL_WORDS, build_tokenizer, sentences
from vocabx.errors import CorpusError
from vocabx.train.data import Packed, interleave_schedule, mix_blocks, pack_texts, replay_blocks_needed
from vocabx.train.sft_data import IGNORE, PadCollator, encode, encode_all, to_messages


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer(sentences(DOMAIN_WORDS, 200, 1, "") + sentences(GENERAL_WORDS, 200, 2, " "))


def test_pack_keeps_every_token_in_order_and_counts_chars(tok) -> None:
    texts = ["the city river", "患者 血压", "music school team news"]
    packed = pack_texts(texts, tok, block_size=4)
    stream = [t for text in texts for t in tok(text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]]
    assert packed.ids.ravel().tolist() == stream[: len(packed) * 4]
    assert packed.dropped_tail_tokens == len(stream) - len(packed) * 4
    # Characters are spread over tokens, so full blocks cover all characters minus the dropped tail's share.
    assert packed.chars.sum() <= sum(map(len, texts)) + 1e-9 and packed.chars.sum() > 0


def test_pack_too_little_text_is_a_clear_error(tok) -> None:
    with pytest.raises(CorpusError, match="fewer than one block"):
        pack_texts(["hi"], tok, block_size=64)


def test_replay_schedule_holds_the_ratio_on_every_prefix() -> None:
    assert replay_blocks_needed(80, 0.2) == 20 and replay_blocks_needed(10, 0.0) == 0
    schedule = interleave_schedule(75, 25)
    prefix_share = np.cumsum(schedule) / np.arange(1, 101)
    assert schedule.sum() == 25
    assert np.all(np.abs(np.cumsum(schedule) - 0.25 * np.arange(1, 101)) <= 0.5)
    assert prefix_share[-1] == 0.25


def _packed(n: int, value: int) -> Packed:
    return Packed(np.full((n, 2), value, dtype=np.int32) + np.arange(n, dtype=np.int32)[:, None] * 10,
                  np.ones(n), documents=n)


def test_mix_is_deterministic_given_the_seed_and_reaches_the_ratio() -> None:
    domain, replay = _packed(60, 1), _packed(50, 5)
    a, b = mix_blocks(domain, replay, 0.25, seed=7), mix_blocks(domain, replay, 0.25, seed=7)
    c = mix_blocks(domain, replay, 0.25, seed=8)
    assert np.array_equal(a.ids.numpy(), b.ids.numpy()) and not np.array_equal(a.ids.numpy(), c.ids.numpy())
    assert len(a) == 80 and a.consumed(80)["replay_share"] == 0.25
    assert abs(a.consumed(33)["replay_share"] - 0.25) <= 0.5 / 33
    # Every domain block is used exactly once per pass: nothing lost, nothing repeated.
    domain_rows = a.ids.numpy()[~a.is_replay][:, 0]
    assert sorted(domain_rows.tolist()) == sorted(domain.ids[:, 0].tolist())


def test_short_replay_is_reused_and_counted() -> None:
    mix = mix_blocks(_packed(30, 1), _packed(4, 5), 0.5, seed=0)
    assert mix.counts["replay_blocks"] == 30 and mix.counts["replay_reused_blocks"] == 26


def test_alpaca_and_sharegpt_to_messages() -> None:
    assert to_messages({"instruction": "Add", "input": "1+1", "output": "2"}) == [
        {"role": "user", "content": "Add\n1+1"}, {"role": "assistant", "content": "2"}]
    share = {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}
    assert to_messages(share, system="S")[0] == {"role": "system", "content": "S"}
    assert to_messages({"text": "plain"}) is None
    assert to_messages({"conversations": [{"from": "alien", "value": "x"}]}) is None


def test_assistant_only_labels_by_hand(tok) -> None:
    messages = [{"role": "user", "content": "the city"}, {"role": "assistant", "content": "music"},
                {"role": "user", "content": "team"}, {"role": "assistant", "content": "news"}]
    ids, labels = encode(tok, messages)
    assert len(ids) == len(labels)
    kept = [t for t in labels if t != IGNORE]
    assert tok.decode(kept) == "music<|im_end|>\nnews<|im_end|>\n"
    # Everything else, user turns and the role headers included, is masked.
    masked = [t for t, lab in zip(ids, labels) if lab == IGNORE]
    assert "the city" in tok.decode(masked) and "music" not in tok.decode(masked)


def test_overlong_truncate_or_skip_is_counted(tok) -> None:
    long = {"instruction": " ".join(["city"] * 50), "output": "music"}
    short = {"instruction": "city", "output": "music"}
    skipped = encode_all([long, short], tok, max_length=40, overlong="skip")
    assert skipped.counts["skipped_overlong"] == 1 and len(skipped) == 1
    cut = encode_all([long, short, {"foo": 1}], tok, max_length=40, overlong="truncate")
    # The long prompt fills all 40 tokens: no assistant token survives, so it is skipped, and said so.
    assert cut.counts["skipped_no_labels_after_truncation"] == 1 and cut.counts["skipped_unknown_format"] == 1
    assert all(len(x) <= 40 for x in cut.ids)


def test_pad_collator_masks_padding() -> None:
    batch = PadCollator(pad_id=0)([{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]}, {"input_ids": [8], "labels": [8]}])
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [8, -100, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
