"""Deployable outputs of an extended model: a GGUF for llama.cpp (`to_gguf`, through llama.cpp's own converter
told the pre-tokenizer, or GGUF in, GGUF out from a GGUF base), conformance and serving-safety checks
(`conformance`, `serving`), and a small patch against the base that `apply` rebuilds bit for bit.

    vocab.py        llama.cpp's GGUF vocabulary keys from a tokenizer directory, or appended to a base GGUF's
    pretok.py       the base's llama.cpp pre-tokenizer type: recorded at extend time, resolved at export
    converter.py    llama.cpp's convert_hf_to_gguf.py: found, unpacked from the llama-cpp-python sdist, run told
    ggufwrite.py    GGUF files vocabx writes itself: vocabulary only, and a base GGUF with grown vocab tensors
    from_base.py    GGUF in, GGUF out for an untrained extension of a GGUF base (old rows bit-identical)
    to_gguf.py      export_gguf(config): checks, routes, atomic OUT
    runtime.py      llama.cpp through llama-cpp-python: tokenize, detokenize, greedy decoding
    conformance.py  llama.cpp vs Hugging Face: tokenization, detokenization of new tokens, greedy generation
    serving.py      new entries are ordinary vocabulary (no added/special tokens, kept by skip_special_tokens)
    delta.py        byte deltas of small files (tokenizer.json, config.json)
    patch.py        export_patch(config): new rows + deltas + base hashes, verified by rebuilding
    apply.py        apply_patch(config): base + patch -> the extended model, every hash checked
    config.py       the command configs
"""
