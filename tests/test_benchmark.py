import json

import numpy as np
import pytest

from lib_tf.benchmark import Benchmark, MethodSpec, default_methods, rank_table
from lib_tf.cli import build_parser
from lib_tf.cli.benchmark import run_benchmark_command


def _result(**means):
    return {"mean": {m: v for m, v in means.items()}, "std": {}, "seconds": [0.0]}


def test_rank_table_with_ties():
    # Chebyshev: lower is better; ties share the mean of their ranks
    table = {
        "a": {"x": _result(Chebyshev=0.1), "y": _result(Chebyshev=0.1), "z": _result(Chebyshev=0.3)},
        "b": {"x": _result(Chebyshev=0.3), "y": _result(Chebyshev=0.2), "z": _result(Chebyshev=0.2)},
    }
    assert rank_table(table, "Chebyshev") == {"x": (1.5 + 3) / 2, "y": (1.5 + 1.5) / 2, "z": (3 + 1.5) / 2}


def _cheap_methods(calls, fail_after=None):
    methods = default_methods(quick=True)
    chosen = {name: methods[name] for name in ("l/sum(l)", "softmax(l/T)", "GLLE")}
    glle = chosen["GLLE"]

    def counting_fit(X, L, params, seed):
        calls.append(params)
        if fail_after is not None and len(calls) > fail_after:
            raise KeyboardInterrupt("simulated interruption")
        return glle.fit(X, L, params, seed)

    chosen["GLLE"] = MethodSpec("GLLE", counting_fit, grid=glle.grid)
    return chosen


def test_resume_after_interruption_loses_nothing_and_recomputes_nothing(data_dir, tmp_path):
    first_calls = []
    interrupted = Benchmark(tmp_path, _cheap_methods(first_calls, fail_after=3), ["SJAFFE"], [0, 1], progress=False)
    with pytest.raises(KeyboardInterrupt):
        interrupted.run()
    saved = (tmp_path / "runs.jsonl").read_text().splitlines()
    assert len(first_calls) == 4 and sum('"GLLE"' in line for line in saved) == 3
    with open(tmp_path / "runs.jsonl", "a") as handle:  # a line cut off mid-write by the crash
        handle.write('{"key": "half')

    second_calls = []
    resumed = Benchmark(tmp_path, _cheap_methods(second_calls), ["SJAFFE"], [0, 1], progress=False)
    table = resumed.run()
    assert len(second_calls) == 2, "only the two lambdas never finished run again"
    assert {json.dumps(p, sort_keys=True) for p in second_calls} == {'{"lam": 10.0}', '{"lam": 100.0}'}
    kept = [json.loads(line) for line in saved]
    for run in kept:
        assert resumed.store.get(run["key"])["all"] == run["all"]
    paper = table["paper"]["SJAFFE"]
    # the label softmax picks T=1.5 on SJAFFE (reference: Chebyshev .0747, KL .0318)
    assert paper["softmax(l/T)"]["temperatures"] == ["1.5"]
    assert paper["softmax(l/T)"]["mean"]["Chebyshev"] == pytest.approx(0.0747, abs=5e-5)
    assert paper["GLLE"]["mean"]["Kullback-Leibler"] < paper["l/sum(l)"]["mean"]["Kullback-Leibler"]
    blind = table["blind"]["SJAFFE"]["softmax(l/T)"]["mean"]["Chebyshev"]
    assert blind == pytest.approx(0.0751, abs=5e-5)  # the reference's 90% figure


def test_quick_mode_end_to_end(data_dir, tmp_path, capsys):
    args = build_parser().parse_args(["benchmark", "--quick", "--methods", "l/sum(l)", "softmax(l/T)", "LP",
                                      "--no-figures", "--out", str(tmp_path)])
    assert run_benchmark_command(args) == 0
    report = (tmp_path / "REPORT.md").read_text()
    assert "## Protocol: paper" in report and "## Protocol: blind" in report and "## Protocol: zero-truth" in report
    assert "Yeast_spo5" in report and "## Read-outs chosen on a grid end" in report
    assert "runs computed" in capsys.readouterr().out
    rerun = build_parser().parse_args(["benchmark", "--quick", "--methods", "l/sum(l)", "softmax(l/T)", "LP",
                                       "--no-figures", "--out", str(tmp_path)])
    run_benchmark_command(rerun)
    assert "0 runs computed" in capsys.readouterr().out
    # the report keeps the command that computed the runs (and its wall time); a rerun that
    # computes nothing does not add itself
    history = [line for line in (tmp_path / "REPORT.md").read_text().splitlines() if line.startswith("- 20")]
    assert len(history) == 1 and "runs computed (every run from scratch" in history[0] and "wall time" in history[0]
    assert len((tmp_path / "invocations.jsonl").read_text().splitlines()) == 1
    # "reused" counts the runs this command read, not every run in the store
    subset = build_parser().parse_args(["benchmark", "--quick", "--methods", "l/sum(l)", "--no-figures",
                                        "--out", str(tmp_path)])
    run_benchmark_command(subset)
    assert "0 runs computed, 2 reused" in capsys.readouterr().out  # one unseeded run on each of 2 data sets


