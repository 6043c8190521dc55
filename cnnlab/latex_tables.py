"""cnnlab's Markdown tables as LaTeX, for a paper or a Beamer slide.

Every table cnnlab writes for people is Markdown: ``cnnlab summary MODEL --markdown``, a
zoo's ``zoo-<preset>.md`` and a design analysis's ``summary.md``. This turns one such file
into LaTeX (booktabs rules: ``\\usepackage{booktabs}``) that pdflatex compiles as it is:
its special characters escaped and the symbols cnnlab prints (→, ·, ±, †, …) written as
LaTeX writes them. Headings, lists and paragraphs around the tables come along.

    cnnlab summary lenet_d2l --markdown | python -m cnnlab.latex_tables > lenet.tex
    python -m cnnlab.latex_tables results/zoo-book.md > zoo.tex
"""

from __future__ import annotations

import re
import sys

# What pdflatex cannot take as it is, each as LaTeX writes it.
_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
            "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
            "^": r"\textasciicircum{}", "→": r"$\rightarrow$", "·": r"$\cdot$",
            "±": r"$\pm$", "†": r"\dag{}", "…": r"\dots{}", "×": r"$\times$",
            "−": r"$-$", "≥": r"$\geq$", "≤": r"$\leq$", "Δ": r"$\Delta$",
            "α": r"$\alpha$", "σ": r"$\sigma$", "—": "---", "–": "--", "²": r"$^2$",
            "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}
# And a dash before another, with "{}" after it: "--batch-size" kept as two hyphens, where
# TeX joins "--" into an en dash (the "–" typed as such is written "--" on purpose). So
# for "–" and "—" too: "––" (two en dashes) had been "----", an em dash and a hyphen, and
# "-–" (a hyphen, an en dash) "---", an em dash.
_DASHES = "-–—"
_SPECIAL = re.compile(f"[{_DASHES}](?=[{_DASHES}])|" + "|".join(map(re.escape, _ESCAPES)))
# Markdown's inline marks cnnlab writes: **bold** and `code`.
_INLINE = re.compile(r"\*\*(.+?)\*\*|`([^`]+)`")
_HEADINGS = {1: "section", 2: "subsection", 3: "subsubsection"}


def escape(text: str) -> str:
    """``text`` as LaTeX prints it, **bold** and `code` kept as bold and typewriter."""
    def plain(part: str) -> str:
        def one(match: re.Match) -> str:
            after = part[match.end():match.end() + 1]
            apart = match.group() in _DASHES and after != "" and after in _DASHES
            return _ESCAPES.get(match.group(), "-") + ("{}" if apart else "")

        return _SPECIAL.sub(one, part)

    out, at = [], 0
    for match in _INLINE.finditer(text):
        out.append(plain(text[at:match.start()]))
        bold, code = match.groups()
        out.append(rf"\textbf{{{escape(bold)}}}" if bold is not None
                   else rf"\texttt{{{plain(code)}}}")
        at = match.end()
    out.append(plain(text[at:]))
    return "".join(out)


def _cells(line: str) -> list[str]:
    """A Markdown table row's cells, an escaped ``\\|`` kept inside its cell."""
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", inner)]


def _is_rule(line: str) -> bool:
    cells = _cells(line)
    return bool(cells) and all(re.fullmatch(r":?-{3,}:?", c) for c in cells)


def table(lines: list[str]) -> str:
    """A Markdown table (header, rule, rows) as a booktabs ``tabular``: columns aligned as
    its rule says (``---:`` right, ``:---:`` centre, else left)."""
    header, rule, *rows = (_cells(line) for line in lines)
    align = ["c" if c.startswith(":") and c.endswith(":") else
             "r" if c.endswith(":") else "l" for c in rule]
    return tabular(header, rows, align)


def tabular(header: list[str], rows: list[list[str]], align: list[str],
            footer: list[str] | None = None) -> str:
    """A booktabs ``tabular`` of text cells (escaped here, **bold** kept): ``align`` one
    column spec each ("l", "r", "c", or "p{0.6\\linewidth}" for words that wrap), and a
    ``footer`` row (totals) under a rule of its own."""
    def row(cells: list[str]) -> str:
        cells = (cells + [""] * len(align))[:len(align)]  # a short row filled, as Markdown
        line = " & ".join(escape(c) for c in cells) + r" \\"
        # After the previous row's \\, a "[" would be read as its spacing argument
        # ("[1, 6, 28, 28]", a shape): "{}" ends that argument's search.
        return "{}" + line if line.startswith("[") else line

    last = [r"\midrule", row(footer)] if footer is not None else []
    return "\n".join([rf"\begin{{tabular}}{{{''.join(align)}}}", r"\toprule", row(header),
                      r"\midrule", *map(row, rows), *last, r"\bottomrule",
                      r"\end{tabular}"])


def markdown_to_latex(text: str) -> str:
    """``text`` (Markdown as cnnlab writes it) as LaTeX: tables, ``#`` headings (starred
    sections), ``- `` lists and paragraphs."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("|") and i + 1 < len(lines) and _is_rule(lines[i + 1]):
            end = i + 2
            while end < len(lines) and lines[end].lstrip().startswith("|"):
                end += 1
            out.append(table(lines[i:end]))
            i = end
            continue
        heading = re.match(r"(#{1,6})\s+(.*)", line)
        if heading:
            level = _HEADINGS.get(len(heading.group(1)), "paragraph")
            out.append(rf"\{level}*{{{escape(heading.group(2).strip())}}}")
        elif re.match(r"\s*[-*]\s+", line):
            items = []
            while i < len(lines) and re.match(r"\s*[-*]\s+", lines[i]):
                items.append(r"  \item " + escape(re.sub(r"\s*[-*]\s+", "", lines[i], count=1)))
                i += 1
            out += [r"\begin{itemize}", *items, r"\end{itemize}"]
            continue
        else:
            out.append(escape(line))
        i += 1
    return "\n".join(out).strip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m cnnlab.latex_tables [FILE.md]``: the file (standard input without
    one, or for "-") as LaTeX, on standard output. cnnlab writes its tables in UTF-8, and
    they are read so on every system (a Windows pipe's default is its code page)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or args and args[0] in ("-h", "--help"):
        print("usage: python -m cnnlab.latex_tables [FILE.md]  (standard input without "
              "FILE): a Markdown table cnnlab wrote, as LaTeX (\\usepackage{booktabs})",
              file=sys.stderr)
        return 0 if args and args[0] in ("-h", "--help") else 2
    name = args[0] if args and args[0] != "-" else None
    try:
        if name is not None:
            with open(name, encoding="utf-8") as f:
                text = f.read()
        else:
            text = sys.stdin.buffer.read().decode("utf-8")
    except OSError as exc:
        print(f"error: cannot read {name}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except UnicodeDecodeError as exc:
        print(f"error: {name or 'standard input'} is not UTF-8 text (byte {exc.start}): "
              "give a Markdown table cnnlab wrote, or save the file as UTF-8",
              file=sys.stderr)
        return 1
    sys.stdout.write(markdown_to_latex(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
