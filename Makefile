# The README's commands. Each one sets up .venv on first use, so a machine with only
# Python 3.11 (what CI runs) needs nothing else. The venv gets the known-good versions of
# constraints.txt, not whatever setup.py's ranges would resolve to today.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export LIB_TF_DATA ?= $(abspath ../shared/ldl)
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: demo test benchmark benchmark-quick clean

$(VENV)/.installed: setup.py constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/lib-tf enhance --dataset Artificial --alpha 1 --beta 10 --reveal 0.1 --figure --overwrite --out demo_output

# Two test processes: most of the suite's time is single-threaded (TensorFlow starting in
# subprocesses and kernels, graph tracing), which two processes overlap on a 2-core machine;
# work stealing keeps both busy to the end (the slowest tests take 20-45 s each).
test: $(VENV)/.installed
	$(PY) -m pytest -q -n 2 --dist worksteal tests

benchmark: $(VENV)/.installed
	$(VENV)/bin/lib-tf benchmark --out benchmarks/results

benchmark-quick: $(VENV)/.installed
	$(VENV)/bin/lib-tf benchmark --quick --out benchmarks/results_quick

clean:
	rm -rf demo_output .pytest_cache

# The committed toy model for TF Serving (saved_models/artificial/1), rebuilt from scratch.
# SOURCE_DATE_EPOCH (the last commit of its settings) makes a rebuild byte-identical apart from
# TensorFlow's random fingerprint uuid (lib_tf/export/__init__.py).
.PHONY: saved-model
saved-model: $(VENV)/.installed
	rm -rf saved_models/artificial
	SOURCE_DATE_EPOCH=$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct -- saved_models/artificial.hparams.json 2>/dev/null)} \
	$(VENV)/bin/lib-tf export --dataset Artificial --hparams saved_models/artificial.hparams.json --out saved_models/artificial --version 1 --quiet
