"""Turn executed notebooks into teaching material (the second half of
`npm run export`; scripts/export.mjs runs the notebooks first).

    .venv/bin/python scripts/notebooks/export.py --executed DIR --out DIR

For each executed notebook in --executed it writes to --out:
  <name>.html            page with the JupyterLab look (nbconvert, no CDN: images
                         embedded, charts drawn by assets/plotly.min.js, a local
                         file), works offline
  assets/                what every page would otherwise repeat: plotly.js,
                         TensorFlow.js and the drawing pad's code, the notebook
                         CSS (each page links them, so the export stays small)
  notebooks/<name>.ipynb the executed notebooks, outputs kept (drawing pads
                         point to the HTML page instead of carrying TensorFlow.js)
  <name>.md              Markdown version; it references the figure files
  handout.html           every notebook in one printable page with a table of
                         contents (scripts/export.mjs prints it to handout.pdf)
  figures/<name>/        every figure as SVG or PNG, named by cell
  tables/<name>--<table>.{md,csv,json}
                         every results table shown with lab.showTable()
  index.html, manifest.json
                         links to all of it, with the mode and run times
A quick-mode export says so in a banner at the top of every page.
"""
from __future__ import annotations

import argparse
import base64
import copy
import csv
import datetime
import hashlib
import html
import itertools
import io
import json
import os
import re
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter, MarkdownExporter

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = Path(__file__).resolve().parent / "templates"
TABLE_MARKER = "mnist-lab-table"  # keep in step with TABLE_MARKER in src/notebook.ts
TABLE_DATA = re.compile(r'<script type="application/json" class="' + TABLE_MARKER + r'-data">(.*?)</script>', re.S)
FIGURE_DATA = re.compile(r'<script type="application/json" class="mnist-lab-figure-data">(.*?)</script>', re.S)
SCRIPT = re.compile(r"<script\b.*?</script>", re.S | re.I)
DATA_URI_PNG = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
# plotly.js, copied once into the export and loaded by relative path: offline,
# and not megabytes again in every page. The cartesian bundle, as in src/viz/plotly.ts.
PLOTLY_SOURCE = ROOT / "node_modules" / "plotly.js-cartesian-dist-min" / "plotly-cartesian.min.js"
PLOTLY_ASSET = "assets/plotly.min.js"
PLOTLY_MIME = "application/vnd.plotly.v1+json"  # keep in step with PLOTLY_MIME in src/viz/notebook.ts
QUICK_BANNER = (
    "> **Quick mode: these are not the real results.** This export ran every notebook on a small subset "
    "(2,000 training examples, 2 epochs), so curves, accuracies and ablation numbers are far from the tutorials' "
    "and can contradict the text. Run `npm run export` (full mode) for material to hand out."
)
CHART_IDS = itertools.count(1)
# Scripts a page marks as shared by name (src/pad/index.ts: TensorFlow.js and the pad's code).
# (nbconvert may reorder a tag's attributes.)
ASSET_SCRIPT = re.compile(r'<script\b[^>]*\bdata-mnist-lab-asset="([\w.-]+)"[^>]*>(.*?)</script>', re.S)
STYLE_BLOCK = re.compile(r"<style[^>]*>(.*?)</style>", re.S)
# Style blocks this large are nbconvert's JupyterLab theme, the same in every page; small ones stay inline.
SHARED_STYLE_CHARS = 8000
PAD_MARKER = 'data-mnist-lab="drawing-pad"'  # keep in step with PAD_ROOT_ATTRIBUTE/VALUE in src/pad/spec.ts
CDN_SCRIPT = re.compile(r'<script[^>]+src="https?://[^"]*(plotly|require)[^"]*"[^>]*>\s*</script>', re.I)


