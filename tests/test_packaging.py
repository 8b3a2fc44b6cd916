"""setup.py states ranges, constraints.txt the known-good pins CI installs; the two agree.

setup.py is read, never run (running it would call setuptools.setup): its requirement lists are
literals (``ast.literal_eval``), and the setup() keywords checked here are made of those alone.
"""
import ast
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
# Packages whose every release requires its own TensorFlow minor: their ranges must be TensorFlow's,
# or pip meets a TensorFlow inside our range with no matching release of theirs.
TENSORFLOW_FAMILY = ("tf-keras", "tensorflow-serving-api", "tensorboard")
SETUP_KEYWORDS = ("install_requires", "extras_require", "python_requires", "classifiers")


def _setup_literals() -> dict:
    """setup.py's module-level literals (REQUIRED, DEV) and the setup() keywords made of them."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass  # not a literal
    setup_call = next(node for node in ast.walk(tree) if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setup")
    for keyword in setup_call.keywords:
        if keyword.arg in SETUP_KEYWORDS:  # literals, or the lists above (install_requires=REQUIRED)
            expression = compile(ast.Expression(keyword.value), "setup.py", "eval")
            found[keyword.arg] = eval(expression, {"__builtins__": {}}, dict(found))
    return found


SETUP = _setup_literals()
REQUIREMENTS = [Requirement(text) for text in SETUP["REQUIRED"] + SETUP["DEV"]]


def _pins() -> dict:
    """constraints.txt as {canonical name: Version}; every line a plain ``name==version``."""
    pins = {}
    for number, line in enumerate((ROOT / "constraints.txt").read_text().splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][0-9A-Za-z.+!-]*)", line)
        assert match, f"constraints.txt line {number} is not a plain name==version pin: {line!r}"
        name = canonicalize_name(match.group(1))
        assert name not in pins, f"constraints.txt pins {name} twice (line {number})"
        pins[name] = Version(match.group(2))
    return pins


def test_setup_py_lists_its_requirements_as_literals():
    assert SETUP["install_requires"] == SETUP["REQUIRED"] and SETUP["extras_require"] == {"dev": SETUP["DEV"]}
    assert len(SETUP["REQUIRED"]) >= 10 and len(SETUP["DEV"]) >= 3


@pytest.mark.parametrize("requirement", REQUIREMENTS, ids=str)
def test_each_requirement_is_a_range_with_both_bounds(requirement):
    """No exact pin (pip would refuse or replace the user's own TensorFlow), and a ceiling below
    the next release line the code has not met."""
    operators = {spec.operator for spec in requirement.specifier}
    assert not operators & {"==", "==="}, f"{requirement} pins a version: pins belong in constraints.txt"
    assert ">=" in operators and "<" in operators, f"{requirement} needs a lower (>=) and an upper (<) bound"


@pytest.mark.parametrize("requirement", REQUIREMENTS, ids=str)
def test_each_requirement_has_a_pin_inside_its_range(requirement):
    pins = _pins()
    name = canonicalize_name(requirement.name)
    assert name in pins, f"{requirement.name} has no pin in constraints.txt"
    assert requirement.specifier.contains(pins[name], prereleases=True), (
        f"constraints.txt pins {name}=={pins[name]}, outside setup.py's range {requirement.specifier}")


def test_constraints_pin_nothing_setup_py_does_not_require():
    required = {canonicalize_name(requirement.name) for requirement in REQUIREMENTS}
    assert set(_pins()) - required == set()


def test_tensorflow_family_shares_tensorflow_range():
    ranges = {canonicalize_name(r.name): r.specifier for r in REQUIREMENTS}
    for name in TENSORFLOW_FAMILY:
        assert ranges[name] == ranges["tensorflow"], f"{name} {ranges[name]} != tensorflow {ranges['tensorflow']}"


def test_classifiers_name_exactly_the_pythons_python_requires_admits():
    python_requires = SpecifierSet(SETUP["python_requires"])
    listed = {c.rsplit(" :: ", 1)[1] for c in SETUP["classifiers"] if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)}
    admitted = {f"3.{minor}" for minor in range(6, 20) if python_requires.contains(f"3.{minor}.0")}
    assert listed == admitted
    assert python_requires.contains("3.11.0")  # what CI runs, with constraints.txt


def test_make_installs_the_constraints_and_reinstalls_when_they_change():
    """CI runs `make test`, so this rule is what makes CI use the known-good set."""
    makefile = (ROOT / "Makefile").read_text()
    rule = re.search(r"^\$\(VENV\)/\.installed:(.*)\n((?:\t.*\n)+)", makefile, flags=re.M)
    assert rule, "Makefile has no $(VENV)/.installed rule"
    assert "constraints.txt" in rule.group(1).split()
    assert re.search(r"pip install .*-c constraints\.txt .*-e \"\.\[dev\]\"", rule.group(2))
