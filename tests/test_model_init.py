"""Initialization methods: each on a case small enough to check by hand, plus logit-match on a tiny model."""

from __future__ import annotations

import pytest
import torch

from tests._checkpoints import make_extension
from vocabx.errors import UsageError
from vocabx.model.checkpoint import read_checkpoint
from vocabx.model.init import INPUT_METHODS, OUTPUT_METHODS, check_methods, init_rows, piece_weights
from vocabx.model.surgery import read_tensor

OLD = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 0.0]])


def test_subword_mean_by_hand():
    rows, counts = init_rows("subword-mean", OLD, [[0, 1], [2], []])
    assert rows.tolist() == [[2.0, 3.0], [5.0, 0.0], [3.0, 2.0]]  # last: no pieces -> the mean
    assert counts == {"subword_mean": 1, "subword_single_piece": 1, "fallback_mean": 1}


def test_piece_weights_by_hand():
    assert piece_weights(3, 0) == pytest.approx([4 / 7, 2 / 7, 1 / 7])  # 1, 1/2, 1/4 normalized
    assert piece_weights(3, -1) == pytest.approx([1 / 7, 2 / 7, 4 / 7])
    assert piece_weights(2, 0) == pytest.approx([2 / 3, 1 / 3])
    assert piece_weights(1, -1) == [1.0] and piece_weights(0, 0) == []
    assert piece_weights(4, None) == [0.25] * 4
    for k in range(1, 12):
        assert sum(piece_weights(k, 0)) == pytest.approx(1.0)


def test_subword_first_and_last_by_hand():
    first, counts = init_rows("subword-first", OLD, [[0, 1, 2], [2], []])
    # 4/7 [1, 2] + 2/7 [3, 4] + 1/7 [5, 0] = [15/7, 16/7]; a single piece is its row; no piece: the mean
    torch.testing.assert_close(first, torch.tensor([[15 / 7, 16 / 7], [5.0, 0.0], [3.0, 2.0]]))
    assert counts == {"subword_first": 1, "subword_single_piece": 1, "fallback_mean": 1}
    assert init_rows("subword-first", OLD, [])[0].shape == (0, 2)  # an extension that adds nothing
    assert init_rows("subword-last", OLD, [[], []])[0].tolist() == [[3.0, 2.0], [3.0, 2.0]]
    last, _ = init_rows("subword-last", OLD, [[0, 1, 2]])
    torch.testing.assert_close(last, torch.tensor([[27 / 7, 10 / 7]]))  # 1/7 [1, 2] + 2/7 [3, 4] + 4/7 [5, 0]


def test_subword_mean_norm_by_hand():
    rows, counts = init_rows("subword-mean-norm", OLD, [[0, 2], [1]])
    # mean [3, 1] (length sqrt 10), stretched to the pieces' mean length (sqrt 5 + 5) / 2
    scale = (5**0.5 + 5) / 2 / 10**0.5
    torch.testing.assert_close(rows, torch.tensor([[3 * scale, 1 * scale], [3.0, 4.0]]))
    assert counts["subword_mean_norm"] == 1
    assert float(rows[0].norm()) == pytest.approx((5**0.5 + 5) / 2)


def test_weighted_subword_keeps_bf16_rows_exact_in_float32():
    old = OLD.to(torch.bfloat16)
    rows, _ = init_rows("subword-first", old, [[0, 1]])
    assert rows.dtype == torch.float32
    torch.testing.assert_close(rows, torch.tensor([[2 / 3 * 1 + 1 / 3 * 3, 2 / 3 * 2 + 1 / 3 * 4]]))


def test_mean_zero_random():
    assert init_rows("mean", OLD, [[0], [1]])[0].tolist() == [[3.0, 2.0], [3.0, 2.0]]
    assert init_rows("zero", OLD, [[0]])[0].tolist() == [[0.0, 0.0]]
    rnd, counts = init_rows("random", torch.zeros(10, 256), [[0]] * 200, seed=1, initializer_range=0.02)
    assert counts == {"random": 200} and abs(float(rnd.std()) - 0.02) < 0.002
    assert torch.equal(rnd, init_rows("random", torch.zeros(10, 256), [[0]] * 200, seed=1)[0])  # seeded


def test_mean_noise_is_small_and_breaks_symmetry():
    torch.manual_seed(0)
    old = torch.randn(500, 8)
    rows, _ = init_rows("mean-noise", old, [[0]] * 4)
    mean = old.double().mean(0).float()
    assert not torch.equal(rows[0], rows[1])
    assert float((rows - mean).abs().max()) < 0.05  # sqrt(1e-5) * unit variance ~ 0.003 per dim


