"""What instruction tuning changes: bits per character of held-out answers given their prompts (rendered with the
model's chat template, so the model is scored as it is used), and greedy answers to the same prompts from both
models, side by side. A model that got "dumber" on general instructions shows it here first.

Records are Alpaca ({instruction, input, output}) or ShareGPT ({conversations}), read as `vocabx train sft` reads
them; the scored tokens are those `train sft` puts its loss on (each assistant turn and its end-of-turn marker),
divided by the characters of the assistant turns.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from vocabx.errors import CorpusError, ModelError
from vocabx.eval.bpc import BPCResult

if TYPE_CHECKING:
    from transformers import PreTrainedModel

log = logging.getLogger(__name__)

Messages = list[dict[str, str]]


@dataclass
class InstructionSet:
    """Held-out conversations of one `[NAME=]SPEC`, with their role (general or domain)."""

    label: str
    spec: str
    role: str
    conversations: list[Messages]

    def describe(self) -> dict[str, object]:
        return {"label": self.label, "spec": self.spec, "role": self.role, "docs": len(self.conversations)}


def read_instructions(label: str, spec: str, role: str, max_docs: int) -> InstructionSet:
    """The first `max_docs` usable conversations of SPEC (records that are neither format are skipped)."""
    from vocabx.train.sft_data import read_records, to_messages

    conversations = []
    for record in read_records([spec]):
        messages = to_messages(record)
        if messages and any(m["role"] == "assistant" for m in messages[1:]):
            conversations.append(messages)
        if len(conversations) >= max_docs:
            break
    if not conversations:
        raise CorpusError(f"instruction set {spec} holds no Alpaca or ShareGPT conversation",
                          hint="pass Alpaca {instruction,input,output} or ShareGPT {conversations:[...]} records")
    return InstructionSet(label, spec, role, conversations)


def _check_template(tokenizer, where: str) -> None:
    if not getattr(tokenizer, "chat_template", None):
        raise ModelError(f"{where}: the tokenizer has no chat template, so instruction answers cannot be scored",
                         hint="drop --general-instructions/--domain-instructions, or use an instruct model")


def answer_bpc(model: PreTrainedModel, tokenizer, conversations: Sequence[Messages], context: int,
               where: str = "model") -> BPCResult:
    """Total NLL (bits) of the assistant tokens over the assistant characters, one conversation per forward pass
    (cut to the model's context; a conversation with no assistant token left is not counted)."""
    from vocabx.train.sft_data import IGNORE, encode

    _check_template(tokenizer, where)
    nats = 0.0
    chars = tokens = docs = 0
    for messages in conversations:
        encoded = encode(tokenizer, messages)
        if isinstance(encoded, str):
            log.warning("%s: a conversation was skipped (%s)", where, encoded)
            continue
        ids, labels = (x[:context] for x in encoded)
        targets = torch.tensor(labels[1:])
        scored = targets != IGNORE
        if not bool(scored.any()):
            continue
        with torch.inference_mode():
            logits = model(input_ids=torch.tensor([ids])).logits[0, :-1].float()
        nll = torch.nn.functional.cross_entropy(logits[scored], targets[scored], reduction="sum")
        nats += float(nll)
        tokens += int(scored.sum())
        chars += sum(len(m["content"]) for m in messages if m["role"] == "assistant")
        docs += 1
    return BPCResult(bits=nats / math.log(2), chars=chars, tokens=tokens, docs=docs)


def greedy_answers(model: PreTrainedModel, tokenizer, conversations: Sequence[Messages], new_tokens: int,
                   where: str = "model") -> list[str]:
    """The model's greedy answer (up to `new_tokens`, stopping at end of turn) to the first user turn of each."""
    from transformers import GenerationConfig

    _check_template(tokenizer, where)
    eos = tokenizer.eos_token_id
    gen = GenerationConfig(max_new_tokens=new_tokens, do_sample=False, eos_token_id=eos, pad_token_id=eos)
    answers = []
    for messages in conversations:
        prompt = prompt_messages(messages)
        ids = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, return_tensors="pt",
                                            return_dict=True)["input_ids"]
        with torch.inference_mode():
            # generate() comes from GenerationMixin, a base of every causal LM class but not of PreTrainedModel.
            out = model.generate(  # type: ignore[operator]
                input_ids=ids, attention_mask=torch.ones_like(ids), generation_config=gen)
        answers.append(tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True).strip())
    return answers


def prompt_messages(messages: Messages) -> Messages:
    """The conversation up to (not including) its first assistant turn."""
    first = next(k for k, m in enumerate(messages) if m["role"] == "assistant")
    return messages[:first]


def prompt_text(messages: Messages) -> str:
    """The user's part of the prompt, for the report."""
    return "\n".join(m["content"] for m in prompt_messages(messages) if m["role"] == "user")
