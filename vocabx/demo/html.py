"""`report.html`: the demo report as one self-contained page (inline CSS, charts embedded as base64 PNG), with
token boundaries drawn as alternating shaded spans."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape
from typing import Any

from vocabx.demo.figures import caveats
from vocabx.demo.report import (
    HEADLINE_NOTE,
    OUTPUT_NOTES,
    bench_rows,
    bench_sample,
    headline_header,
    headline_rows,
    title,
    total_line,
)
from vocabx.demo.stages import Workspace

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC",sans-serif;max-width:960px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.5}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:right}
td:first-child,th:first-child,td:nth-child(2){text-align:left}th{background:#f4f4f4}
.better{color:#1a7f37}.worse{color:#b42318}
.tok{display:inline-block;padding:0 1px;margin:1px 0;border-radius:2px}
.tok:nth-child(odd){background:#dbeafe}.tok:nth-child(even){background:#fde68a}
.split{outline:1px dashed #b42318}.cut{margin:.2em 0 .2em 1.5em}.label{display:inline-block;width:11em;color:#555}
figure{margin:1em 0}figure img{max-width:100%}figcaption{color:#555;font-size:.9em}.note{color:#555;font-size:.9em}
"""


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(text: str) -> str:
    kind = "better" if text.endswith("(better)") else "worse" if text.endswith("(worse)") else ""
    return f'<td class="{kind}">{escape(text)}</td>' if kind else f"<td>{escape(text)}</td>"


def _tokens(segments: Sequence[Sequence[Any]]) -> str:
    """One span per segment; a character that took several byte tokens is outlined and says so on hover."""
    spans = []
    for text, n in segments:
        shown = escape(text.replace("\n", "⏎"))
        if n > 1:
            spans.append(f'<span class="tok split" title="{n} tokens for this text">{shown}</span>')
        else:
            spans.append(f'<span class="tok">{shown}</span>')
    return "".join(spans)


def _markdown_bold(line: str) -> str:
    """The `**stage**:` openings of the what-ran lines as <b>."""
    head, sep, rest = line.partition("**: ")
    return f"<b>{escape(head.lstrip('*'))}</b>: {escape(rest)}" if sep else escape(line)


def _chart(ws: Workspace, path: str, caption: str) -> str:
    data = base64.b64encode((ws.out / path).read_bytes()).decode("ascii")
    return (f'<figure><img alt="{escape(caption)}" src="data:image/png;base64,{data}">'
            f'<figcaption>{escape(caption)} (<a href="{escape(path)}">{escape(path)}</a>)</figcaption></figure>')


def render_html(ws: Workspace, content: dict[str, Any]) -> str:
    figures, records = content["figures"], content["records"]
    parts = [(f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title(ws))}</title>"
             f"<style>{STYLE}</style></head><body><h1>{escape(title(ws))}</h1>"), "<h2>What ran</h2><ol>"]
    parts += [f"<li>{_markdown_bold(line)}</li>" for line in content["runs"]]
    parts += ["</ol><h2>What changed (held-out text)</h2>",
              _table(headline_header(figures), headline_rows(figures)),
              *(f'<p class="note"><strong>Note:</strong> {escape(caveat)}</p>' for caveat in caveats(figures)),
              f'<p class="note">{escape(HEADLINE_NOTE)}</p>',
              f'<h2>Tokenizers</h2><p class="note">{escape(bench_sample(figures).replace("`", ""))}</p>',
              _table(["tokenizer", "corpus", "chars/token", "context gain", "encode MB/s"], bench_rows(figures)),
              ("<h2>Example tokenizations (held-out)</h2>"
              '<p class="note">Shaded spans are tokens; an outlined span is text that took several tokens '
              "(a character split into bytes).</p>")]
    for example in content["examples"]:
        parts.append(f"<p>{escape(example['text'])}</p>")
        parts += [f'<div class="cut"><span class="label">{escape(cut["label"])} ({cut["tokens"]} tokens)</span>'
                  f"{_tokens(cut['segments'])}</div>" for cut in example["tokenizers"]]
    parts.append("<h2>Charts</h2>")
    parts += [_chart(ws, path, caption) for path, caption in content["charts"]]
    rows = [[r.name, f"{r.wall_s:.1f}", f"{r.cpu_s:.1f}"] for r in records]
    links = "".join(f'<li><a href="{d}/">{d}/</a>: {escape(note)}</li>' for d, note in OUTPUT_NOTES.items()
                    if (ws.out / d).is_dir())
    parts += ["<h2>Stage timings</h2>", _table(["stage", "wall s", "CPU s"], rows),
              f'<p class="note">{escape(total_line(ws, records, figures))}</p>',
              (f"<h2>Outputs</h2><ul>{links}<li>manifest.json: the resolved config, inputs, stages and timings, "
              "written last</li></ul></body></html>")]
    return "\n".join(parts) + "\n"
