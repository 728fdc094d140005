"""The project's promises about itself: two commands, one repository URL, one set of pins,
the shipped data, and a documented, tested public API."""

import hashlib
import importlib
import importlib.metadata
import inspect
import pkgutil
import re
import tomllib

import pytest
import yaml

from chapters import ROOT, repository_url

import kerascool_lib

#: Every public module of the package: a new one is held to the same rules without editing this.
MODULES = sorted(m.name for m in pkgutil.iter_modules(kerascool_lib.__path__) if not m.name.startswith("_"))


def test_every_public_module_is_in_the_package_api():
    assert set(MODULES) - {"source"} <= set(kerascool_lib.__all__), "import the module in kerascool_lib/__init__.py"
    assert set(MODULES) >= {"bench", "callbacks", "data", "layers", "losses", "models", "plots", "runtime", "widgets"}


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
    assert importlib.metadata.version(name) == version


def test_shipped_mnist_archive_is_the_known_file():
    digest = hashlib.sha256((ROOT / "data" / "mnist.npz").read_bytes()).hexdigest()
    assert digest == "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"


def public_names():
    names = []
    for mod_name in MODULES:
        module = importlib.import_module(f"kerascool_lib.{mod_name}")
        for name in module.__all__:
            names.append((mod_name, name, getattr(module, name)))
    return names


def test_package_all_is_importable():
    for name in kerascool_lib.__all__:
        assert hasattr(kerascool_lib, name), name


@pytest.mark.parametrize("mod_name, name, obj", public_names(), ids=lambda v: v if isinstance(v, str) else "")
def test_public_name_is_documented_with_an_example_and_tested(mod_name, name, obj):
    if inspect.isclass(obj) or inspect.isfunction(obj):
        doc = inspect.getdoc(obj) or ""
        assert doc, f"{mod_name}.{name} has no docstring"
        has_example = ">>>" in doc
        if inspect.isclass(obj) and issubclass(obj, Exception):
            has_example = True  # exceptions are shown in the examples of what raises them
        assert has_example, f"{mod_name}.{name}: docstring has no runnable example"
    tests = "\n".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))
    assert re.search(rf"\b{re.escape(name)}\b", tests), f"{mod_name}.{name} has no unit test"
