"""The notebooks in notebooks/ run end to end in their small size, as CI runs them.

Each one is executed in a fresh kernel (nbclient, the engine under nbmake) with
LIB_TF_NOTEBOOK_SIZE=small, from the notebooks folder, on an in-memory copy: the committed
notebooks, with the outputs of their full-size run, are never written. A failing cell fails
the test with its traceback. Each notebook keeps its scores against the ground truth in
``SCORES`` (table -> method -> the six measures), which a cell the test appends prints: the
notebook's models must beat ``l / sum(l)`` in its small size too, not only run.
"""
import json
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
#: A cell that runs longer has hung (a hang guard, not a timing check: machines are shared and noisy).
CELL_TIMEOUT_SECONDS = 600
COLAB = "https://colab.research.google.com/github/lib-tf/lib_tf/blob/main/notebooks/{}"
#: The methods of each notebook's SCORES that must beat l / sum(l) on all six measures, in every table.
BETTER_THAN_LABEL_SHARES = {
    "01_quickstart": ("LIB, T picked", "LA-LIB, (T, T_l) picked"),
    "02_toy_visualization": ("LIB",),
    "03_tune_and_export": ("LA-LIB, tuned", "SavedModel, served"),
    "04_your_own_data": ("LA-LIB, truth-free",),
}
HIGHER_IS_BETTER = ("Cosine", "Intersection")
#: The README's way to keep the TensorFlow installed (Colab's): name it in the same pip command.
KEEP_TENSORFLOW = "\"tensorflow==$(python -c 'import tensorflow as tf; print(tf.__version__)')\""


def _outputs_text(cell) -> str:
    return "".join(output.get("text", "") for output in cell.get("outputs", []))


def test_the_four_notebooks_are_there():
    assert [path.name for path in NOTEBOOKS] == [
        "01_quickstart.ipynb", "02_toy_visualization.ipynb", "03_tune_and_export.ipynb", "04_your_own_data.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_committed_notebook_has_header_and_full_outputs(path):
    """Opens with the description and its own Colab link; saved from a full-size run that ended."""
    notebook = nbformat.read(path, as_version=4)
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and COLAB.format(path.name) in first.source
    assert "Time on a CPU" in first.source
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert 'if "google.colab" in sys.modules' in code[0].source and "LIB_TF_SOURCE" in code[0].source
    readme = (NOTEBOOKS_DIR.parent / "README.md").read_text()
    assert KEEP_TENSORFLOW in code[0].source and KEEP_TENSORFLOW in readme, "the Colab cell keeps TensorFlow as README does"
    assert "size: full" in _outputs_text(code[1])
    assert "This run (full size) took" in _outputs_text(code[-1])
    assert not any(output.get("output_type") == "error" for cell in code for output in cell.outputs)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_small(path, monkeypatch, tmp_path):
    monkeypatch.setenv("LIB_TF_NOTEBOOK_SIZE", "small")
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebooks' temporary folders land in pytest's, cleaned up
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell('import json as _json\nprint(_json.dumps(SCORES))'))
    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT_SECONDS, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS_DIR)}})
    client.execute()  # raises CellExecutionError with the failing cell's traceback
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert "size: small" in _outputs_text(code[1]), "the kernel did not see LIB_TF_NOTEBOOK_SIZE=small"
    _assert_better_than_label_shares(json.loads(_outputs_text(code[-1])), BETTER_THAN_LABEL_SHARES[path.stem])


def _assert_better_than_label_shares(tables, methods):
    assert tables, "the notebook scored nothing"
    for table, scores in tables.items():
        naive = scores["l/sum(l)"]
        for method in methods:
            worse = [measure for measure, value in scores[method].items()
                     if not ((value > naive[measure]) if measure in HIGHER_IS_BETTER else (value < naive[measure]))]
            assert not worse, f"{table}: {method} is not better than l/sum(l) on {worse}: {scores[method]} vs {naive}"
