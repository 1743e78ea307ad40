"""Every flag an error hint names exists on the command that raises it.

The hints are collected from the source by AST (`hint=` arguments, `hint = ...` assignments, `*_HINT` constants,
a second positional argument to an `...Error(...)`), each with its module and enclosing class or function;
SCOPES says which commands run that code. The `flags=` that corpus readers get (how their hints name the
reading options) are checked the same way. A flag after `vocabx CMD` in a hint belongs to CMD (a next step in
another command); flags after `pip` are pip's.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click
import pytest

from vocabx.cli.main import COMMANDS, main

ROOT = Path(__file__).resolve().parents[1] / "vocabx"
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*[a-z0-9]")
OTHER_COMMAND = re.compile(r"vocabx (train (?:cpt|sft|merge|distill)|export (?:gguf|patch)|[a-z]+)")

TRAINING = ("train cpt", "train sft", "train distill")
CORPUS_READERS = ("analyze", "extend", "verify", "train cpt", "train distill", "eval", "bench", "demo", "select")
WRITERS = ("analyze", "extend", "train cpt", "train sft", "train merge", "train distill", "eval", "bench", "demo",
           "select", "export gguf", "export patch", "apply")
EVERY = (*CORPUS_READERS, "train sft", "train merge", "corpora", "tokenizers")
TOKENIZER_USERS = ("analyze", "extend", "verify", "bench", "eval", "demo", "tokenizers")

# Which commands run the code of a module (`path`) or of one class/function in it (`path:Name`); the most
# specific key wins. The demo's own stages re-raise the stage commands' errors under the stage's name.
SCOPES: dict[str, tuple[str, ...]] = {
    "config.py": (*CORPUS_READERS, "train sft", "train merge"),  # the commands with --config
    "errors.py": EVERY,
    "outputs.py": WRITERS,
    "cache.py": EVERY,
    "lazy.py": EVERY,
    "corpus/": CORPUS_READERS,
    "corpus/cards.py": (*CORPUS_READERS, "corpora"),
    "adapters/": TOKENIZER_USERS,
    "analyze/": ("analyze",),
    "extend/": ("extend",),
    "extend/verify.py": ("extend", "verify"),
    "extend/probes.py": ("extend", "verify"),
    "extend/api.py:verify_pair": ("verify",),
    "extend/api.py:VerifyConfig": ("verify",),
    "model/": ("extend",),
    "model/checkpoint.py": ("extend", "eval", "train cpt", "train sft"),
    "model/default.py": ("extend", "eval", "train cpt", "train sft", "demo"),
    "train/": TRAINING,
    "train/cpt.py": ("train cpt",),
    "train/data.py": ("train cpt",),
    "train/config.py:CPTConfig": ("train cpt",),
    "train/config.py:SFTConfig": ("train sft",),
    "train/config.py:MergeConfig": ("train merge",),
    "train/sft.py": ("train sft",),
    "train/distill.py": ("train distill",),
    "train/distill_data.py": ("train distill",),
    "train/teacher.py": ("train distill",),
    "train/align.py": ("train distill",),
    "train/config.py:DistillConfig": ("train distill",),
    "select/": ("select",),
    "export/": ("export gguf",),
    "export/conformance.py": ("verify",),
    "export/runtime.py": ("export gguf", "verify"),
    "export/serving.py": ("export gguf", "verify"),
    "export/config.py:GGUFExportConfig": ("export gguf",),
    "export/config.py:PatchExportConfig": ("export patch",),
    "export/config.py:ApplyConfig": ("apply",),
    "export/to_gguf.py:check_output_file": ("export gguf",),
    "export/patch.py": ("export patch",),
    "export/delta.py": ("export patch", "apply"),
    "export/apply.py": ("apply",),
    "train/sft_data.py": ("train sft",),
    "train/merge.py": ("train merge", "train cpt", "train sft"),
    "train/merge.py:merge_adapter": ("train merge",),
    "train/merge.py:adapter_base": ("train merge",),
    "eval/": ("eval",),
    "bench/": ("bench",),
    "demo/": ("demo",),
    "cli/": EVERY,
}


def command_flags() -> dict[str, set[str]]:
    """Every command's option names, `train cpt` style for subcommands."""
    ctx = click.Context(main)
    found: dict[str, set[str]] = {}

    def visit(name: str, command: click.Command) -> None:
        if isinstance(command, click.Group):
            for sub in command.list_commands(ctx):
                visit(f"{name} {sub}", command.get_command(ctx, sub))
            return
        found[name] = {o for p in command.params for o in (*p.opts, *p.secondary_opts) if o.startswith("--")}

    for name in COMMANDS:
        visit(name, main.get_command(ctx, name))
    return found


