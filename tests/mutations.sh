#!/usr/bin/env bash
# Mutation check: break the code on purpose, run the test meant to catch it, restore the file.
# Prints CAUGHT or MISSED per mutation (issue: tests that could not fail). Run from any folder
# with simlib installed editable: PYTHON=.venv/bin/python tests/mutations.sh
cd "$(dirname "$0")/.."
py=${PYTHON:-python}
check() { # file, python-replace-old, new, test-selector
  cp "$1" /tmp/mut.bak
  $py - "$1" "$2" "$3" <<'PY'
import sys; p, old, new = sys.argv[1:]; s = open(p).read(); assert old in s, old; open(p, "w").write(s.replace(old, new, 1))
PY
  if $py -m pytest -q -p no:cacheprovider -n 0 -x $4 > /tmp/mut.out 2>&1; then echo "MISSED: $1 :: $2"; else echo "CAUGHT: $1 :: $2 -> $(grep -m1 -E '^FAILED' /tmp/mut.out)"; fi
  cp /tmp/mut.bak "$1"
}
check simlib/behaviour.py 'traces[f"{reference}_output"].values, traces[f"{other}_output"].values' 'traces[f"{other}_output"].values, traces[f"{reference}_output"].values' "tests/test_traces.py -k eq2"
check simlib/bootstrap.py 'low, high = np.percentile(estimates, [tail, 100.0 - tail])' 'low, high = estimates.min(), estimates.max()' "tests/test_compare.py -k percentile"
check machines/checkpoint.py 'payload = migrate(payload, formats.require_readable("checkpoint", payload.get("version"), str(path)))' 'payload = migrate(payload, 1)' "tests/test_cli.py -k format_version"
check machines/bandit_agents.py 'self.belief.sample_means(s) + bonus)' 'self.belief.sample_means(s) + 0 * bonus)' "tests/test_bandit_agents.py -k ucb_pulls"
check simlib/device.py 'return torch.device("cuda" if torch.cuda.is_available() else "cpu")' 'return torch.device("cpu")' "tests/test_training.py -k auto_picks"
check examples/plot_two_armed_bandit.py 'print(f"return gap {behaviour.value:.3f}' 'print(f"return gap {float(\"nan\"):.3f}' "tests/test_examples.py -k plot_two_armed_bandit"
check simlib/injectivity.py 'return weight * ((z - means[classes]) ** 2).mean(-1)' 'return ((z - means[classes]) ** 2).mean(-1)' "tests/test_injectivity.py -k traced_floor"
check simlib/baselines.py 'return float(np.linalg.norm(y.T @ x) ** 2 / denominator)' 'return float(np.linalg.norm(y.T @ x) / denominator)' "tests/test_baselines.py"
check simlib/bootstrap.py 'difference = control - real' 'difference = real - control' "tests/test_bandit_compare.py -k reparametrised"
check simlib/simulation.py 'signed, absolute = output_error.sum(1), np.abs(output_error).sum(1)' 'signed, absolute = output_error.sum(1), np.abs(output_error.sum(1))' "tests/test_bandit_compare.py -k cannot_cancel"
check simlib/task_family.py '    family = getattr(task, "family", None)' '    family = None' "tests/test_task_family.py"
check simlib/compare.py '    measure = family.output_measure' '    measure = "kl"' "tests/test_task_family.py"
check simlib/embedding.py 'return _weighted_mse(prediction, self.y, self.counts) + self.spread' 'return _weighted_mse(prediction, self.y, self.counts)' "tests/test_embedding.py"
check simlib/embedding.py '                output_layer.install(head, output_layer.solve(body(xt)))' '                pass' "tests/test_embedding.py"
check simlib/lbfgs.py '            if curvature > 1e-10 * float(y @ y):' '            if False:' "tests/test_lbfgs.py"
check simlib/lbfgs.py '            q.add_(s, alpha=alpha - beta)' '            q.add_(s, alpha=alpha)' "tests/test_lbfgs.py"
check simlib/simulation.py '    return type("NotFitted", (SimlibError, NotFittedError)' '    return type("NotFitted", (SimlibError,)' "tests/test_simulation.py -k before_fit"
