"""Every published study and observation table comes from its experiment's current record
(issue 34): the commits of its runs are commits of the experiment's recorded aggregate, so a
study left over from an earlier sweep fails here instead of beside a newer Table 2."""

from pathlib import Path

import pandas as pd
import pytest
import xarray as xr

DATA = Path(__file__).resolve().parents[1] / "paper" / "data"


def recorded_commits(experiment: str) -> set[str]:
    path = DATA / f"{experiment}_aggregate.nc"
    if not path.exists():
        return set()
    with xr.open_dataset(path) as aggregate:
        values = aggregate["git_sha"].values.ravel()
    return {str(v).removesuffix("-dirty") for v in values if str(v) not in ("", "nan")}


def tables() -> list[Path]:
    return sorted((DATA / "studies").glob("*.csv")) + sorted((DATA / "observations").glob("*.csv"))


@pytest.mark.parametrize("path", tables(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_published_table_is_made_from_its_experiments_current_record(path):
    table = pd.read_csv(path)
    experiment = table["experiment"].iloc[0] if "experiment" in table else path.stem
    made_at = {str(v).removesuffix("-dirty") for v in table["git_sha"].dropna().unique()}
    record = recorded_commits(experiment)
    assert record, f"{path.name}: its experiment {experiment!r} has no aggregate in paper/data"
    stale = sorted(sha[:7] for sha in made_at - record)
    assert not stale, (
        f"{path.relative_to(DATA.parent.parent)} was made at {stale}, but the record of "
        f"{experiment} holds runs of {sorted(s[:7] for s in record)}; re-run and publish it "
        "from the record's commit"
    )


def test_the_record_figures_are_drawn_by_the_current_figure_code(tmp_path):
    """The published panels (c, d) and study figures of one experiment are what
    ``python -m lio.report.redraw`` draws from paper/data now, byte for byte."""
    from lio.report.redraw import main

    main(
        [
            "--experiments",
            "billiards",
            "--panels",
            "c",
            "d",
            "--out",
            str(tmp_path),
            "--data",
            str(DATA),
            "--reference",
            str(DATA.parent / "reference.yaml"),
        ]
    )
    drawn = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.png"))
    assert len(drawn) >= 4, drawn
    published = DATA.parent / "figures"
    stale = [
        str(p)
        for p in drawn
        if (tmp_path / p).read_bytes() != (published / p).read_bytes()
    ]
    assert not stale, (
        f"paper/figures/{stale} differ from the current figure code's; run python -m lio.report.redraw"
    )


def test_redraw_refuses_an_experiment_the_config_does_not_have_in_one_line(capsys):
    from lio.report.redraw import main

    with pytest.raises(SystemExit) as stop:
        main(["--experiments", "no_such_experiment"])
    assert "not in the config" in str(stop.value) and "\n" not in str(stop.value)
