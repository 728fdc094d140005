"""No unsafe loading anywhere: no pickle, no eval/exec, Keras files loaded in safe mode.

Over the library, the book's machinery, the benchmark race and every chapter's code (read as
JSON: this needs nothing but the library and pytest).
"""

import json
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "pickle": re.compile(r"\b(c?pickle|dill|cloudpickle|marshal)\b\s*\.\s*loads?\b|^\s*(import|from)\s+(c?pickle|dill|cloudpickle|marshal)\b", re.M),
    "allow_pickle=True": re.compile(r"allow_pickle\s*=\s*True"),
    "eval/exec": re.compile(r"(?<![\w.])(eval|exec)\s*\("),
    "unsafe Keras deserialization": re.compile(r"safe_mode\s*=\s*False|enable_unsafe_deserialization"),
}


def sources():
    for folder in ("kerascool_lib", "book", "benchmarks"):
        for path in sorted((ROOT / folder).glob("*.py")):
            if not path.name.startswith("test_"):
                yield path.relative_to(ROOT).as_posix(), path.read_text()
    for path in sorted((ROOT / "chapters").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        cells = json.loads(path.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        yield path.relative_to(ROOT).as_posix(), code


SOURCES = list(sources())


@pytest.mark.parametrize("name, text", SOURCES, ids=[s[0] for s in SOURCES])
def test_no_unsafe_loading(name, text):
    found = {what: m.group(0) for what, rx in FORBIDDEN.items() if (m := rx.search(text))}
    assert not found, f"{name}: {found}"


@pytest.mark.parametrize("name, text", SOURCES, ids=[s[0] for s in SOURCES])
def test_every_np_load_refuses_pickles(name, text):
    for call in re.findall(r"np\.load\([^)]*\)", text):
        assert "allow_pickle=False" in call, f"{name}: {call}"


def test_the_patterns_catch_what_they_should():
    bad = ["import pickle", "pickle.load(f)", "np.load(p, allow_pickle=True)", "eval('1')",
           "keras.saving.load_model(p, safe_mode=False)", "keras.config.enable_unsafe_deserialization()"]
    for text in bad:
        assert any(rx.search(text) for rx in FORBIDDEN.values()), text
    assert not any(rx.search("model.evaluate(x)") for rx in FORBIDDEN.values())
