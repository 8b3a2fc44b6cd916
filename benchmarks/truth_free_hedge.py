"""What the truth-free fit should give its fitted instances: the posterior mean, the read-out
the criterion picks, or their average (the hedge, what it gives)?

``LabelEnhancer.label_aware()`` without truth chooses, by the binarisation posterior's expected
KL, the read-out ``rule(softmax(z / T + l / T_l))`` that new instances and the export get
(``read_out``). The posterior mean is the best read-out *under the posterior*, so the criterion
can never prefer anything to it; where the posterior is wrong it cannot say so. The hedge
``(posterior mean + chosen read-out) / 2`` (``distributions_``) costs nothing more, and since
KL(d || q) is convex in q its divergence is never above the average of the two's.

Per data set and seed: one default fit (the seeds trained side by side,
:func:`lib_tf.enhancer.fit_together`), scored on the 90% of instances that the benchmark's
``blind`` protocol hides (:func:`lib_tf.data.split_instances`, share 0.1, the seed's split):

- ``posterior``, ``chosen``, ``hedge``: the three candidates above (no truth used);
- with ``--centres``, ``... (<centre>)``: the same three from the posterior centred on other
  logits than the model's own in-sample ones (which learned each training row's labels, and so
  read them a second time beside the conditioning on them): ``held-out``, the logits its noise
  model is fitted on (``held_out_logits_``: each row's fold model's, made without the row and
  its own label); ``average``, the mean of the two;
- ``blind LA-LIB``: the same model's read-out with (T, T_l) picked on the revealed 10%
  (``select_temperature``);
- ``blind softmax(l/T)`` and ``blind rule(softmax(l/T))``: the label softmax, T picked on the
  revealed 10%.

Prints per data set the KL of each (mean over seeds), how each candidate stands against blind
LA-LIB (sets within 5%) and against the blind label softmax (cells of the six measures strictly
better at 3 decimals, the issue's count)::

    LIB_TF_DATA=../shared/ldl python benchmarks/truth_free_hedge.py [--datasets ...] [--seeds 0 1 2] [--centres held-out average]
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from lib_tf import LabelEnhancer, load_ldl
from lib_tf.data import EXTRA_DATASETS, PAPER_DATASETS, split_instances
from lib_tf.enhancer import fit_together
from lib_tf.metrics import MEASURES, higher_is_better
from lib_tf.readout.forms import TemperatureReadouts, model_readouts
from lib_tf.readout.posterior import fit_binarisation_posterior
from lib_tf.readout.selection import choose_extending, select_readout

SHIPPED = ("posterior", "chosen", "hedge")
CENTRES = ("held-out", "average")
REFERENCES = ("blind LA-LIB", "blind softmax(l/T)", "blind rule(softmax(l/T))")


def _label_softmax(L, D, revealed, hidden, rule_projection):
    form = TemperatureReadouts(rule_projection=rule_projection)
    temperature = select_readout(L[revealed], D[revealed], L[revealed], form=form)
    return form.read_out(L[hidden], L[hidden], temperature)


def candidates(centres):
    return SHIPPED + tuple(f"{name} ({centre})" for centre in centres for name in SHIPPED)


def centred_candidates(enhancer, X, L, logits, seed, centre):
    """The posterior mean, the read-out its expected KL ranks first and their hedge (n, c) each,
    with the posterior centred on ``centre``'s logits (see the module doc); ``logits``: the
    fitted model's (``enhancer.logits(X, L)``), which the read-outs read."""
    centred = None  # held-out: fit_binarisation_posterior centres on the logits it is fitted on
    if centre == "average":
        own = enhancer.model_.predict_logits_without_own_labels(X.astype(np.float32), L)
        centred = (np.asarray(own, dtype=np.float64) + enhancer.held_out_logits_) / 2
    posterior = fit_binarisation_posterior(enhancer.held_out_logits_, L, read_logits=centred, random_state=seed)
    chosen, _, form, _ = choose_extending(model_readouts(label_aware=True),
                                          lambda f, candidate: posterior.expected_kl(f.read_out(logits, L, candidate)))
    readout = form.read_out(logits, L, chosen)
    return {f"posterior ({centre})": posterior.mean, f"chosen ({centre})": readout,
            f"hedge ({centre})": posterior.hedge(readout)}


