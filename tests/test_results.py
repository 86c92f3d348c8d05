"""Results files: round trip, atomic writes, provenance."""

import numpy as np
import xarray as xr

from lio.analysis.results import open_dataset, write_atomic
from lio.analysis.provenance import provenance


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


def synthetic_run(path, method, n, seed=0):
    """A run file as lio.run.experiment.solve writes it, from a tiny wave-packet set."""
    import jax

    from lio.analysis import results
    from lio.methods.base import Estimate
    from lio.problems import PROBLEMS

    problem = PROBLEMS["wavepacket"]()
    problems = problem.sample(jax.random.key(seed), n)
    solution = np.asarray(problems.solution)

    def estimate(status):
        return Estimate(solution=solution, loss=np.ones(n), status=np.full(n, status),
                        iterations=np.arange(n), curve=np.linspace(2.0, 1.0, 5), wall_time=0.5)

    run = results.run_to_dataset(
        problem, problems, estimate(4), estimate(0),
        {"method": method, "n": n, "seed": seed, "problem": "wavepacket", "config": "{}"},
    )
    results.write_atomic(run, path)
    return path


def synthetic_aggregate(tmp_path):
    from lio.analysis import results

    paths = [synthetic_run(tmp_path / f"{m}{n}.nc", m, n) for m in ("bfgs", "supervised") for n in (2, 4)]
    results.write_atomic(results.aggregate(paths), tmp_path / "aggregate.nc")
    return open_dataset(tmp_path / "aggregate.nc")


def test_aggregate_variables_carry_cf_units_long_names_and_status_flags(tmp_path):
    from lio.methods.base import STATUS

    dataset = synthetic_aggregate(tmp_path)
    assert dataset.attrs["Conventions"].startswith("CF-")
    for name, variable in dataset.data_vars.items():
        assert variable.attrs.get("long_name") and variable.attrs.get("units"), name
    assert dataset["wall_time_refine_s"].attrs["units"] == "s"
    assert dataset["curve"].attrs["long_name"] == "L/n during optimisation"  # the run's own
    for stage in ("unrefined", "refined"):
        status = dataset[f"status_{stage}"]
        assert status.attrs["flag_meanings"].split() == list(STATUS)
        assert status.attrs["flag_values"].tolist() == list(range(len(STATUS)))
        # Padding stays the integer -1 in memory and is declared as the fill value on disk.
        assert status.dtype == np.int8 and status.encoding["_FillValue"] == -1
        assert dataset[f"iterations_{stage}"].encoding["_FillValue"] == -1
    padded = dataset["status_refined"].sel(solver="bfgs", n=2, seed=0).values
    assert padded.tolist() == [0, 0, -1, -1]


def test_aggregate_fill_values_survive_a_second_round_trip(tmp_path):
    dataset = synthetic_aggregate(tmp_path)
    write_atomic(dataset, tmp_path / "again.nc")
    again = open_dataset(tmp_path / "again.nc")
    assert again["status_refined"].encoding["_FillValue"] == -1
    assert again["status_refined"].dims == ("solver", "n", "seed", "example")
    xr.testing.assert_identical(again, dataset)
    with xr.open_dataset(tmp_path / "again.nc", engine="h5netcdf") as plain:  # default CF decoding
        assert plain["status_refined"].sel(solver="bfgs", n=2, seed=0).isnull().values.tolist() == [
            False, False, True, True]


def test_sel_method_collides_with_xarray_and_sel_solver_does_not():
    old = xr.Dataset({"loss": (("method",), [1.0, 2.0])}, coords={"method": ["bfgs", "supervised"]})
    # sel's own ``method=`` argument swallows the label: nothing is selected, nothing raises.
    assert old.sel(method="bfgs").sizes["method"] == 2
    new = old.rename({"method": "solver"})
    assert float(new["loss"].sel(solver="bfgs")) == 1.0


def test_record_aggregates_in_the_old_layout_open_with_a_solver_dimension():
    from pathlib import Path

    records = sorted((Path(__file__).parents[1] / "paper/data").glob("*_aggregate.nc"))
    assert records
    for path in records:
        with xr.open_dataset(path, engine="h5netcdf") as raw:
            old_layout = "method" in raw.dims
        dataset = open_dataset(path)
        assert "solver" in dataset.dims and "method" not in dataset.dims, path.name
        bfgs = dataset["loss_refined"].sel(solver="bfgs")
        assert bfgs.dims == ("n", "seed", "example") and np.isfinite(bfgs).any(), path.name
        assert old_layout or dataset.attrs.get("Conventions"), path.name


