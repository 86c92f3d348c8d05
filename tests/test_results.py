"""Results files: round trip, atomic writes, provenance."""

import numpy as np
import xarray as xr

from lio.results import open_dataset, write_atomic
from lio.provenance import provenance


def test_write_atomic_round_trips_and_leaves_no_temporary(tmp_path):
    dataset = xr.Dataset({"loss": (("example",), np.arange(3.0))}, attrs={"method": "bfgs"})
    path = tmp_path / "sub" / "result.nc"
    write_atomic(dataset, path)
    assert open_dataset(path)["loss"].values.tolist() == [0.0, 1.0, 2.0]
    assert [p.name for p in path.parent.iterdir()] == ["result.nc"]


def test_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "result.nc"
    write_atomic(xr.Dataset({"loss": (("example",), [1.0])}), path)
    bad = xr.Dataset({"loss": (("example",), [object()])})  # not serialisable
    try:
        write_atomic(bad, path)
    except Exception:  # noqa: BLE001 - any failure will do, the old file must survive
        pass
    assert open_dataset(path)["loss"].values.tolist() == [1.0]
    assert [p.name for p in tmp_path.iterdir()] == ["result.nc"]


def test_provenance_names_versions_device_and_config():
    attrs = provenance({"seed": 3})
    assert attrs["lio_version"] and attrs["git_sha"]
    assert '"jax"' in attrs["packages"] and attrs["device"].startswith("cpu")
    assert attrs["config"] == '{"seed": 3}'
