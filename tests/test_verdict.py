"""The report's page-one summary: verdicts and reasons follow the record's numbers."""

import pandas as pd

from lio.report.paper import verdict


def _table(rows):
    columns = ["experiment", "method", "stage", "groups", "better", "better_low", "better_high", "degenerate"]
    return pd.DataFrame(rows, columns=columns)


TABLE = _table([
    ("wp", "reparameterized", "refined", 8, 0.30, 0.25, 0.35, 0),
    ("wp", "reparameterized", "unrefined", 8, 0.20, 0.15, 0.25, 3),
    ("wp", "supervised", "refined", 8, 0.70, 0.65, 0.75, 0),
    ("wp", "supervised", "unrefined", 8, 0.60, 0.55, 0.65, 0),
    ("wp", "neural_adjoint", "refined", 8, 0.40, 0.35, 0.45, 0),
    ("wp", "neural_adjoint", "unrefined", 8, 0.40, 0.35, 0.45, 0),
])
REFERENCE = {"wp": {"table2": {"reparameterized": {"better": 60.0}, "supervised": {"better": 50.0},
                               "neural_adjoint": {"better": 40.0}, "diffusion": {"better": 1.0}}}}


def test_each_published_cell_gets_the_verdict_its_interval_gives():
    found = verdict.cells(TABLE, ["wp"], REFERENCE, {"wp": {"stuck": 0.2}})
    assert [(c.method, c.verdict) for c in found] == [
        ("reparameterized", verdict.BELOW), ("supervised", verdict.ABOVE), ("neural_adjoint", verdict.REPRODUCED)
    ]  # diffusion has no row: not a cell


def test_the_table_shows_the_verdict_the_stuck_share_and_the_degenerate_runs():
    found = verdict.cells(TABLE, ["wp"], REFERENCE, {"wp": {"stuck": 0.2}})
    row = verdict.tabular(found).split("\\midrule")[1]
    assert row.startswith("\n\\lioWpTitle{} & 20 & ")
    assert "60.0 / 30.0 [25.0, 35.0] $\\downarrow$" in row and "3/8 runs degenerate" in row
    assert "50.0 / 70.0 [65.0, 75.0] $\\uparrow$" in row and "40.0 / 40.0 [35.0, 45.0] $\\checkmark$" in row


def test_the_sentence_counts_the_verdicts():
    found = verdict.cells(TABLE, ["wp"], REFERENCE, {})
    text = verdict.sentence(found)
    assert "Of the 3 refined" in text and "we reproduce 1 " in text
    assert "1 lies below the paper" in text and "1 lies above the paper" in text
    assert verdict.sentence([]).startswith("None of our experiments")


def test_configured_methods_without_rows_are_named():
    config = {"experiments": {"wp": {"methods": {"bfgs": {}, "reparameterized": {}, "random_start": {}}}}}
    missing = verdict.configured_not_recorded(config, TABLE, ["wp"])
    assert missing == ["\\lioWpTitle{} / random start"]


def test_the_conclusion_explains_only_with_what_was_measured():
    from lio.report.paper.conclusion import conclusion

    capped = verdict.cells(TABLE, ["wp"], REFERENCE, {"wp": {"stuck": 0.2}})
    text = conclusion(capped, {"wp": {"stuck": 0.2}}, {"wp": (3, 24)}, [])
    assert "not reproduced on \\lioWpTitle{}" in text and "only 20\\,\\%" in text
    assert "3 of 24 on \\lioWpTitle{}" in text
    unmeasured = verdict.cells(TABLE, ["wp"], REFERENCE, {})
    text = conclusion(unmeasured, {}, {"wp": (0, 24)}, ["\\lioCtTitle{} / diffusion prior"])
    assert "basins check" not in text and "degenerate" not in text  # no measurement, no explanation
    assert "Untested in this record, though configured: \\lioCtTitle{} / diffusion prior." in text


def test_provenance_rows_name_each_methods_commits_and_device():
    import numpy as np
    import xarray as xr

    from lio.report.paper import origins

    sha = np.array([[["abc1234ffff", "abc1234ffff"]], [["def5678eeee-dirty", "abc1234ffff"]]])
    dataset = xr.Dataset(
        {"git_sha": (("solver", "n", "seed"), sha), "device": (("solver", "n", "seed"), np.full(sha.shape, "cpu:cpu x1"))},
        coords={"solver": ["bfgs", "reparameterized"]},
    )
    found = origins.rows({"wp": dataset}, {"wp": {"git_sha": "1111111aaaa", "device": "cpu:cpu x1"}}, {})
    assert found[0][:4] == ("\\lioWpTitle{}", "BFGS", "\\texttt{abc1234}", "cpu:cpu x1")
    assert found[1][2] == "\\texttt{abc1234}, \\texttt{def5678} (uncommitted tree)"
    assert found[2][0].startswith("basins") and found[2][2] == "\\texttt{1111111}"
    assert "\\endhead" in origins.tabular(found)
    import pandas as pd

    axis = pd.DataFrame({"git_sha": ["2222222bbbb", "2222222bbbb"]})
    with_axis = origins.rows({"wp": dataset}, {}, {}, {"ct": axis})
    assert with_axis[-1][0] == "observation axis, \\lioCtTitle{}" and with_axis[-1][2] == "\\texttt{2222222}"


