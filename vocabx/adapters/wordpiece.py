"""WordPiece vocabularies given as a bare `vocab.txt` (BERT layout), turned into a `tokenizer.json` pipeline.

BERT's pre-tokenizer puts every CJK character in a word of its own, so a multi-character Chinese entry can
never match unless that splitting is turned off; the extend adapter deals with that, this module only loads.
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers
from tokenizers.models import WordPiece

from vocabx.adapters.hf import HFTokenizerAdapter
from vocabx.errors import TokenizerError


def wordpiece_from_vocab(path: str | Path, *, lowercase: bool = True) -> HFTokenizerAdapter:
    """Build the standard BERT pipeline over `vocab.txt` (one token per line, line number = id)."""
    path = Path(path)
    # Split on "\n" only: str.splitlines() also breaks on U+2028/U+2029, which BERT vocabularies hold as tokens
    # (bert-base-chinese ids 343, 344), and would shift every later id.
    tokens = [line.removesuffix("\r") for line in path.read_text(encoding="utf-8").split("\n")]
    if tokens and tokens[-1] == "":
        tokens.pop()
    if not tokens or "[UNK]" not in tokens:
        raise TokenizerError(
            f"{path} does not look like a WordPiece vocab.txt (no [UNK] entry)",
            hint="a BERT vocab.txt has one token per line and includes [UNK]",
        )
    vocab = {tok: i for i, tok in enumerate(tokens)}
    tok = Tokenizer(WordPiece(vocab, unk_token="[UNK]", continuing_subword_prefix="##"))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    return HFTokenizerAdapter(tok.to_str(), name=path.parent.name or "wordpiece", source=str(path))
