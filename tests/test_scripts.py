"""Every script under benchmarks/ and tools/ still imports and finds what it takes from lib_tf,
at its top or inside a function, so that none rots unnoticed (``benchmarks/lib_benchmark.py``
once imported a function removed 89 commits before, and could not run)."""
import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted([*ROOT.glob("benchmarks/*.py"), *ROOT.glob("tools/*.py")])

#: Run in a fresh process (scripts change sys.path and the environment when imported): import
#: each script by its path, then every lib_tf name it imports anywhere; print one line each.
CHECK = """
import ast, importlib, importlib.util, sys
for path in sys.argv[1:]:
    spec = importlib.util.spec_from_file_location("script_" + path.replace("/", "_").replace(".", "_"), path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "lib_tf":
                    importlib.import_module(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "lib_tf":
            found = importlib.import_module(node.module)
            for alias in node.names:
                if not hasattr(found, alias.name):
                    importlib.import_module(f"{node.module}.{alias.name}")  # a submodule, or ImportError
    print("imported", path, flush=True)
"""


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_each_script_runs_only_as_a_script(path):
    """Importing a script must not run it: its work sits behind ``if __name__ == "__main__"``."""
    tree = ast.parse(path.read_text())
    guards = [node for node in tree.body if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)]
    assert guards, f"{path.name} has no `if __name__ == \"__main__\":` guard"


def test_every_script_imports_and_finds_what_it_takes_from_lib_tf():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    relative = [str(path.relative_to(ROOT)) for path in SCRIPTS]
    result = subprocess.run([sys.executable, "-c", CHECK, *relative], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=600)
    imported = [line.split(" ", 1)[1] for line in result.stdout.splitlines() if line.startswith("imported ")]
    assert result.returncode == 0 and imported == relative, (
        f"after {imported[-1:] or 'none'}:\n{result.stderr[-3000:]}")
