"""The README's layer table is the map of the package: every module sits in one layer, and no
import (at the top of a module or inside a function) reaches a layer above its own."""
import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lib_tf"
PATH_TOKEN = re.compile(r"`([A-Za-z_][\w/]*(?:\.py|/))`")


def _modules() -> dict:
    """Dotted module name -> file, for every module of lib_tf (a package by its ``__init__``)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _layers() -> list:
    """[(layer, [module or package names])] from the README's table, lowest layer first."""
    text = (ROOT / "README.md").read_text()
    table = text[text.index("| layer | modules |"):]
    layers = []
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        name, modules = (cell.strip() for cell in line.strip("|").split("|"))
        layers.append((name, [token.removeprefix("lib_tf/") for token in PATH_TOKEN.findall(modules)]))
    return layers


def _layer_of(modules: dict, layers: list) -> dict:
    """Module -> index of its layer: the most specific README entry that names it."""
    entries = {}
    for index, (_, tokens) in enumerate(layers):
        for token in tokens:
            is_package, is_root = token.endswith("/"), token == "__init__.py"  # the root: lib_tf itself
            name = "lib_tf" if is_root else "lib_tf." + token.removesuffix(".py").removesuffix("/").replace("/", ".")
            assert name in modules and (modules[name].name == "__init__.py") == (is_package or is_root), \
                f"the README's layer table names `{token}`, which is no {'package' if is_package else 'module'} of lib_tf"
            entries[name] = (index, is_package)
    layer_of = {}
    for module in modules:
        named = [(len(name), index) for name, (index, is_package) in entries.items()
                 if module == name or (is_package and module.startswith(name + "."))]
        assert named, f"{module} is in no layer of the README's table"
        layer_of[module] = max(named)[1]
    return layer_of


def _imports(module: str, path: Path):
    """The lib_tf modules ``module`` imports anywhere in its file, with the line."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            head = ".".join(base + ([node.module] if node.module else []))
            # ``from . import x`` imports the modules x, not the package around them
            targets = ([head] if node.module else []) + [f"{head}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] == "lib_tf":
                yield target, node.lineno


def test_every_import_stays_in_its_layer_or_goes_down():
    modules, layers = _modules(), _layers()
    layer_of = _layer_of(modules, layers)
    upward = set()
    for module, path in modules.items():
        for target, line in _imports(module, path):
            while target not in modules:  # a name imported from a module: the module
                target = target.rpartition(".")[0]
            if layer_of[target] > layer_of[module]:
                upward.add(f"{path.relative_to(ROOT)}:{line} ({layers[layer_of[module]][0]}) imports {target} "
                           f"({layers[layer_of[target]][0]})")
    assert not upward, "imports above their layer:\n" + "\n".join(sorted(upward))


def test_the_light_modules_do_not_load_tensorflow():
    """The read-out, the settings, the estimator's module and the tuning package import without
    TensorFlow (the command line and the baselines stay quick to start)."""
    code = ("import sys, lib_tf.readout.forms, lib_tf.readout.selection, lib_tf.hparams, lib_tf.enhancer, "
            "lib_tf.tuning, lib_tf.baselines, lib_tf.cli\n"
            "print(sorted(m for m in ('tensorflow', 'keras', 'keras_tuner') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