def _strings(node: ast.AST) -> list[str]:
    """The literal text of an expression: constants and the fixed parts of f-strings, each on its own."""
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def collect_hints() -> list[tuple[str, str, str]]:
    """(location, scope key candidates joined by '|', literal hint text) for every hint in the package."""
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {t.id: " ".join(_strings(n.value)) for n in tree.body if isinstance(n, ast.Assign)
                     for t in n.targets if isinstance(t, ast.Name) and t.id.endswith(("_HINT", "_FLAGS"))}
        for owner, node in _walk_with_owner(tree, None):
            for value in _hint_values(node):
                texts = _strings(value) + [constants[n.id] for n in ast.walk(value)
                                           if isinstance(n, ast.Name) and n.id in constants]
                out += [(f"{rel}:{node.lineno}", f"{rel}:{owner}" if owner else rel, t) for t in texts]
    return out


def _walk_with_owner(node: ast.AST, owner: str | None):
    for child in ast.iter_child_nodes(node):
        inner = owner
        if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and owner is None:
            inner = child.name  # the top-level class or function the hint sits in
        yield owner, child
        yield from _walk_with_owner(child, inner)


def _hint_values(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.keyword) and node.arg in ("hint", "flags"):  # flags: how corpus hints name options
        return [node.value]
    if isinstance(node, (ast.Assign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if any((isinstance(t, ast.Name) and t.id == "hint") or (isinstance(t, ast.Attribute) and t.attr == "hint")
               for t in targets):
            return [node.value]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id.endswith("Error"):
        return node.args[1:2]
    return []


def scope_of(key: str) -> tuple[str, ...]:
    """The commands of the most specific SCOPES entry matching `module` or `module:Owner`."""
    module = key.split(":")[0]
    for candidate in (key, module):
        if candidate in SCOPES:
            return SCOPES[candidate]
    prefixes = [p for p in SCOPES if ":" not in p and p.endswith("/") and module.startswith(p)]
    if prefixes:
        return SCOPES[max(prefixes, key=len)]
    raise AssertionError(f"no SCOPES entry covers {key}: add one")


def flags_by_command(text: str, default: tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
    """Each flag in `text` with the commands it must belong to (pip's flags left out)."""
    pieces = re.split(r"(pip install|" + OTHER_COMMAND.pattern + r")", text)
    owners, result = default, []
    for piece in pieces:
        if piece is None:
            continue
        if piece == "pip install":
            owners = ()
        elif OTHER_COMMAND.fullmatch(piece):
            name = OTHER_COMMAND.fullmatch(piece).group(1)
            owners = (name,) if name in command_flags() else default
        else:
            result += [(flag, owners) for flag in FLAG.findall(piece)]
    return [(flag, owners) for flag, owners in result if owners]


def test_the_collector_finds_the_hints_it_must() -> None:
    hints = collect_hints()
    texts = " ".join(t for _, _, t in hints)
    assert len(hints) > 100 and "--resume" in texts and "--text-field" in texts
    assert flags_by_command("run `vocabx extend --budget 5` then --resume", ("train cpt",)) == [
        ("--budget", ("extend",)), ("--resume", ("extend",))]
    assert flags_by_command("pip install --no-deps x", ("analyze",)) == []


def test_every_hint_names_only_flags_of_the_commands_that_raise_it() -> None:
    flags = command_flags()
    wrong = []
    for where, key, text in collect_hints():
        for flag, owners in flags_by_command(text, scope_of(key)):
            missing = [c for c in owners if flag not in flags[c]]
            if missing:
                wrong.append(f"{where}: {flag} is not a flag of {', '.join(missing)}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("flag,command", [("--encoding", "analyze"), ("--split", "extend"),
                                          ("--skip-bad-records", "train cpt")])
def test_the_check_would_catch_the_reported_hints(flag, command) -> None:
    assert flag not in command_flags()[command]
