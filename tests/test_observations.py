"""The paper's statements checked on an aggregate (lio.paper.observations)."""

import numpy as np
import xarray as xr

from lio.paper.observations import observations, observations_tabular
from lio.problems import WavePacket


def wavepacket_aggregate():
    """BFGS stays near the start for examples 0-1, jumps away for 2-3; curves settle at 3."""
    truth = np.array([100.0, 130.0, 150.0, 200.0])
    bfgs = np.array([128.5, 127.0, 60.0, 220.0])
    reparameterized = truth + np.array([0.5, 1.0, 10.0, 0.2])
    solution = np.stack([bfgs, reparameterized])[:, None, None, :, None]
    curve = np.array([[10.0, 5.0, 4.0, 3.0, 3.0, 3.0], [9.0, 8.0, 7.0, 6.0, 2.0, 2.0]])
    dims = ("solver", "n", "seed", "example")
    return xr.Dataset(
        {
            "solution_refined": ((*dims, "parameter"), solution),
            "truth": ((*dims, "parameter"), np.broadcast_to(truth[None, None, None, :, None], solution.shape)),
            "iterations_refined": (dims, np.array([[[[3, 5, 7, 9]]], [[[1, 1, 1, 1]]]])),
            "loss_refined": (dims, np.ones((2, 1, 1, 4))),
            "truth_loss": (dims, np.ones((2, 1, 1, 4))),
            "curve": (("solver", "n", "seed", "iteration"), curve[:, None, None, :]),
        },
        coords={"solver": ["bfgs", "reparameterized"], "n": [4], "seed": [0]},
    )


def test_wavepacket_statements_get_the_numbers_of_the_runs():
    frame = observations({"wp": WavePacket()}, {"wp": "wavepacket"}, {"wp": wavepacket_aggregate()})
    ours = dict(zip(frame["measured"], frame["ours"]))
    moved = np.median(np.abs(np.array([128.5, 127.0, 60.0, 220.0]) - 128.0) / 192.0)
    assert ours["BFGS: median distance moved (box widths); median iterations"] == f"{moved:.3f}; 6"
    # further: example 0 (28 from the truth at the start -> 28.5), 1 (2 -> 3), 2 (22 -> 90);
    # example 3 ends closer (72 -> 20)
    assert ours["BFGS: share ending further from the truth than its start"] == "75\\,\\%"
    assert ours["reparameterized: median iteration after which L/n stays within 1\\,\\%"] == "4"
    tabular = observations_tabular(frame, {"wp": "Wave packet"})
    assert tabular.count("Wave packet") == 1 and "``BFGS moves a considerable distance" in tabular