def test_unknown_method_is_refused(tmp_path):
    args = build_parser().parse_args(["benchmark", "--methods", "SVM", "--out", str(tmp_path)])
    with pytest.raises(ValueError, match="--methods: unknown"):
        run_benchmark_command(args)


def test_two_temperature_readout_matches_or_beats_both_parents_on_the_selection_metric(data_dir, tmp_path):
    from lib_tf.readout.forms import TemperatureReadouts, TwoTemperatureReadouts

    def noisy_logits(X, L, params, seed):  # a stand-in model: ridge regression of l on x
        Z = (X - X.mean(0)) / (X.std(0) + 1e-12)
        return Z @ np.linalg.solve(Z.T @ Z + 100.0 * np.eye(Z.shape[1]), Z.T @ L)

    methods = {name: spec for name, spec in default_methods(quick=True).items() if name == "softmax(l/T)"}
    methods["model"] = MethodSpec("model", noisy_logits, readouts=TemperatureReadouts())
    methods["model+l"] = MethodSpec("model+l", noisy_logits, readouts=TwoTemperatureReadouts())
    paper = Benchmark(tmp_path, methods, ["SJAFFE"], [0], progress=False).run(["paper"])["paper"]["SJAFFE"]
    kl = {name: result["mean"]["Kullback-Leibler"] for name, result in paper.items()}
    assert kl["model+l"] <= min(kl["model"], kl["softmax(l/T)"]) + 1e-12
    assert kl["model+l"] < min(kl["model"], kl["softmax(l/T)"]) - 1e-4, "features and labels together beat each"


def test_a_run_keeps_what_every_protocol_reads_and_its_key_holds_the_readout_grid(tmp_path):
    from lib_tf.readout.forms import TemperatureReadouts, TwoTemperatureReadouts
    from lib_tf.benchmark.store import RunStore, measures, run_key, score_readouts, selection_values
    from lib_tf.metrics import METRIC_NAMES, score

    rng = np.random.default_rng(0)
    D = rng.dirichlet(np.ones(4), size=40)
    L = (D >= np.sort(D, axis=1)[:, -2:-1]).astype(float)
    logits = np.log(D) + rng.normal(scale=0.5, size=D.shape)
    readouts = TwoTemperatureReadouts().apply(logits, L)
    revealed, hidden = np.arange(10), np.arange(10, 40)
    fields = score_readouts(D, readouts, revealed, hidden)
    run = {"key": "k", **fields}
    kl = METRIC_NAMES.index("Kullback-Leibler")
    for i, name in enumerate(fields["readouts"]):  # all six on all instances for every read-out (paper, zero-truth)
        assert measures(run, name)["Chebyshev"] == pytest.approx(score(D, readouts[name])["Chebyshev"], rel=1e-5)
        assert selection_values(run, "revealed")[i] == pytest.approx(score(D[revealed], readouts[name][revealed])["Kullback-Leibler"], rel=1e-5)
    pick = min(readouts, key=lambda name: score(D[revealed], readouts[name][revealed])["Kullback-Leibler"])
    assert fields["blind_pick"] == pick  # blind: the hidden measures of the read-out best on the revealed share
    assert measures(run, pick, "hidden")["Cosine"] == pytest.approx(score(D[hidden], readouts[pick][hidden])["Cosine"], rel=1e-5)
    with pytest.raises(KeyError, match="blind pick"):
        measures(run, next(name for name in readouts if name != pick), "hidden")
    assert fields["all"][0][kl] == selection_values(run, "all")[0]
    # a changed read-out grid is another run
    assert run_key("LIB", "SJAFFE", 0, {}, TemperatureReadouts().signature()) != \
        run_key("LIB", "SJAFFE", 0, {}, TemperatureReadouts(grid=(0.5, 1.0)).signature())
    # runs stored before the grid joined the key load in today's fields (baselines reuse them)
    first = {"key": run_key("GLLE", "SJAFFE", 0, {"lam": 1.0}), "method": "GLLE", "seconds": 1.0,
             "by_temperature": {"-": {s: {m: 0.5 for m in METRIC_NAMES} for s in ("all", "revealed", "hidden")}}}
    (tmp_path / "runs.jsonl").write_text(json.dumps(first) + "\n")
    loaded = RunStore(tmp_path / "runs.jsonl").get(first["key"])
    assert loaded["readouts"] == ["-"] and measures(loaded, "-", "hidden")["Cosine"] == 0.5