def write_atomic(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if isinstance(data, bytes):
        temporary.write_bytes(data)
    else:
        temporary.write_text(data, encoding="utf-8")
    temporary.replace(path)


def with_shared_assets(page: str, out: Path) -> str:
    """Move the scripts and style sheets every page repeats into out/assets/, linked by relative path (offline)."""

    def script(match: re.Match) -> str:
        name, source = match.group(1), match.group(2)
        write_asset(out, name, source)
        return f'<script src="assets/{name}"></script>'

    def style(match: re.Match) -> str:
        css = match.group(1)
        if len(css) < SHARED_STYLE_CHARS:
            return match.group(0)
        name = f"notebook-{hashlib.sha1(css.encode()).hexdigest()[:12]}.css"
        write_asset(out, name, css)
        return f'<link rel="stylesheet" href="assets/{name}">'

    return STYLE_BLOCK.sub(style, ASSET_SCRIPT.sub(script, page))


def write_asset(out: Path, name: str, content: str | bytes) -> None:
    file = out / "assets" / name
    data = content.encode() if isinstance(content, str) else content
    if not file.exists() or file.read_bytes() != data:
        write_atomic(file, data)


def pad_note(page: str) -> str:
    return f"*(Drawing pad: open {page} to draw digits and watch the network answer.)*"


def slim_executed(path: Path) -> None:
    """The executed notebook without the drawing pads' megabytes of script: a note points to the HTML page."""
    notebook = nbformat.read(path, as_version=4)
    changed = False
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if PAD_MARKER in as_text(output.get("data", {}).get("text/html", "")):
                output["data"] = {"text/markdown": pad_note(f"[{path.stem}.html](../{path.stem}.html)")}
                changed = True
    if changed:
        write_atomic(path, nbformat.writes(notebook))


def top_level_svgs(markup: str) -> list[str]:
    """Every outermost <svg>...</svg> in an HTML fragment (nested ones stay inside)."""
    found, depth, start = [], 0, 0
    for match in re.finditer(r"<svg\b|</svg>", markup):
        if match.group(0) == "</svg>":
            depth -= 1
            if depth == 0:
                found.append(markup[start:match.end()])
        else:
            if depth == 0:
                start = match.start()
            depth += 1
    return found


def standalone_svg(svg: str) -> str:
    # Inline SVG in HTML may omit the namespace; a .svg file must have it.
    if "xmlns=" not in svg[: svg.find(">")]:
        svg = svg.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + svg + "\n"


def as_text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def figures_of_output(output: dict) -> list[tuple[str, str | bytes]]:
    """(extension, content) for every figure in one output."""
    data = output.get("data", {})
    if "image/svg+xml" in data:
        return [("svg", standalone_svg(as_text(data["image/svg+xml"])))]
    if "image/png" in data:
        return [("png", base64.b64decode(as_text(data["image/png"])))]
    # Scripts (plotly.js itself, chart specs) contain SVG snippets as strings.
    markup = SCRIPT.sub("", as_text(data.get("text/html", "")))
    figures: list[tuple[str, str | bytes]] = [("svg", standalone_svg(svg)) for svg in top_level_svgs(markup)]
    figures += [("png", base64.b64decode(encoded)) for encoded in DATA_URI_PNG.findall(markup)]
    return figures


def tables_of_output(output: dict) -> list[dict]:
    markup = as_text(output.get("data", {}).get("text/html", ""))
    return [json.loads(html.unescape(raw) if raw.lstrip().startswith("&") else raw) for raw in TABLE_DATA.findall(markup)]


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def table_markdown(table: dict) -> str:
    columns = table["columns"]
    lines = ["| " + " | ".join(columns) + " |", "| " + " | ".join("---" for _ in columns) + " |"]
    for row in table["rows"]:
        lines.append("| " + " | ".join(cell_text(row.get(column)).replace("|", "\\|") for column in columns) + " |")
    return "\n".join(lines) + "\n"


def table_csv(table: dict) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table["columns"])
    for row in table["rows"]:
        writer.writerow(["" if row.get(column) is None else row.get(column) for column in table["columns"]])
    return buffer.getvalue()


