"""The reproduction pipeline's parts without training: the executor on tiny fake jobs, the
plans as pure, picklable data, and jobs that find their target done doing nothing."""

from __future__ import annotations

import pickle
import sys
from dataclasses import dataclass

import pytest

from simlib.errors import SimlibError
from simlib.pipeline.cache import write_record
from simlib.pipeline.execute import InProcessExecutor, in_dependency_order
from simlib.pipeline.jobs import BehaviourFigureJob, ConvergenceJob, EvaluateJob, TrainJob
from simlib.pipeline.mikulik2020 import ReproduceSettings, plan
from simlib.pipeline.wang2016 import WangSettings
from simlib.pipeline.wang2016 import plan as wang_plan
from simlib.pipeline.wang2016_jobs import ComparisonJob, CurveJob


@dataclass(frozen=True)
class Step:
    """A fake job: says ``run NAME`` on the log, then fails, or did work unless ``cached``."""

    id: str
    depends_on: tuple[str, ...] = ()
    fails: bool = False
    cached: bool = False

    def run(self, log) -> bool:
        log(f"run {self.id}")
        if self.fails:
            raise SimlibError(f"{self.id} went wrong")
        return not self.cached


def execute(jobs, **options) -> tuple[dict, list[str], list[str]]:
    """Outcomes, the ids in the order they ran, and the progress lines."""
    lines: list[str] = []
    outcomes = InProcessExecutor(**options).run(jobs, lines.append)
    return outcomes, ran(lines), [line for line in lines if line.startswith("[")]


def ran(lines: list[str]) -> list[str]:
    return [line.removeprefix("run ") for line in lines if line.startswith("run ")]


def test_jobs_run_after_what_they_depend_on_in_plan_order_otherwise():
    jobs = [Step("figure", ("b", "a")), Step("b", ("a",)), Step("c"), Step("a", cached=True)]
    outcomes, order, progress = execute(jobs)
    assert order == ["c", "a", "b", "figure"]
    assert {name: o.status for name, o in outcomes.items()} == {"figure": "ran", "b": "ran", "c": "ran", "a": "cached"}
    assert len(progress) == 3 and progress[0].startswith("[1/4] c: ") and progress[-1].startswith("[4/4] figure: ")


def test_a_failed_job_skips_its_dependents_and_its_error_surfaces():
    jobs = [Step("train", fails=True), Step("evaluate", ("train",)), Step("figure", ("evaluate",)), Step("other")]
    lines: list[str] = []
    with pytest.raises(SimlibError) as raised:
        InProcessExecutor().run(jobs, lines.append)
    assert str(raised.value) == "train went wrong"
    assert ran(lines) == ["train"] and not [line for line in lines if line.startswith("[")]
    assert raised.value.__notes__ == ["1 job(s) failed, first train; skipped: evaluate, figure, other"]


def test_keep_going_runs_what_does_not_depend_on_the_failure():
    jobs = [Step("a", fails=True), Step("b", ("a",)), Step("c"), Step("d", ("b", "c")), Step("e", fails=True), Step("f", ("c",))]
    lines: list[str] = []
    with pytest.raises(SimlibError) as raised:
        InProcessExecutor(keep_going=True).run(jobs, lines.append)
    assert str(raised.value) == "a went wrong" and ran(lines) == ["a", "c", "e", "f"]
    assert raised.value.__notes__ == ["2 job(s) failed, first a; skipped: b, d"]


@pytest.mark.parametrize(
    "jobs, message",
    [
        ([Step("a"), Step("a")], "two jobs"),
        ([Step("a", ("nothing",))], "not in the plan"),
        ([Step("a", ("b",)), Step("b", ("a",)), Step("c")], "cycle: a, b"),
    ],
)
def test_a_plan_that_cannot_be_ordered_is_refused_before_anything_runs(jobs, message):
    lines: list[str] = []
    with pytest.raises(ValueError, match=message):
        InProcessExecutor().run(jobs, lines.append)
    assert lines == []


