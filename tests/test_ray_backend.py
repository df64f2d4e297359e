"""``simlib reproduce --backend ray``: the same results as in process, and a killed run recovers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

ray = pytest.importorskip("ray")

from simlib.machines.checkpoint import read_checkpoint  # noqa: E402
from simlib.pipeline.execute import InProcessExecutor  # noqa: E402
from simlib.pipeline.mikulik2020 import ReproduceSettings, Reproduction  # noqa: E402
from simlib.pipeline.ray_executor import RayExecutor  # noqa: E402

QUICK = ["--quick", "--tasks", "beta-bernoulli", "--seeds", "2", "--widths", "none", "--episodes", "40", "--threads", "1"]


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def _records(out: Path) -> dict[str, dict]:
    """Each evaluation's measures and report (training times, which differ between runs, left out)."""
    rows = {}
    for path in sorted((out / "evaluations").glob("*/*.json")):
        record = json.loads(path.read_text())
        rows[path.relative_to(out).as_posix()] = {"measures": record["measures"], "report": record["report"]}
    return rows


def test_a_quick_reproduction_on_ray_gives_exactly_the_in_process_results(local_ray, tmp_path):
    settings = ReproduceSettings.quick(tasks=("beta-bernoulli",), seeds=2, widths=(), episodes=40, threads=1)
    lines: list[str] = []
    inside = Reproduction(settings, tmp_path / "inside", log=lambda line: None, executor=InProcessExecutor()).run()
    on_ray = Reproduction(settings, tmp_path / "ray", log=lines.append, executor=RayExecutor()).run()
    assert set(inside) == set(on_ray)
    assert _records(tmp_path / "inside") == _records(tmp_path / "ray") and len(_records(tmp_path / "ray")) == 4
    for seed in (0, 1):
        trained = [read_checkpoint(out / "runs" / "beta-bernoulli" / f"seed-{seed}.pt") for out in (tmp_path / "inside", tmp_path / "ray")]
        first, second = (payload["snapshots"][-1]["state_dict"] for payload in trained)
        assert all(torch.equal(first[key], second[key]) for key in first)
    progress = [line for line in lines if line.startswith("[")]
    assert progress and all("running" in line and "failed" in line and "left" in line for line in progress)
    assert "[8/8 done, 0 running, 0 queued, 0 failed]" in progress[-1]
    assert all(int(line.split(" running")[0].split(", ")[-1]) <= 2 for line in progress)


def test_a_failing_job_on_ray_surfaces_its_own_error_and_skips_what_depends_on_it(local_ray, tmp_path):
    settings = ReproduceSettings.quick(tasks=("beta-bernoulli",), seeds=1, widths=(), episodes=40, threads=1)
    (tmp_path / "runs" / "beta-bernoulli").mkdir(parents=True)
    (tmp_path / "runs" / "beta-bernoulli" / "seed-0.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(Exception, match="seed-0.pt") as caught:
        Reproduction(settings, tmp_path, log=lambda line: None, executor=RayExecutor()).run()
    assert "ray" not in type(caught.value).__module__
    assert not (tmp_path / "evaluations").exists()


def _simlib(*argv: str, **options) -> subprocess.Popen:
    command = [sys.executable, "-c", "from simlib.cli.app import main; raise SystemExit(main())", "reproduce", *argv]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            **options)


def test_a_ray_run_killed_mid_way_resumes_from_its_folder(tmp_path):
    out = tmp_path / "run"
    first = out / "evaluations" / "beta-bernoulli" / "seed-0-init.json"
    driver = _simlib(*QUICK, "--backend", "ray", "--out", str(out))
    deadline = time.monotonic() + 240
    while not first.exists() and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert first.exists(), driver.communicate()[1][-2000:]
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()
    kept = first.stat().st_mtime_ns
    again = _simlib(*QUICK, "--backend", "ray", "--out", str(out))
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err[-2000:]
    assert first.stat().st_mtime_ns == kept, "an evaluation finished before the kill was redone"
    assert len(_records(out)) == 4 and (out / "results.csv").exists()
    assert not [path for path in out.rglob("*") if ".tmp" in path.name], "a half-written file was left behind"


def test_ray_options_are_checked_on_the_command_line(capsys):
    from simlib.cli.app import main

    assert main(["reproduce", "--backend", "rey", "--quick"]) == 2
    assert "did you mean 'ray'" in capsys.readouterr().err
    assert main(["reproduce", "--address", "10.0.0.1:6379", "--quick"]) == 2
    assert capsys.readouterr().err.strip() == "simlib: error: --address and --gpus-per-job apply to --backend ray only"
    assert main(["reproduce", "--backend", "ray", "--gpus-per-job", "1.5", "--quick"]) == 2
    assert "--gpus-per-job" in capsys.readouterr().err


def test_jobs_ask_ray_for_their_threads_and_a_gpu_share_only_where_their_device_wants_one(tmp_path):
    settings = ReproduceSettings.quick(tasks=("beta-bernoulli",), seeds=1, widths=(), threads=3, device="cuda")
    jobs = {job.id: job for job in Reproduction(settings, tmp_path).plan()}
    executor = RayExecutor(gpu_fraction=0.25)
    assert executor.resources(jobs["train/beta-bernoulli/seed-0"], 0.0) == {"num_cpus": 3, "num_gpus": 0.25, "max_retries": 1}
    assert executor.resources(jobs["evaluate/beta-bernoulli/seed-0-final"], 1.0)["num_gpus"] == 0
    auto = Reproduction(ReproduceSettings.quick(tasks=("beta-bernoulli",), seeds=1, widths=()), tmp_path).plan()
    train = next(job for job in auto if job.id.startswith("train/"))
    assert executor.resources(train, 0.0)["num_gpus"] == 0 and executor.resources(train, 2.0)["num_gpus"] == 0.25
    assert executor.resources(train, 0.0)["num_cpus"] == 1