def use_local_plotly(page: str) -> str:
    """Drop CDN script tags; load plotly.js from the export's assets folder when the page draws charts."""
    page = CDN_SCRIPT.sub("", page)
    if re.search(r"\bPlotly\.(newPlot|react|plot)\b", page):
        page = page.replace("</head>", f'<script src="{PLOTLY_ASSET}"></script>\n</head>', 1)
    return page


def chart_html(spec: dict, svg_html: str) -> str:
    """A plotly chart drawn over its static SVG (the SVG stays where scripts do not run)."""
    element = "mnist-lab-" + hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12] + f"-{next(CHART_IDS)}"
    inner = re.sub(r'^<div class="mnist-lab-figure"[^>]*>|</div>$', "", svg_html.strip())
    payload = json.dumps(spec).replace("<", "\\u003c")
    return (
        f'<div class="mnist-lab-figure" data-figure="chart" id="{element}">{inner}</div>'
        f'<script type="text/javascript">(function(){{var spec={payload};var tries=0;function draw(){{var div=document.getElementById("{element}");'
        "if(!div)return;if(window.Plotly&&window.Plotly.newPlot){div.innerHTML='';div.setAttribute('data-rendered','plotly');"
        "window.Plotly.newPlot(div,spec.data,spec.layout,spec.config);}else if(++tries<100){setTimeout(draw,50);}}draw();})();</script>"
    )