def test_check_methods_lists_valid_choices():
    assert check_methods("mean", None) == ("mean", "mean")
    assert check_methods("subword-mean", "logit-match") == ("subword-mean", "logit-match")
    assert check_methods("subword-last", "subword-first") == ("subword-last", "subword-first")
    assert {"subword-last", "subword-first", "subword-mean-norm"} <= set(INPUT_METHODS) & set(OUTPUT_METHODS)
    with pytest.raises(UsageError) as err:
        check_methods("avg", None)
    assert all(m in err.value.hint for m in INPUT_METHODS)
    with pytest.raises(UsageError, match="input-side") as err:
        check_methods("logit-match", None)
    assert "--init-output" in err.value.hint


def test_logit_match_first_piece_plus_shift(tiny_models, tiny_tok):
    from tests._checkpoints import CORPUS
    from vocabx.model.logit_match import logit_match_rows

    ckpt = read_checkpoint(tiny_models["single-untied"])
    head = read_tensor(ckpt, "lm_head.weight")
    ext = make_extension(tiny_tok)
    pieces = {e.id: ext.base.encode(e.text) for e in ext.added}
    rows, counts = logit_match_rows(ckpt.path, head, pieces, ext.base, ext.extended, CORPUS[:8], start_id=0)
    assert counts["logit_match"] == 3 and counts["logit_match_seen_in_corpus"] >= 1
    assert counts["logit_match_seen_in_corpus"] + counts["logit_match_unseen_median"] == 3
    assert counts["logit_match_mean_shift_nats"] < 0  # continuations have probability < 1
    shift = rows - head[[p[0] for p in pieces.values()]]
    # all shifts lie along one direction b, scaled by each term's continuation log-prob
    cos = torch.nn.functional.cosine_similarity(shift[0], shift[1], dim=0)
    assert abs(abs(float(cos)) - 1) < 1e-4


def test_logit_match_needs_a_corpus(tiny_models, tiny_tok, tmp_path):
    from vocabx.model import extend_model

    with pytest.raises(UsageError, match="logit-match needs domain text") as err:
        extend_model(tiny_models["single-untied"], make_extension(tiny_tok), tmp_path / "out", init_output="logit-match")
    assert "--corpus" in err.value.hint
    assert not (tmp_path / "out").exists()


def test_logit_match_end_to_end(tiny_models, tiny_tok, tmp_path):
    from tests._checkpoints import CORPUS
    from vocabx.model import extend_model

    ext = make_extension(tiny_tok)
    counts = extend_model(tiny_models["single-tied"], ext, tmp_path / "out", init="subword-mean",
                          init_output="logit-match", corpus=CORPUS[:8])
    assert counts["untied"] and counts["logits_check"] == "passed"
    assert counts["init_output_counts"]["logit_match"] == 3


def test_base_pieces_of_a_partial_utf8_intermediate(tiny_tok):
    """A byte-level intermediate that ends inside a character: split its token string, not its U+FFFD text."""
    from vocabx.extend.base import NewEntry
    from vocabx.model.init import base_pieces

    ext = make_extension(tiny_tok)
    token = ext.base.term_to_token("高血压")[:4]  # 高 (3 bytes) + the first byte of 血
    entry = NewEntry(token=token, text=bytes([0xE9]).decode("utf-8", "replace"), id=999, kind="intermediate")
    ids = base_pieces(entry, ext.base)
    assert "".join(ext.base.id_to_token(i) for i in ids) == token


def test_subword_last_first_unties_a_tied_model(tiny_models, tiny_tok, tmp_path):
    """The recommended pair on a tied model: its own head, input rows from subword-last, output from subword-first."""
    from vocabx.model import extend_model

    ext = make_extension(tiny_tok)
    counts = extend_model(tiny_models["single-tied"], ext, tmp_path / "out", init="subword-last",
                          init_output="subword-first")
    assert counts["untied"] and counts["logits_check"] == "passed" and counts["old_rows_identical"]
    base = read_tensor(read_checkpoint(tiny_models["single-tied"]), "model.embed_tokens.weight")
    out = read_checkpoint(tmp_path / "out")
    emb, head = read_tensor(out, "model.embed_tokens.weight"), read_tensor(out, "lm_head.weight")
    for entry in ext.added:
        ids = ext.base.encode(entry.text)
        w = torch.tensor(piece_weights(len(ids), 0))
        assert torch.allclose(head[entry.id], w @ base[ids], atol=1e-6)
        assert torch.allclose(emb[entry.id], w.flip(0) @ base[ids], atol=1e-6)
    assert torch.equal(head[: base.shape[0]], base) and torch.equal(emb[: base.shape[0]], base)
