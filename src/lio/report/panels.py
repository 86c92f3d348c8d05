"""One panel of an experiment's four-panel figure, drawn from its data file or aggregate."""

from __future__ import annotations

from typing import Any

from lio.analysis import results
from lio.report import figures
from lio.run.experiment import enable_float64
from lio.run.spec import problem_of


def figure_panel(
    config: dict[str, Any],
    experiment: str,
    panel: str,
    options: dict[str, Any],
    input_path: str,
    png: str,
    pdf: str,
    aggregate_path: str | None = None,
) -> None:
    """Draw one panel of an experiment's figure from its data file or aggregate; an image
    problem's panel (a) shows the reconstructions of ``aggregate_path`` beside the truth."""
    enable_float64()
    dataset = results.open_dataset(input_path)
    if panel in ("a", "b"):
        problem = problem_of(config, experiment)
        problems = results.dataset_to_problem_set(dataset, "problems")
        if panel == "a" and len(problem.solution_shape) == 2 and aggregate_path:
            figures.image_gallery(
                problem, problems, results.open_dataset(aggregate_path), options["example"],
                png, pdf,
            )
        elif panel == "a":
            figures.example_observation(problem, problems, options["example"], png, pdf)
        else:
            figures.loss_landscape(
                problem,
                problems,
                options["example"],
                options["landscape_points"],
                png,
                pdf,
                parameter=options["landscape_parameter"],
            )
    elif panel == "c":
        figures.optimisation_curves(dataset, options["curves_n"], png, pdf)
    elif panel == "d":
        figures.refined_loss_by_n(dataset, png, pdf)
    else:
        raise ValueError(f"figure panel {panel!r} is not known; expected one of a, b, c, d.")