def test_archived_runs_are_read_beside_new_ones(tmp_path):
    from lib_tf.benchmark.store import RunStore, archive_runs

    path = tmp_path / "runs.jsonl"
    store = RunStore(path)
    store.add({"key": "a", "seconds": 1.0})
    store.add({"key": "b", "seconds": 2.0})
    archive = archive_runs(path)
    assert not path.exists() and archive.stat().st_size > 0
    store = RunStore(path)
    assert store.get("a")["seconds"] == 1.0 and store.get("b")["seconds"] == 2.0
    store.add({"key": "c", "seconds": 3.0})  # new runs go to the plain file, the archive stays
    assert path.read_text().count("\n") == 1
    assert sorted(RunStore(path).runs) == ["a", "b", "c"]
    archive_runs(path)
    assert sorted(RunStore(path).runs) == ["a", "b", "c"] and not path.exists()


def test_zero_truth_chooses_outside_the_family_only(data_dir, tmp_path):
    from lib_tf.readout.forms import TemperatureReadouts

    def fit(X, L, params, seed):
        return L * params["scale"]

    spec = MethodSpec("scaled", fit, grid=[{"scale": 1.0}, {"scale": 2.0}], readouts=TemperatureReadouts(grid=(1.0, 2.0, 4.0)))
    bench = Benchmark(tmp_path, {"scaled": spec}, ["SJAFFE", "Yeast_spo5", "Yeast_cold"], [0], progress=False)
    table = bench.run(["paper", "zero-truth"])
    assert bench._others("Yeast_spo5") == ["SJAFFE"] and bench._others("SJAFFE") == ["Yeast_spo5", "Yeast_cold"]
    geometric = {}
    for params in spec.grid:
        for t in spec.readouts.names():
            per_set = {d: np.log(bench.store.get(bench._key(spec, d, 0, params))["all"][spec.readouts.names().index(t)][3])
                       for d in ("SJAFFE", "Yeast_spo5", "Yeast_cold")}
            geometric[(params["scale"], t)] = per_set
    for dataset in ("SJAFFE", "Yeast_spo5", "Yeast_cold"):
        others = [d for d in ("SJAFFE", "Yeast_spo5", "Yeast_cold") if d != dataset and d[:5] != dataset[:5]]
        expected = min(geometric, key=lambda key: np.mean([geometric[key][d] for d in others]))
        chosen = table["zero-truth"][dataset]["scaled"]
        assert (chosen["params"]["scale"], chosen["temperatures"][0]) == expected
    # a data set whose best T differs from the others': zero-truth cannot find it, paper can
    assert table["paper"]["SJAFFE"]["scaled"]["mean"]["Kullback-Leibler"] <= \
        table["zero-truth"]["SJAFFE"]["scaled"]["mean"]["Kullback-Leibler"]


def test_relative_worsening_signs_and_median_over_data_sets():
    from lib_tf.benchmark import median_worsening, relative_worsening

    assert relative_worsening(0.11, 0.10, "Chebyshev") == pytest.approx(0.1)   # lower is better: 10% worse
    assert relative_worsening(0.90, 1.00, "Cosine") == pytest.approx(0.1)      # higher is better: 10% worse
    assert relative_worsening(0.08, 0.10, "Chebyshev") == pytest.approx(-0.2)  # better than the reference
    assert relative_worsening(0.1, 0.0, "Chebyshev") is None
    table = {"a": {"x": _result(Chebyshev=0.11)}, "b": {"x": _result(Chebyshev=0.08)},
             "c": {"x": _result(Chebyshev=0.30)}, "d": {"y": _result(Chebyshev=0.1)}}
    reference = {"a": 0.10, "b": 0.10, "c": 0.20, "d": 0.1}.get
    median, within, cells = median_worsening(table, "x", "Chebyshev", reference)
    assert (median, within, cells) == (pytest.approx(0.1), 2, 3)  # changes .1, -.2, .5; "d" has no x
    assert median_worsening(table, "x", "Chebyshev", lambda d: None) is None


