"""Strip notebooks to what belongs in git: sources and Markdown only.

    .venv/bin/python scripts/notebooks/clean.py [--check] [NOTEBOOK ...]

Removes outputs, execution counts, per-cell metadata noise (collapsed,
scrolled, execution timings, ...), and notebook metadata other than the
kernel and language, so that running a notebook in JupyterLab never shows up
as a diff. Without arguments it cleans every notebook in notebooks/.
--check changes nothing and exits 1 listing the notebooks that need cleaning
(the tests run it this way). Standard library only, so it also runs outside
the project's .venv.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
# Cell metadata worth keeping: tags drive tooling; everything else is UI state.
KEPT_CELL_METADATA = ("tags",)
KERNELSPEC = {"name": "tslab", "display_name": "TypeScript", "language": "typescript"}
LANGUAGE_INFO = {"name": "typescript", "file_extension": ".ts", "mimetype": "text/typescript"}


def clean_notebook(notebook: dict) -> dict:
    for cell in notebook.get("cells", []):
        cell["metadata"] = {key: cell["metadata"][key] for key in KEPT_CELL_METADATA if key in cell.get("metadata", {})}
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        if not cell.get("attachments"):
            cell.pop("attachments", None)
    notebook["metadata"] = {"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO}
    return notebook


def serialise(notebook: dict) -> str:
    # The same layout nbformat and JupyterLab write, so saving in the UI and
    # cleaning agree byte for byte.
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to clean (default: notebooks/*.ipynb)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if any notebook is not clean")
    args = parser.parse_args()
    paths = args.notebooks or sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    dirty = []
    for path in paths:
        original = path.read_text(encoding="utf-8")
        try:
            cleaned = serialise(clean_notebook(json.loads(original)))
        except json.JSONDecodeError as error:
            print(f"{path}: not valid JSON ({error}); fix or re-save it in JupyterLab", file=sys.stderr)
            return 2
        if cleaned == original:
            continue
        dirty.append(path)
        if not args.check:
            temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            temporary.write_text(cleaned, encoding="utf-8")
            temporary.replace(path)
            print(f"cleaned {path}")
    if args.check and dirty:
        names = ", ".join(str(path) for path in dirty)
        print(f"not clean (outputs, execution counts or metadata): {names}. Run `npm run nb:clean`.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