def test_without_published_cells_the_summary_has_no_empty_table():
    text = verdict.section([], ["\\lioOscTitle{} / supervised"])
    assert "tabular" not in text and text.startswith("None of our experiments")
    assert "Configured but not in this record: \\lioOscTitle{} / supervised." in text


def test_summary_names_configured_experiments_the_record_lacks():
    """Issue 40: page one says which configured experiments have no run, so a reader does not
    take their absence from the tables for a result."""
    from lio.report.paper import verdict

    config = {"experiments": {"wavepacket": {}, "ct": {}, "mri": {}}}
    missing = verdict.experiments_not_recorded(config, ["wavepacket"], {"ct": {"title": "Sparse-view CT"}})
    assert missing == ["Sparse-view CT", "Mri"]
    text = verdict.section([], [], "", missing)
    assert "no run in this record" in text and "Sparse-view CT; Mri" in text


def test_the_conclusion_says_what_the_random_start_controls_show():
    import pandas as pd

    from lio.report.paper.conclusion import controls

    def row(experiment, method, better, low, high):
        return {
            "experiment": experiment,
            "method": method,
            "stage": "refined",
            "better": better,
            "better_low": low,
            "better_high": high,
        }

    table = pd.DataFrame(
        [
            row("a", "reparameterized", 0.5, 0.4, 0.6),
            row("a", "best_of_random_starts", 0.1, 0.05, 0.15),
            row("b", "reparameterized", 0.1, 0.05, 0.15),
            row("b", "best_of_random_starts", 0.12, 0.08, 0.2),
            row("c", "reparameterized", 0.1, 0.05, 0.15),
            row("c", "best_of_random_starts", 0.9, 0.85, 0.95),
            row("d", "reparameterized", 0.1, 0.05, 0.15),  # no control: not mentioned
        ]
    )
    text = controls(table, ["a", "b", "c", "d"], {"a": 2, "b": 3, "c": 16})
    parts = text.split("; ")
    assert len(parts) == 3 and "lioDTitle" not in text
    assert (
        "best of 2 random starts on 10.0" in parts[0]
        and "network beats the control" in parts[0]
    )
    assert "intervals overlap" in parts[1] and "control beats the network" in parts[2]
    assert controls(table[table["method"] != "best_of_random_starts"], ["a"], {}) == ""


def test_each_stated_behaviour_gets_a_verdict_by_the_reading_printed_beside_it():
    import numpy as np
    import pandas as pd

    from lio.report.paper import observations as o

    assert [o._at_least(v, 0.25, 0.1) for v in (0.3, 0.2, 0.05, np.nan)] == [
        o.HOLDS,
        o.PARTLY,
        o.FAILS,
        "",
    ]
    assert [o._near(v, 0.6, 0.1, 0.2) for v in (0.66, 0.45, 0.9)] == [
        o.HOLDS,
        o.PARTLY,
        o.FAILS,
    ]
    assert o._quartiles_in(np.arange(14, 20), 12, 22) == o.HOLDS
    assert o._quartiles_in(np.arange(10, 40), 12, 22) == o.PARTLY
    assert o._quartiles_in(np.arange(30, 40), 12, 22) == o.FAILS
    frame = pd.DataFrame(
        [
            {
                "experiment": "a",
                "paper": "p1",
                "measured": "m1",
                "ours": "1",
                "holds_when": "x",
                "verdict": o.HOLDS,
            },
            {
                "experiment": "a",
                "paper": "p2",
                "measured": "m2",
                "ours": "2",
                "holds_when": "x",
                "verdict": o.FAILS,
            },
            {
                "experiment": "b",
                "paper": "p3",
                "measured": "m3",
                "ours": "3",
                "holds_when": "not judged",
                "verdict": "",
            },
        ]
    )
    text = o.claims_paragraph(frame, {"a": "A"})
    assert (
        "of 2, 1 hold, 0 hold in part and 1 do not" in text
        and "``p2'' (ours, m2: 2)" in text
    )
    assert "p3" not in text and "\\pageref{tab:observations}" in text
    assert "not judged" in o.observations_tabular(frame, {"a": "A"})


def test_the_random_start_controls_count_as_hand_crafted_on_the_observation_axis():
    from lio.report.paper.amounts import _kind

    assert _kind("best_of_random_starts") == "hand-crafted" and _kind("random_start = bfgs") == "hand-crafted"
    assert _kind("supervised") == "learned" and _kind("bfgs = supervised") == "tie"


def test_page_one_gives_the_observation_questions_headline_from_the_record():
    from pathlib import Path

    from lio.report.paper import amounts

    tables = amounts.read_tables([str(Path(__file__).resolve().parents[1] / "paper/data/observations/wavepacket.csv")])
    text = amounts.headline(tables, {"wavepacket": "WP"})
    assert text.startswith("Beyond the paper") and "on WP{}" in text and "at the fewest" in text
    assert amounts.headline({}, {}) == ""