def for_html(notebook, interactive: bool) -> None:
    """Charts (plotly MIME type) as HTML nbconvert keeps: drawn by plotly.js, or static SVG for print."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = output.get("data", {})
            spec = data.pop(PLOTLY_MIME, None)
            if spec is not None and interactive:
                data["text/html"] = chart_html(spec, as_text(data.get("text/html", "")))


def with_banner(notebook, mode: str) -> None:
    if mode == "quick":
        notebook.cells.insert(0, nbformat.v4.new_markdown_cell(QUICK_BANNER))


def strip_table_data(markup: str) -> str:
    return TABLE_DATA.sub("", FIGURE_DATA.sub("", markup))


def export_notebook(path: Path, out: Path, mode: str) -> dict:
    name = path.stem
    notebook = nbformat.read(path, as_version=4)
    record: dict = {"name": name, "title": notebook_title(notebook, name), "figures": [], "tables": [], "sections": notebook_sections(notebook)}
    # Markdown points at the figure files instead of carrying them (charts would drag plotly.js along).
    figure_links: dict[int, list[str]] = {}

    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        figure_number = 0
        for output_number, output in enumerate(cell.get("outputs", [])):
            for extension, content in figures_of_output(output):
                figure_number += 1
                file = out / "figures" / name / f"cell{index:02d}-{figure_number}.{extension}"
                write_atomic(file, content)
                record["figures"].append(str(file.relative_to(out)))
                figure_links.setdefault(id(output), []).append(str(file.relative_to(out)))
            for table in tables_of_output(output):
                base = out / "tables" / f"{name}--{table['name']}"
                write_atomic(base.with_suffix(".json"), json.dumps(table, indent=2) + "\n")
                write_atomic(base.with_suffix(".csv"), table_csv(table))
                write_atomic(base.with_suffix(".md"), f"# {table['name']} ({name})\n\n" + table_markdown(table))
                record["tables"].append({"name": table["name"], "files": [str(base.with_suffix(s).relative_to(out)) for s in (".md", ".csv", ".json")]})

    with_banner(notebook, mode)
    interactive = copy.deepcopy(notebook)
    for_html(interactive, interactive=True)
    html_exporter = HTMLExporter(template_name="mnist-lab", extra_template_basedirs=[str(TEMPLATES)], embed_images=True)
    page, _ = html_exporter.from_notebook_node(interactive, resources={"metadata": {"name": record["title"]}})
    write_atomic(out / f"{name}.html", with_shared_assets(use_local_plotly(page), out))
    record["html"] = f"{name}.html"

    # For print: the same page with static SVG charts and no scripts.
    printable = copy.deepcopy(notebook)
    for_html(printable, interactive=False)
    print_page, _ = html_exporter.from_notebook_node(printable, resources={"metadata": {"name": record["title"]}})
    record["printBody"] = SCRIPT.sub("", body_of(print_page))
    record["printHead"] = with_shared_assets(SCRIPT.sub("", head_of(print_page)), out)

    # Markdown: figures as links to their files, tables as Markdown; the exporter-only JSON dropped.
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = output.get("data", {})
            links = figure_links.get(id(output))
            if links:
                output["data"] = {"text/markdown": "\n\n".join(f"![{Path(link).stem}]({link})" for link in links)}
                continue
            data.pop(PLOTLY_MIME, None)
            markup = as_text(data.get("text/html", ""))
            tables = tables_of_output(output)
            if tables:
                output["data"] = {"text/markdown": "\n".join(table_markdown(table) for table in tables)}
            elif PAD_MARKER in markup:
                # A drawing pad carries TensorFlow.js and the model (megabytes of script): Markdown cannot run it.
                output["data"] = {"text/markdown": pad_note("the HTML export of this notebook")}
            elif markup:
                data["text/html"] = strip_table_data(markup)
    markdown_exporter = MarkdownExporter()
    body, resources = markdown_exporter.from_notebook_node(
        notebook, resources={"output_files_dir": f"figures/{name}/markdown", "metadata": {"name": name}}
    )
    for file_name, content in resources.get("outputs", {}).items():
        write_atomic(out / file_name, content)
    write_atomic(out / f"{name}.md", body)
    record["markdown"] = f"{name}.md"
    return record


def body_of(page: str) -> str:
    match = re.search(r"<body[^>]*>(.*)</body>", page, re.S | re.I)
    body = match.group(1) if match else page
    # The per-page "all notebooks" link means nothing on paper.
    return re.sub(r'<nav class="mnist-lab-export-nav">.*?</nav>', "", body, flags=re.S)


def head_of(page: str) -> str:
    match = re.search(r"<head[^>]*>(.*)</head>", page, re.S | re.I)
    return re.sub(r"<title>.*?</title>", "", match.group(1) if match else "", flags=re.S)


def notebook_sections(notebook) -> list[str]:
    return [line[3:].strip() for cell in notebook.cells if cell.cell_type == "markdown" for line in cell.source.splitlines() if line.startswith("## ")]


def handout_page(records: list[dict], mode: str) -> str:
    """All notebooks in one page for print: cover and contents, then each notebook from a new page."""
    contents = "\n".join(
        f'<li><a href="#nb-{html.escape(r["name"])}">{html.escape(r["title"])}</a>'
        + ("<ul>" + "".join(f"<li>{html.escape(section)}</li>" for section in r["sections"]) + "</ul>" if r["sections"] else "")
        + "</li>"
        for r in records
    )
    banner = f'<p class="mnist-lab-quick">{html.escape(QUICK_BANNER.lstrip("> ").replace("**", ""))}</p>' if mode == "quick" else ""
    sections = "\n".join(f'<section class="mnist-lab-notebook" id="nb-{html.escape(r["name"])}">{r["printBody"]}</section>' for r in records)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>mnist-lab: the notebooks</title>
{records[0]["printHead"] if records else ""}
<style>
  .mnist-lab-notebook {{ break-before: page; }}
  .mnist-lab-cover {{ font-family: sans-serif; }}
  .mnist-lab-cover li {{ margin: 0.2em 0; }}
  .mnist-lab-contents {{ list-style: none; padding-left: 0; }}
  .mnist-lab-contents ul {{ list-style: disc; }}
  .mnist-lab-quick {{ border: 2px solid #d62728; padding: 6px 10px; font-family: sans-serif; }}
  .jp-Cell, .jp-OutputArea-output, svg {{ break-inside: avoid; }}
  svg {{ max-width: 100%; height: auto; }}
</style>
</head><body>
<div class="mnist-lab-cover"><h1>mnist-lab: the notebooks</h1>
<p>Executed in <b>{html.escape(mode)}</b> mode, exported {datetime.datetime.now().strftime("%Y-%m-%d")}.</p>{banner}
<h2>Contents</h2><ul class="mnist-lab-contents">{contents}</ul></div>
{sections}
</body></html>
"""


