"""Execute the notebooks through the real Jupyter machinery (nbclient + the
tslab kernel of the project's .venv), each in a fresh kernel.

    .venv/bin/python scripts/notebooks/run.py [--full] [--out DIR] [NOTEBOOK ...]

Quick mode (env MNIST_LAB_QUICK=1) is the default, because this is what the
tests and a first pass need; --full runs the real experiments. Papermill
cannot inject parameters into tslab notebooks, so the mode travels through
the environment of the kernel.

Executed copies (with outputs) go to --out, never over the sources, which are
committed without outputs. A summary with per-notebook and per-cell times is
written to <out>/run-summary.json. A failing cell stops that notebook and is
reported as `<notebook>: cell <index> (<first line>): <error>`; the exit code
is 1 when any notebook failed.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
DEFAULT_OUT = ROOT / ".tmp" / "notebooks"
# Seconds each notebook took last time, per mode: the estimate printed up front.
TIMINGS = ROOT / ".tmp" / "notebook-timings.json"
KERNEL_NAME = "tslab"
QUICK_ENV = "MNIST_LAB_QUICK"
# A quick-mode cell that takes longer than this is a bug (or a missing quick
# path); full mode trains for up to an hour per cell, so it has no limit.
QUICK_CELL_TIMEOUT = 300
ANSI = re.compile(r"\x1b\[[0-9;]*m")
COMPILE_ERROR = re.compile(r"^\d+:\d+ - ")
ERROR_LINE = re.compile(r"^([A-Za-z_$][\w$]*(Error|Exception)|Error)\b.*:")


def find_notebooks(names: list[str]) -> list[Path]:
    if not names:
        return sorted(NOTEBOOK_DIR.glob("[0-9][0-9]-*.ipynb"))
    found = []
    for name in names:
        path = Path(name)
        if not path.exists():
            matches = sorted(NOTEBOOK_DIR.glob(f"*{name}*.ipynb"))
            if len(matches) != 1:
                sys.exit(f"run.py: '{name}' matches {len(matches)} notebooks in {NOTEBOOK_DIR}; give a file or a unique part of a name")
            path = matches[0]
        found.append(path.resolve())
    return found


def resolve_data_env() -> None:
    """A relative MNIST_LAB_DATA is relative to where the command was typed (npm's
    INIT_CWD), not to notebooks/ where the kernels run: make it absolute first."""
    value = os.environ.get("MNIST_LAB_DATA")
    if not value or os.path.isabs(value):
        return
    base = os.environ.get("INIT_CWD") if os.path.isabs(os.environ.get("INIT_CWD", "")) else os.getcwd()
    os.environ["MNIST_LAB_DATA"] = os.path.normpath(os.path.join(base, value))
    print(f"nb:run: MNIST_LAB_DATA={value} is relative to {base} (where the command was typed): using {os.environ['MNIST_LAB_DATA']}", file=sys.stderr)


def check_environment() -> None:
    try:
        KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        sys.exit(
            f"run.py: the Jupyter kernel '{KERNEL_NAME}' is not installed in {sys.prefix}. "
            "Run `npm run setup` (or `node_modules/.bin/tslab install --python=.venv/bin/python --prefix=.venv`)."
        )
    link = ROOT / "notebooks" / "node_modules" / "mnist-lab"
    if not link.exists():
        sys.exit("run.py: notebooks/node_modules/mnist-lab is missing, so notebooks cannot `import ... from \"mnist-lab\"`. Restore it with `git checkout notebooks/node_modules` (a link to ../..).")
    if not (ROOT / "dist" / "index.js").exists():
        sys.exit("run.py: dist/ is missing. Run `npm run build` first.")


def error_text(cell_outputs: list, fallback: str) -> str:
    """The error as the learner would see it in JupyterLab, without colour codes."""
    for output in cell_outputs:
        if output.get("output_type") == "error":
            lines = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip()]
            trace = [ANSI.sub("", line) for line in output.get("traceback", [])]
            # tslab puts compile errors in the traceback, not in evalue.
            lines += [line for line in trace if line.strip() and line.strip() not in lines[0]][:8]
            return "\n    ".join(lines)
    # tslab prints uncaught exceptions to stderr and sends an empty error reply.
    stderr = "".join(o.get("text", "") for o in cell_outputs if o.get("output_type") == "stream" and o.get("name") == "stderr")
    if not stderr.strip():
        stderr = "".join(o.get("text", "") for o in cell_outputs if o.get("output_type") == "stream")
    lines = [ANSI.sub("", line).rstrip() for line in stderr.splitlines()]
    for index, line in enumerate(lines):
        if ERROR_LINE.match(line.strip()):
            frames = [l.strip() for l in lines[index + 1:] if l.strip().startswith("at ")][:3]
            return "\n    ".join([line.strip()] + frames)
    # tslab reports TypeScript compile errors as `line:column - message` on stderr.
    meaningful = [line.strip() for line in lines if line.strip()]
    if meaningful:
        prefix = "TypeScript: " if COMPILE_ERROR.match(meaningful[0]) else ""
        return prefix + "\n    ".join(meaningful[:6])
    text = ANSI.sub("", fallback)
    candidates = [line for line in text.splitlines() if ERROR_LINE.match(line.strip())]
    if candidates:
        return candidates[-1].strip()
    # nbclient's message frames the cell source with dashes; the error is after it.
    tail = [line for line in text.split("------------------")[-1].splitlines() if line.strip()]
    return tail[-1].strip() if tail else "unknown error (no output)"


def run_notebook(path: Path, out_dir: Path, quick: bool, timeout: int | None) -> dict:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name=KERNEL_NAME,
        timeout=timeout,
        startup_timeout=120,
        # tslab resolves "mnist-lab" from the notebook's own folder.
        resources={"metadata": {"path": str(path.parent)}},
    )
    cell_seconds: list[float | None] = [None] * len(notebook.cells)
    result: dict = {"notebook": path.name, "mode": "quick" if quick else "full", "ok": True, "error": None}
    started = time.monotonic()
    code_cells = [index for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    count = 0
    try:
        with client.setup_kernel():
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type != "code":
                    continue
                cell_started = time.monotonic()
                count += 1
                # Progress for a long run: which cell, and how long the notebook has taken so far.
                first = cell.source.strip().splitlines()[0][:60] if cell.source.strip() else ""
                print(f"  {path.stem}: cell {code_cells.index(index) + 1}/{len(code_cells)} ({first}) at {time.monotonic() - started:.0f} s", flush=True)
                try:
                    # tslab sends no execute_input, so nbclient never learns the count; number the
                    # cells as JupyterLab does, so exports read In [1], In [2], ...
                    cell.execution_count = count
                    client.execute_cell(cell, index)
                    cell.execution_count = count
                except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
                    first_line = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
                    kind = "timed out" if isinstance(error, CellTimeoutError) else "kernel died" if isinstance(error, DeadKernelError) else "failed"
                    result.update(ok=False, error={"cell": index, "firstLine": first_line, "kind": kind, "message": error_text(cell.get("outputs", []), str(error))})
                    break
                finally:
                    cell_seconds[index] = round(time.monotonic() - cell_started, 2)
    except (RuntimeError, DeadKernelError) as error:
        result.update(ok=False, error={"cell": None, "firstLine": "", "kind": "kernel", "message": str(error)})
    result["seconds"] = round(time.monotonic() - started, 2)
    result["cellSeconds"] = cell_seconds
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / path.name
    temporary = executed.with_suffix(".ipynb.tmp")
    nbformat.write(notebook, temporary)
    temporary.replace(executed)
    result["executed"] = str(executed)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebook files or unique parts of their names (default: all in notebooks/)")
    parser.add_argument("--full", action="store_true", help="run the real experiments (default: quick mode)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder for the executed copies (default: {DEFAULT_OUT.relative_to(ROOT)})")
    parser.add_argument("--timeout", type=int, default=None, help="seconds per cell (default: 300 in quick mode, none in full mode)")
    args = parser.parse_args()

    check_environment()
    resolve_data_env()
    quick = not args.full
    if quick:
        os.environ[QUICK_ENV] = "1"
    else:
        os.environ.pop(QUICK_ENV, None)
    # One kernel at a time already keeps both cores busy; the backend's
    # announcement line is noise in every notebook's first output.
    os.environ.setdefault("MNIST_LAB_QUIET", "1")
    # libtensorflow's start-up notes and tfjs-node's Buffer() deprecation
    # warning would otherwise land in every executed notebook and log.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "--no-deprecation" not in os.environ.get("NODE_OPTIONS", ""):
        os.environ["NODE_OPTIONS"] = (os.environ.get("NODE_OPTIONS", "") + " --no-deprecation").strip()
    timeout = args.timeout if args.timeout is not None else (QUICK_CELL_TIMEOUT if quick else None)

    notebooks = find_notebooks(args.notebooks)
    mode = "quick" if quick else "full"
    try:
        timings = json.loads(TIMINGS.read_text())
    except (OSError, ValueError):
        timings = {}
    known = [timings.get(mode, {}).get(path.name) for path in notebooks]
    if all(seconds is not None for seconds in known):
        print(f"{len(notebooks)} notebooks, {mode} mode: about {sum(known) / 60:.0f} min, as last time on this machine"
              + (" (less where finished runs are reused)" if not quick else ""), flush=True)
    else:
        print(f"{len(notebooks)} notebooks, {mode} mode: no estimate yet (first {mode} run here); "
              + ("the full course trains for about 40-60 min on 2 cores, less where finished runs are reused" if not quick else "quick mode takes a few minutes"), flush=True)

    results = []
    for path in notebooks:
        print(f"{path.name}: running ({'quick' if quick else 'full'} mode)", flush=True)
        result = run_notebook(path, args.out, quick, timeout)
        results.append(result)
        if result["ok"]:
            print(f"{path.name}: ok in {result['seconds']:.1f} s", flush=True)
        else:
            error = result["error"]
            where = f"cell {error['cell']} ({error['firstLine']!r})" if error["cell"] is not None else "kernel start"
            print(f"{path.name}: {where} {error['kind']}: {error['message']}", file=sys.stderr, flush=True)

    for result in results:
        if result["ok"]:
            timings.setdefault(mode, {})[result["notebook"]] = result["seconds"]
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    TIMINGS.write_text(json.dumps(timings, indent=2) + "\n")
    summary = {"mode": "quick" if quick else "full", "totalSeconds": round(sum(r["seconds"] for r in results), 2), "notebooks": results}
    args.out.mkdir(parents=True, exist_ok=True)
    temporary = args.out / "run-summary.json.tmp"
    temporary.write_text(json.dumps(summary, indent=2) + "\n")
    temporary.replace(args.out / "run-summary.json")
    failed = [r["notebook"] for r in results if not r["ok"]]
    print(f"{len(results) - len(failed)}/{len(results)} notebooks ok in {summary['totalSeconds']:.1f} s" + (f"; failed: {', '.join(failed)}" if failed else ""), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