def measure(name, seeds, centres):
    """{seed: {label: distributions of the hidden rows (m, c)}} and the hidden rows' truth per seed."""
    data = load_ldl(name)
    X, L, D = data.features, data.logical_labels, data.distributions
    enhancers = fit_together([LabelEnhancer.label_aware(random_state=seed) for seed in seeds], X, L)
    out, truths = {}, {}
    for seed, enhancer in zip(seeds, enhancers):
        revealed, hidden = split_instances(len(X), seed=seed)
        answers = {"posterior": enhancer.posterior_.mean[hidden], "chosen": enhancer.read_out(X[hidden], L[hidden]),
                   "hedge": enhancer.distributions_[hidden]}
        logits = enhancer.logits(X, L)
        for centre in centres:
            answers.update({label: value[hidden]
                            for label, value in centred_candidates(enhancer, X, L, logits, seed, centre).items()})
        enhancer.select_temperature(X[revealed], D[revealed], L=L[revealed])
        answers["blind LA-LIB"] = enhancer.read_out(X[hidden], L[hidden])
        answers["blind softmax(l/T)"] = _label_softmax(L, D, revealed, hidden, rule_projection=False)
        answers["blind rule(softmax(l/T))"] = _label_softmax(L, D, revealed, hidden, rule_projection=True)
        out[seed], truths[seed] = answers, D[hidden]
    return out, truths


def scores(answers, truths):
    """{label: {measure: mean over seeds}}."""
    return {label: {measure: float(np.mean([MEASURES[measure][0](truths[s], answers[s][label]) for s in answers]))
                    for measure in MEASURES}
            for label in next(iter(answers.values()))}


def strictly_better(value, reference, measure) -> bool:
    value, reference = round(value, 3), round(reference, 3)
    return value > reference if higher_is_better(measure) else value < reference


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(PAPER_DATASETS) + list(EXTRA_DATASETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--centres", nargs="*", choices=CENTRES, default=["held-out"],
                        help="other logits to centre the posterior on, each scored beside the shipped fit's")
    args = parser.parse_args(argv)
    print(f"command: LIB_TF_DATA=../shared/ldl python benchmarks/truth_free_hedge.py --datasets {' '.join(args.datasets)} "
          f"--seeds {' '.join(map(str, args.seeds))} --centres {' '.join(args.centres)}")
    shown_candidates = candidates(args.centres)
    kl = "Kullback-Leibler"
    header = ["data set", *shown_candidates, *REFERENCES]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header), flush=True)
    within = {c: [] for c in shown_candidates}
    cells = {(c, r): 0 for c in shown_candidates for r in REFERENCES[1:]}
    paper_cells = 0
    for name in args.datasets:
        table = scores(*measure(name, args.seeds, args.centres))
        blind = table["blind LA-LIB"][kl]
        shown = [f"{table[c][kl]:.5f} ({table[c][kl] / blind - 1:+.0%})" for c in shown_candidates]
        print(f"| {name} | " + " | ".join(shown + [f"{table[r][kl]:.5f}" for r in REFERENCES]) + " |", flush=True)
        for c in shown_candidates:
            if table[c][kl] <= 1.05 * blind:
                within[c].append(name)
            if name in PAPER_DATASETS:
                for r in REFERENCES[1:]:
                    cells[(c, r)] += sum(strictly_better(table[c][m], table[r][m], m) for m in MEASURES)
        paper_cells += len(MEASURES) * (name in PAPER_DATASETS)
    for c in shown_candidates:
        print(f"- {c}: KL within 5% of blind LA-LIB on {len(within[c])} of {len(args.datasets)} sets "
              f"({', '.join(within[c])}); strictly better on the paper sets' cells than "
              + ", ".join(f"{r} on {cells[(c, r)]} of {paper_cells}" for r in REFERENCES[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
