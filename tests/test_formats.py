"""Format versions: what simlib writes is stamped, old checkpoints migrate, newer files are refused."""

import pytest
import torch

from simlib import SimlibError, formats, machines, tasks
from simlib.machines.checkpoint import VERSION, read_checkpoint, save_checkpoint
from simlib.machines.zoo import zoo_path
from simlib.traces import load_traces, sample_traces, save_traces


def test_a_shipped_version_1_checkpoint_is_migrated_on_read():
    path = zoo_path("beta-bernoulli")
    raw = torch.load(path, map_location="cpu", weights_only=True)
    assert raw["version"] == 1 and "written_by" not in raw
    payload = read_checkpoint(path)
    assert payload["version"] == VERSION == formats.CURRENT["checkpoint"] == 2
    assert set(payload["written_by"]) == {"simlib", "torch", "numpy"}
    assert machines.load("rnn:beta-bernoulli").state_dim > 0


def test_a_written_checkpoint_carries_its_version_and_writers(tmp_path):
    raw = torch.load(zoo_path("beta-bernoulli"), map_location="cpu", weights_only=True)
    path = save_checkpoint({k: v for k, v in raw.items() if k not in ("format", "version")}, tmp_path / "new.pt")
    written = torch.load(path, map_location="cpu", weights_only=True)
    assert written["version"] == 2 and written["written_by"] == formats.written_by()
    assert read_checkpoint(path)["written_by"] == formats.written_by()


@pytest.mark.parametrize("version", [3, 0, "2", None, True, 1.5])
def test_unreadable_checkpoint_versions_are_refused(tmp_path, version):
    raw = torch.load(zoo_path("beta-bernoulli"), map_location="cpu", weights_only=True)
    torch.save({**raw, "version": version}, tmp_path / "odd.pt")
    with pytest.raises(SimlibError, match="newer simlib|no valid checkpoint format version"):
        read_checkpoint(tmp_path / "odd.pt")


def test_traces_are_stamped_and_a_newer_trace_format_is_refused(tmp_path):
    traces = sample_traces(tasks.get("beta-bernoulli", horizon=4), {"m": machines.load("opt:beta-bernoulli")}, 3, 0)
    assert traces.attrs["format"] == "simlib-traces" and traces.attrs["format_version"] == formats.CURRENT["traces"]
    assert traces.attrs["written_by_torch"] == torch.__version__
    loaded = load_traces(save_traces(traces, tmp_path / "t.nc"))
    assert loaded.attrs["written_by_simlib"] == traces.attrs["written_by_simlib"]
    traces.attrs["format_version"] = formats.CURRENT["traces"] + 1
    save_traces(traces, tmp_path / "newer.nc")
    with pytest.raises(SimlibError, match=f"traces version {formats.CURRENT['traces'] + 1}, written by a newer simlib"):
        load_traces(tmp_path / "newer.nc")