def test_the_start_of_the_search_is_stored_and_aggregated_with_older_runs(tmp_path):
    import dataclasses

    import jax

    from lio.analysis import results
    from lio.methods.base import Estimate
    from lio.problems import PROBLEMS

    problem = PROBLEMS["wavepacket"]()
    problems = problem.sample(jax.random.key(0), 2)
    solution = np.asarray(problems.solution)
    old = Estimate(solution=solution, loss=np.ones(2), status=np.zeros(2, int),
                   iterations=np.ones(2, int), curve=np.ones(3), wall_time=0.1)
    new = dataclasses.replace(old, initial=np.full((2, 1), 128.0))
    attrs = {"n": 2, "seed": 0, "problem": "wavepacket", "config": "{}"}
    run = results.run_to_dataset(problem, problems, new, new, {**attrs, "method": "reparameterized"})
    assert run["solution_initial"].values.tolist() == [[128.0], [128.0]]
    assert "started" in run["solution_initial"].attrs["long_name"]
    write_atomic(run, tmp_path / "new.nc")
    before = results.run_to_dataset(problem, problems, old, old, {**attrs, "method": "bfgs"})
    assert "solution_initial" not in before  # a run made before lio recorded the start
    write_atomic(before, tmp_path / "old.nc")
    dataset = results.aggregate([tmp_path / "old.nc", tmp_path / "new.nc"])
    start = dataset["solution_initial"]
    assert np.isnan(start.sel(solver="bfgs").values).all()
    assert start.sel(solver="reparameterized").values.ravel().tolist() == [128.0, 128.0]


def test_a_publishing_run_does_not_mark_its_own_jobs_uncommitted(tmp_path):
    """The record's files (paper/data, ...) are written by `snakemake publish` while its solve
    jobs still run; only a change elsewhere makes a commit '-dirty'."""
    import subprocess

    from lio.analysis.provenance import git_sha

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    (tmp_path / "src").mkdir()
    (tmp_path / "paper/data").mkdir(parents=True)
    (tmp_path / "src/code.py").write_text("x = 1\n")
    (tmp_path / "paper/data/table.csv").write_text("a\n")
    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "x", "--allow-empty")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "files")
    assert not git_sha(tmp_path / "src").endswith("-dirty")
    (tmp_path / "paper/data/table.csv").write_text("b\n")  # the record, rewritten by publish
    assert not git_sha(tmp_path / "src").endswith("-dirty")
    (tmp_path / "src/code.py").write_text("x = 2\n")  # code: the run is not the commit's
    assert git_sha(tmp_path / "src").endswith("-dirty")


def test_unpacking_an_aggregate_gives_runs_that_aggregate_to_it_again(tmp_path):
    """results.unpack inverts aggregate: a committed experiment's recorded runs can stand
    beside a re-recorded method's new ones (lio.report.paper.record --unpack)."""
    from lio.analysis import results

    original = synthetic_aggregate(tmp_path)
    runs = results.unpack(original, "wavepacket")
    assert sorted(runs) == [("bfgs", 2, 0), ("bfgs", 4, 0), ("supervised", 2, 0), ("supervised", 4, 0)]
    assert runs[("bfgs", 2, 0)].sizes["example"] == 2 and runs[("bfgs", 2, 0)].attrs["config"] == "{}"
    paths = []
    for (method, n, seed), run in runs.items():
        paths.append(tmp_path / "runs" / f"{method}{n}.nc")
        results.write_atomic(run, paths[-1])
    again = results.aggregate(paths)
    for name in original.data_vars:
        np.testing.assert_array_equal(again[name].values, original[name].values, err_msg=name)
    # And from the committed record's own layout (no solution_initial in its oldest runs).
    from pathlib import Path

    record = open_dataset(Path(__file__).parents[1] / "paper/data/kuramoto_sivashinsky_aggregate.nc")
    unpacked = results.unpack(record, "kuramoto_sivashinsky")
    one = unpacked[("neural_adjoint", 64, 1)]
    np.testing.assert_array_equal(one["loss_refined"].values,
                                  record["loss_refined"].sel(solver="neural_adjoint", n=64, seed=1).values[:64])
    assert len(unpacked) == int(np.isfinite(record["wall_time_unrefined_s"]).sum())


def test_unpack_record_writes_the_workflows_run_files_and_names_unknown_methods(tmp_path, monkeypatch, capsys):
    from pathlib import Path

    import pytest

    from lio.report.paper.record import unpack_record

    monkeypatch.chdir(Path(__file__).parents[1])
    assert unpack_record("billiards", ["bfgs"], str(tmp_path)) == 0
    files = sorted(tmp_path.glob("billiards/*/n*/seed*/result.nc"))
    assert len(files) == 32 and {f.parts[-4] for f in files} == {"bfgs"}
    assert open_dataset(tmp_path / "billiards/bfgs/n8/seed2/result.nc").sizes["example"] == 8
    assert "32 runs written" in capsys.readouterr().out
    with pytest.raises(SystemExit, match=r"--methods \['bfgss'\] are not in"):
        unpack_record("billiards", ["bfgss"], str(tmp_path))


def test_aggregate_refuses_methods_that_solved_different_problems(tmp_path):
    import pytest

    from lio.analysis import results

    a = synthetic_run(tmp_path / "a.nc", "bfgs", 4, seed=0)
    run = open_dataset(synthetic_run(tmp_path / "b.nc", "supervised", 4, seed=0))
    run["truth"] = run["truth"] + 6e-8  # a sampler that changed at float32 round-off
    results.write_atomic(run, tmp_path / "b.nc")
    with pytest.raises(ValueError, match=r"n = 4, seed 0\) solved different problems: their truths differ by up to 6e-08"):
        results.aggregate([a, tmp_path / "b.nc"])
