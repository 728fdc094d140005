"""Execute chapters in place, safely: the outputs the book shows (``make execute``).

    python -m book.execute chapters/start/getting_started.ipynb [...]
    python -m book.execute --profile smoke --timeout 600 chapters/layers/center_loss.ipynb

Runs each notebook top to bottom in a fresh kernel with ``KERASCOOL_PROFILE=cpu`` (or
``--profile``), stores the outputs and the widget state, removes the start-up log lines that
TensorFlow's C++ runtime writes to the process's stderr (they say nothing about the chapter),
and replaces the file atomically: a notebook whose execution fails is left exactly as it was.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import shutil
import sys
import tempfile

# TensorFlow / absl / XLA lines written at start-up, e.g.
#   I0000 00:00:1795455347.633749    3637 port.cc:153] oneDNN custom operations are on...
#   2026-12-01 23:16:26.897496: I tensorflow/core/util/port.cc:153] oneDNN ... (TensorFlow 2.20)
TF_LOG_LINE = re.compile(
    r"^(?:[IWEF]\d{4} [\d:.]+\s+\d+ \S+:\d+\] .*"
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] \S+:\d+\] .*"
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\.)$"
)


def strip_runtime_logs(nb) -> int:
    """Remove TensorFlow's C++ start-up log lines from stderr outputs; return how many went."""
    removed = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept_outputs = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                lines = out["text"].splitlines(keepends=True)
                kept = [line for line in lines if not TF_LOG_LINE.match(line.rstrip("\n"))]
                removed += len(lines) - len(kept)
                if not "".join(kept).strip():
                    continue
                out["text"] = "".join(kept)
            kept_outputs.append(out)
        cell["outputs"] = kept_outputs
    return removed


def execute_in_place(path, profile: str = "cpu", timeout: int = 1800) -> None:
    """Execute the notebook at ``path`` in the given profile and store its outputs atomically."""
    import nbformat
    from nbclient import NotebookClient

    path = pathlib.Path(path).resolve()
    nb = nbformat.read(path, as_version=4)
    if any("injected-parameters" in c.get("metadata", {}).get("tags", []) for c in nb.cells):
        raise ValueError(f"{path} holds papermill's injected-parameters cell; remove it first")
    previous = os.environ.get("KERASCOOL_PROFILE")
    os.environ["KERASCOOL_PROFILE"] = profile
    try:
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
            store_widget_state=True,
        )
        client.execute()
    finally:
        if previous is None:
            os.environ.pop("KERASCOOL_PROFILE", None)
        else:
            os.environ["KERASCOOL_PROFILE"] = previous
    strip_runtime_logs(nb)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".ipynb")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            nbformat.write(nb, f)
        shutil.copymode(path, tmp)  # mkstemp makes 0600 files; keep the notebook's mode
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m book.execute",
                                     description="Execute notebooks in place and store their outputs.")
    parser.add_argument("notebooks", nargs="+")
    parser.add_argument("--profile", default="cpu", choices=["smoke", "cpu", "full"])
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = parser.parse_args(argv)
    for nb in args.notebooks:
        print(f"== executing {nb} ({args.profile} profile)", flush=True)
        execute_in_place(nb, args.profile, args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