def test_compare_cells_counts_better_and_equal_apart_at_three_decimals():
    from lib_tf.benchmark import compare_cells

    mine = {("a", "Chebyshev"): 0.0904, ("a", "Cosine"): 0.9700, ("b", "Chebyshev"): 0.1200,
            ("b", "Cosine"): 0.9614}.get
    theirs = {("a", "Chebyshev"): 0.091, ("a", "Cosine"): 0.970, ("b", "Chebyshev"): 0.115,
              ("b", "Cosine"): 0.961, ("c", "Chebyshev"): 0.1}.get
    # a/Chebyshev .090 < .091 better (lower); a/Cosine equal; b/Chebyshev worse; b/Cosine .961 == .961
    # (.9614 rounds down); c has no figure of mine; the four other metrics have none at all
    counted = compare_cells(["a", "b", "c"], lambda d, m: mine((d, m)), lambda d, m: theirs((d, m)))
    assert counted == (1, 2, 4) and counted.matched_or_beaten == 3
    swapped = compare_cells(["a", "b", "c"], lambda d, m: theirs((d, m)), lambda d, m: mine((d, m)))
    assert (swapped.better, swapped.equal) == (1, 2)  # now only b/Chebyshev is better


def test_self_against_blind_splits_on_whether_the_labels_pin_the_scale():
    """Where the logical labels cannot tell the truth's sharpness only a prior sets it: the report
    counts those cells apart, beside what the method's own blind choice reaches there."""
    from lib_tf.benchmark.report import _self_against_blind_lines
    from lib_tf.metrics import METRIC_NAMES

    def row(value, **extra):  # every measure the same figure: lower wins 4 cells, higher wins 2
        return {"mean": dict.fromkeys(METRIC_NAMES, value), "std": {}, **extra}

    references = {"softmax(l/T)": row(0.5), "rule(softmax(l/T))": row(0.5)}
    blind = {"SJAFFE": {"LA-LIB": row(0.4), **references}, "Yeast_cold": {"LA-LIB": row(0.4), **references}}
    self_rows = {"SJAFFE": {"LA-LIB": row(0.4, scale_identified=True)},
                 "Yeast_cold": {"LA-LIB": row(0.6, scale_identified=False)}}
    lines = _self_against_blind_lines({"self": self_rows, "blind": blind})
    assert "better on **6 of 12**" in lines[4] and "1 of 2** (SJAFFE)" in lines[4]
    assert lines[5] == ("  - sets whose logical labels pin the truth's sharpness (1: SJAFFE): softmax(l/T) (blind): "
                        "self better on 4 of 6, blind LA-LIB on 4; rule(softmax(l/T)) (blind): self better on 4 of 6, "
                        "blind LA-LIB on 4.")
    assert lines[6].startswith("  - sets whose logical labels cannot tell it (only a prior sets it) (1: Yeast_cold): "
                               "softmax(l/T) (blind): self better on 2 of 6, blind LA-LIB on 4")
    # without the flag (runs made before it was stored) or where every set pins it: no split
    for flag in (None, True):
        self_rows["Yeast_cold"]["LA-LIB"]["scale_identified"] = flag
        assert not any(line.startswith("  - ") for line in _self_against_blind_lines({"self": self_rows, "blind": blind}))