def notebook_title(notebook, fallback: str) -> str:
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def index_page(records: list[dict], summary: dict | None) -> str:
    mode = summary.get("mode", "?") if summary else "?"
    seconds = {entry["notebook"]: entry for entry in (summary or {}).get("notebooks", [])}
    rows = []
    for record in records:
        run = seconds.get(record["name"] + ".ipynb", {})
        took = f"{run['seconds']:.0f} s" if "seconds" in run else ""
        tables = " ".join(
            f'{html.escape(table["name"])} (' + ", ".join(f'<a href="{html.escape(f)}">{Path(f).suffix[1:]}</a>' for f in table["files"]) + ")"
            for table in record["tables"]
        )
        figures = " ".join(f'<a href="{html.escape(f)}">{i + 1}</a>' for i, f in enumerate(record["figures"]))
        rows.append(
            f'<tr><td><a href="{html.escape(record["html"])}">{html.escape(record["title"])}</a></td>'
            f'<td><a href="{html.escape(record["markdown"])}">Markdown</a></td><td>{figures}</td><td>{tables}</td><td>{took}</td></tr>'
        )
    total = f"{summary['totalSeconds']:.0f} s" if summary and "totalSeconds" in summary else "?"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>mnist-lab notebooks</title>
<style>body {{ font-family: sans-serif; margin: 2em; }} table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; }} th {{ background: #f3f3f3; }}</style>
</head><body>
<h1>mnist-lab notebooks</h1>
{('<p style="border:2px solid #d62728;padding:6px 10px">' + html.escape(QUICK_BANNER.lstrip("> ").replace("**", "")) + "</p>") if mode == "quick" else ""}
<p>Printable: <a href="handout.pdf">all notebooks as one PDF</a> (<a href="handout.html">HTML</a>).</p>
<p>Executed in <b>{html.escape(mode)}</b> mode{" (small subsets and few epochs: numbers are far from the tutorials')" if mode == "quick" else ""},
total {total}, exported {datetime.datetime.now().strftime("%Y-%m-%d %H:%M")}. Generated by <code>npm run export</code>: do not edit.</p>
<table><thead><tr><th>Notebook</th><th>Text</th><th>Figures</th><th>Tables</th><th>Run time</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
</body></html>
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executed", type=Path, required=True, help="folder with executed notebooks (run.py --out)")
    parser.add_argument("--out", type=Path, required=True, help="export folder")
    parser.add_argument("notebooks", nargs="*", help="only these notebook names (default: every .ipynb in --executed)")
    args = parser.parse_args()
    paths = sorted(args.executed.glob("*.ipynb"))
    if args.notebooks:
        paths = [path for path in paths if any(part in path.name for part in args.notebooks)]
    if not paths:
        print(f"export.py: no executed notebooks in {args.executed}", file=sys.stderr)
        return 1
    summary_file = args.executed / "run-summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.exists() else None
    mode = summary.get("mode", "quick") if summary else "quick"
    records = []
    for path in paths:
        records.append(export_notebook(path, args.out, mode))
        print(f"exported {path.stem}: {len(records[-1]['figures'])} figures, {len(records[-1]['tables'])} tables", flush=True)
    for path in paths:
        slim_executed(path)
    if PLOTLY_SOURCE.exists():
        write_atomic(args.out / PLOTLY_ASSET, PLOTLY_SOURCE.read_bytes())
    else:
        print(f"export.py: {PLOTLY_SOURCE} is missing, so the pages' charts stay static; run `npm install`", file=sys.stderr)
    write_atomic(args.out / "handout.html", handout_page(records, mode))
    for record in records:
        del record["printBody"], record["printHead"]
    write_atomic(args.out / "index.html", index_page(records, summary))
    write_atomic(args.out / "manifest.json", json.dumps({"summary": summary, "notebooks": records}, indent=2) + "\n")
    print(f"wrote {args.out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
