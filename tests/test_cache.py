"""Cached results are reused only with the key they were made with."""

import json

import xarray as xr

from simlib.pipeline.cache import KEY, cache_key, cached_dataset, record_key, write_record


def test_a_dataset_is_rebuilt_when_its_key_changes_and_reused_when_it_does_not(tmp_path):
    builds = []

    def build():
        builds.append(1)
        return xr.Dataset({"x": ("i", [float(len(builds))])})

    path = tmp_path / "curve.nc"
    key = cache_key(episodes=10, agent="opt")
    assert float(cached_dataset(path, key, build)["x"][0]) == 1
    assert float(cached_dataset(path, cache_key(agent="opt", episodes=10), build)["x"][0]) == 1
    assert float(cached_dataset(path, cache_key(episodes=20, agent="opt"), build)["x"][0]) == 2
    xr.Dataset({"x": ("i", [0.0])}).to_netcdf(path)  # written without a key, as older simlib did
    assert float(cached_dataset(path, key, build)["x"][0]) == 3 and len(builds) == 3


def test_records_carry_their_key(tmp_path):
    path = tmp_path / "report.json"
    assert record_key(path) is None
    write_record(path, cache_key(episodes=5), {"value": 1.5})
    assert record_key(path) == cache_key(episodes=5) and json.loads(path.read_text())["value"] == 1.5
    path.write_text(json.dumps({"value": 1.5}))
    assert record_key(path) is None
    path.write_text("[1, 2")
    assert record_key(path) is None and KEY == "simlib_key"
