"""The project's promises about itself: two commands, one repository URL, one set of pins, the
shipped data, the Makefile's chapters, and the split between the library and the book."""

import hashlib
import importlib.metadata
import importlib.util
import pathlib
import re
import subprocess
import sys
import tomllib

import pytest

from nbfiles import ROOT, repository_url, yaml

from book import toc


def readme_setup_commands():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.split("#")[0].strip()]


def test_readme_setup_is_exactly_two_commands():
    assert readme_setup_commands() == ["make book", "make test"]


def readme_browser_commands():
    section = (ROOT / "README.md").read_text().split("### Browser tests", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.strip() for line in block.splitlines() if line.strip()]


def test_ci_runs_the_readme_test_command_and_nothing_else():
    """.ci/run does what the README tells a user: install Debian's chromium if it is missing,
    then the README's test command with the browser tests required."""
    lines = [l.strip() for l in (ROOT / ".ci" / "run").read_text().splitlines()]
    commands = [l for l in lines if l and not l.startswith("#") and not l.startswith("set ") and not l.startswith("cd ")]
    install, test = readme_browser_commands()
    assert test == f"KERASCOOL_REQUIRE_BROWSER=1 {readme_setup_commands()[1]}"
    assert re.fullmatch(r"if \[ ! -x /usr/bin/chromium \]; then apt-get update && .*apt-get install -y chromium; fi", install)
    assert commands == [install, test]


def test_one_repository_url_everywhere():
    url = repository_url()
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url)
    slug = url.split("github.com/")[1]
    readme = (ROOT / "README.md").read_text()
    assert f"colab.research.google.com/github/{slug}/blob/main/chapters/" in readme
    assert f"git+{url}" in readme and f"git+{url}" in (ROOT / "chapters" / "index.md").read_text()
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    assert set(urls.values()) == {url}
    others = set(re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", readme)) - {url}
    assert not others, others


def test_environment_yml_installs_the_pyproject_pins():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d for d in env["dependencies"] if isinstance(d, dict))["pip"]
    assert pip == ['-e ".[test]"']
    assert "python=3.11" in env["dependencies"]


def _pins():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    pins = {}
    for extra, reqs in extras.items():
        if extra == "colab":  # Colab's older stack, checked by `make colab-check` in its own venv
            continue
        for req in reqs:
            m = re.fullmatch(r"([A-Za-z0-9_.-]+)==([\w.]+)", req.split(";")[0].strip())
            if m:
                pins[m.group(1)] = m.group(2)
    return pins


@pytest.mark.parametrize("name, version", sorted(_pins().items()))
def test_the_tested_versions_are_the_pinned_ones(name, version):
    if importlib.util.find_spec("jupyter_book") is None:
        pytest.skip("not the book's environment (no Jupyter Book): its pins do not apply, e.g. in make colab-check")
    assert importlib.metadata.version(name) == version


def test_shipped_mnist_archive_is_the_known_file():
    digest = hashlib.sha256((ROOT / "data" / "mnist.npz").read_bytes()).hexdigest()
    assert digest == "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"


def test_make_execute_runs_every_chapter_in_book_order():
    """The Makefile's chapters (``NB``) are book.toc's, the one reader of _toc.yml."""
    out = subprocess.run(["make", "-s", "-n", "execute", f"BIN={pathlib.Path(sys.executable).parent}"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    line = next(l for l in out.stdout.splitlines() if "book.execute" in l)
    assert line.split("--profile cpu ", 1)[1].split() == [p.relative_to(ROOT).as_posix() for p in toc.chapters(ROOT)]


def test_the_test_commands_run_nbval_where_it_is_installed_only():
    """`pytest` with only the library and pytest installed must work: nbval's options are
    given by the Makefile's test commands, not in pyproject's addopts."""
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "nbval" not in options["addopts"]
    makefile = (ROOT / "Makefile").read_text()
    for target in ("test", "colab-check"):
        recipe = makefile.split(f"\n{target}:", 1)[1].split("\n\n", 1)[0]
        assert "pytest" in recipe and "$(NBVAL)" in recipe and "--ignore" not in recipe, target
