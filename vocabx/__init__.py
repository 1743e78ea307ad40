"""vocabx: adapt a pretrained LLM's vocabulary to a domain or a language.

analyze a corpus -> extend the tokenizer and the model -> train (continued pretraining, SFT) -> bench and eval.
"""

__version__ = "0.1.0"