@pytest.fixture
def quick_plan(tmp_path):
    return plan(ReproduceSettings.quick(tasks=("beta-bernoulli",)), tmp_path)


def test_planning_is_pure(quick_plan, tmp_path):
    assert plan(ReproduceSettings.quick(tasks=("beta-bernoulli",)), tmp_path) == quick_plan
    assert wang_plan(WangSettings.quick(), tmp_path) == wang_plan(WangSettings.quick(), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_every_job_pickles_as_plain_data(quick_plan, tmp_path):
    jobs = [*quick_plan, *wang_plan(WangSettings.quick(), tmp_path)]
    assert {type(job) for job in quick_plan} == {TrainJob, EvaluateJob, BehaviourFigureJob, ConvergenceJob}
    assert {CurveJob, ComparisonJob} <= {type(job) for job in jobs}
    for job in jobs:
        assert pickle.loads(pickle.dumps(job)) == job, job.id


def test_the_quick_plan_is_keyed_and_ordered(quick_plan):
    ids = [job.id for job in quick_plan]
    assert ids[:3] == ["train/beta-bernoulli/seed-0", "evaluate/beta-bernoulli/seed-0-init", "evaluate/beta-bernoulli/seed-0-final"]
    assert ids[-2:] == ["figure1/beta-bernoulli", "convergence/beta-bernoulli"]
    assert in_dependency_order(quick_plan) == quick_plan
    evaluations = [job for job in quick_plan if isinstance(job, EvaluateJob)]
    assert [job.depends_on for job in evaluations] == [(f"train/beta-bernoulli/seed-{s}",) for s in (0, 0, 1, 1)]
    assert len({job.key for job in evaluations}) == 4
    assert [job.figure3 is not None for job in evaluations] == [False, True, False, False]
    assert quick_plan[-1].depends_on == ("train/beta-bernoulli/seed-0", "train/beta-bernoulli/seed-1")


def test_without_training_only_a_shipped_run_is_planned(tmp_path):
    quick = plan(ReproduceSettings.quick(tasks=("beta-bernoulli",), train=False), tmp_path)
    assert not [job for job in quick if isinstance(job, TrainJob)]
    assert all(not job.depends_on for job in quick if isinstance(job, EvaluateJob))
    shipped = plan(ReproduceSettings(tasks=("beta-bernoulli",), seeds=2, train=False), tmp_path)
    runs = [job for job in shipped if isinstance(job, TrainJob)]
    assert [(job.id, job.zoo, job.train) for job in runs] == [("train/beta-bernoulli/seed-0", True, False)]


def test_an_evaluation_whose_record_holds_its_key_does_nothing(quick_plan, monkeypatch):
    job = next(job for job in quick_plan if job.id == "evaluate/beta-bernoulli/seed-1-final")
    write_record(job.target, job.key, {"kind": "seed"})
    before = job.target.stat().st_mtime_ns
    monkeypatch.setattr(EvaluateJob, "comparison", lambda *args: pytest.fail("compared again"))
    assert job.run(print) is False
    assert job.target.stat().st_mtime_ns == before


def test_a_shipped_run_is_copied_once_and_then_left_alone(tmp_path):
    job = next(job for job in plan(ReproduceSettings(tasks=("beta-bernoulli",), seeds=1), tmp_path) if isinstance(job, TrainJob))
    assert job.zoo and job.train
    lines: list[str] = []
    assert job.run(lines.append) is True and lines == []
    before = job.path.stat().st_mtime_ns
    assert job.run(lines.append) is False and lines == []
    assert job.path.stat().st_mtime_ns == before


def test_the_ray_backend_without_ray_installed_names_the_extra_in_one_line(monkeypatch):
    from simlib.pipeline.ray_executor import RayExecutor

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(SimlibError, match=r'--backend ray needs Ray: pip install "simlib-agents\[ray\]"'):
        RayExecutor().run([])