def test_self_chooses_by_the_truth_free_criterion_each_run_stores(data_dir, tmp_path):
    from lib_tf.readout.forms import TemperatureReadouts

    def fit(X, L, params, seed):
        return L * params["scale"]

    spec = MethodSpec("scaled", fit, grid=[{"scale": 1.0}, {"scale": 2.0}], readouts=TemperatureReadouts(grid=(0.5, 2.0, 8.0)))
    plain = MethodSpec("l/sum(l)", default_methods()["l/sum(l)"].fit)
    bench = Benchmark(tmp_path, {"scaled": spec, "l/sum(l)": plain}, ["Yeast_spo5"], [0], progress=False)
    table = bench.run(["paper", "self"])
    runs = [bench.store.get(bench._key(spec, "Yeast_spo5", 0, params)) for params in spec.grid]
    assert all(len(run["self_values"]) == len(run["readouts"]) == 3 for run in runs)
    values = [(v, params["scale"], name) for run, params in zip(runs, spec.grid) for v, name in zip(run["self_values"], run["readouts"])]
    _, scale, readout = min(values)
    chosen = table["self"]["Yeast_spo5"]["scaled"]
    assert (chosen["params"]["scale"], chosen["temperatures"]) == (scale, [readout])
    # nothing to choose: the method's only run, as under paper (and no posterior is fitted for it)
    assert table["self"]["Yeast_spo5"]["l/sum(l)"]["mean"] == table["paper"]["Yeast_spo5"]["l/sum(l)"]["mean"]
    assert "self_values" not in bench.store.get(bench._key(plain, "Yeast_spo5", 0, {}))
    # a stored run made before the criterion existed is made again when self needs it
    stripped = {k: v for k, v in runs[0].items() if k not in ("self_values", "scale_identified")}
    again = Benchmark(tmp_path / "old", {"scaled": spec}, ["Yeast_spo5"], [0], progress=False)
    again.store.add(stripped)
    again.run(["self"])
    assert again.store.get(stripped["key"])["self_values"] == runs[0]["self_values"]


def test_the_posterior_readout_is_the_hedge_and_self_picks_it(data_dir, tmp_path):
    """With ``posterior_readout`` a method's last read-out is the binarisation posterior's hedge
    of its read-out with the least expected KL (what LabelEnhancer's truth-free fit gives its
    instances), and ``self`` picks it: under the posterior it ranks above every read-out."""
    from lib_tf.benchmark.methods import POSTERIOR_READOUT
    from lib_tf.data import load_ldl
    from lib_tf.readout.forms import TemperatureReadouts
    from lib_tf.readout.posterior import fit_binarisation_posterior

    data = load_ldl("Yeast_spo5")
    L = data.logical_labels.astype(np.float64)
    spec = MethodSpec("hedged", lambda X, L, params, seed: np.asarray(L, dtype=np.float64),
                      readouts=TemperatureReadouts(grid=(0.5, 2.0, 8.0)), posterior_readout=True)
    posterior = fit_binarisation_posterior(L, L, iterations=5, random_state=0)
    readouts = spec.read_out(L, L, posterior)
    assert list(readouts) == spec.readout_names() and spec.readout_names()[-1] == POSTERIOR_READOUT
    grid = {name: readouts[name] for name in spec.readouts.names()}
    first = min(grid, key=lambda name: posterior.expected_kl(grid[name]))
    np.testing.assert_allclose(readouts[POSTERIOR_READOUT], (posterior.mean + grid[first]) / 2)
    assert posterior.expected_kl(readouts[POSTERIOR_READOUT]) < min(map(posterior.expected_kl, grid.values()))
    bench = Benchmark(tmp_path, {"hedged": spec}, ["Yeast_spo5"], [0], progress=False)
    assert bench.run(["self"])["self"]["Yeast_spo5"]["hedged"]["temperatures"] == [POSTERIOR_READOUT]


def test_a_method_fitting_many_settings_at_once_stores_each_run_as_its_own(data_dir, tmp_path):
    """fit_many computes every missing run of the method on a data set in one call; each run
    is stored under the key, with the figures, that fitting it alone gives."""
    glle = default_methods(quick=True)["GLLE"]
    grid = glle.grid[:2]
    batches = []

    def fit_many(X, L, requests):
        batches.append(list(requests))
        return [glle.fit(X, L, params, seed) for params, seed in requests]

    alone = Benchmark(tmp_path / "alone", {"GLLE": MethodSpec("GLLE", glle.fit, grid=grid, seeded=True)}, ["SJAFFE"],
                      [0, 1], progress=False)
    together = Benchmark(tmp_path / "together", {"GLLE": MethodSpec("GLLE", glle.fit, grid=grid, seeded=True,
                                                                    fit_many=fit_many)}, ["SJAFFE"], [0, 1],
                         progress=False)
    alone_table, together_table = alone.run(["paper"]), together.run(["paper"])
    assert len(batches) == 1 and len(batches[0]) == 4  # the grid x both seeds in the first call, none after
    assert set(alone.store.runs) < set(together.store.runs) and len(together.store.runs) == 4
    for key, run in alone.store.runs.items():
        assert together.store.get(key)["all"] == run["all"]
    assert together_table["paper"]["SJAFFE"]["GLLE"]["mean"] == alone_table["paper"]["SJAFFE"]["GLLE"]["mean"]
