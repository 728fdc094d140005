"""The book builds with warnings as errors, and every chapter gets its page and its Colab link."""

import re
import subprocess
import sys
import pathlib

from chapters import ROOT, repository_url, toc_files


def test_book_builds_without_warnings(tmp_path):
    jb = pathlib.Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [str(jb), "build", str(ROOT), "--path-output", str(tmp_path),
         "--warningiserror", "--nitpick", "--keep-going"],
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    html = tmp_path / "_build" / "html"
    for entry in toc_files():
        page = html / f"{entry}.html"
        assert page.exists(), page
        text = page.read_text()
        assert "<title>" in text
        if (ROOT / f"{entry}.ipynb").exists():
            colab = f"https://colab.research.google.com/github/{repository_url().split('github.com/')[1]}/blob/main/{entry}.ipynb"
            assert colab in text, f"{entry}: Colab link {colab} missing"
            assert len(re.findall(r'<img [^>]*src="[^"]+\.png"', text)) >= 1, f"{entry}: no plot rendered"
