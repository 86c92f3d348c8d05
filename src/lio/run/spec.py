"""What an experiment is: one resolved, frozen spec per experiment name.

An experiment name is one of three kinds, and this module is the only place that knows them:

- a key of the config's ``experiments`` (the record's own experiments);
- a study value, ``studies/<study>/v<i>`` (lio.run.studies): the base experiment's block with one
  setting replaced and the study's ``ns``, ``seeds`` and ``methods``;
- an observation amount, ``<experiment>/amount<value>`` (lio.run.observations): the base block
  with the problem's amount knob set and the axis's ``ns``, ``seeds`` and ``methods``.

Studies and axes are generators of derived names plus overrides (``study_blocks``,
``amount_blocks``); ``resolve`` turns (config, name) into a :class:`Spec` that the steps take:
its problem, params, methods, BFGS settings (global, with the experiment's own over them),
comparison, n list and seeds. A config parameter travels Snakemake script -> ``resolve`` ->
``Spec`` -> the step (lio.run.experiment) -> the problem or method constructor.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping

from lio.problems import PROBLEMS, Problem, make_problem

if TYPE_CHECKING:  # imported where used: data and figure jobs skip the method code
    from lio.methods import BFGSSettings

PREFIX = "studies"


@dataclass(frozen=True)
class Study:
    name: str
    experiment: str
    setting: str
    values: tuple
    ns: tuple
    seeds: tuple
    methods: tuple

    @property
    def compares_only(self) -> bool:
        """A comparison setting: no runs of its own, only a new look at the base's aggregate."""
        return self.setting.startswith("comparison.")

    def experiment_names(self) -> list[str]:
        return [study_name(self.name, index) for index in range(len(self.values))]


def study_name(study: str, index: int) -> str:
    return f"{PREFIX}/{study}/v{index}"


def studies_in(config: dict[str, Any]) -> dict[str, Study]:
    """The config's studies, with their run sizes defaulted from the base experiment."""
    found = {}
    for block in config.get("studies") or []:
        name = block.get("name")
        base = config["experiments"].get(block.get("experiment"), {})
        found[name] = Study(
            name=name,
            experiment=block.get("experiment"),
            setting=block.get("setting", ""),
            values=tuple(block.get("values", ())),
            ns=tuple(block.get("ns", base.get("ns", ()))),
            seeds=tuple(block.get("seeds", base.get("seeds", ()))),
            methods=tuple(block.get("methods", list(base.get("methods", {})))),
        )
    return found


def lookup(block: dict[str, Any], path: list[str]) -> tuple[bool, Any]:
    """(found, value) of the dotted ``path`` (as a list of keys) in a nested config block."""
    node: Any = block
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return False, None
        node = node[key]
    return True, node


def _assign(block: dict[str, Any], path: list[str], value: Any) -> None:
    node = block
    for key in path[:-1]:
        if node.get(key) is None:
            node[key] = {}
        node = node[key]
    node[path[-1]] = value


def study_blocks(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The experiment blocks of every study value (``studies/<study>/v<i>``: block)."""
    blocks = {}
    for study in studies_in(config).values():
        base = config["experiments"].get(study.experiment)
        if study.compares_only or base is None:
            continue
        for index, value in enumerate(study.values):
            block = copy.deepcopy(base)
            block["methods"] = {m: copy.deepcopy(base["methods"].get(m) or {}) for m in study.methods}
            _assign(block, study.setting.split("."), copy.deepcopy(value))
            block["ns"] = list(study.ns)
            block["seeds"] = list(study.seeds)
            block.pop("figures", None)  # a study draws its own figure, not the four panels
            block.pop("observations", None)  # nor runs the base's observation axis
            block["study"] = {"name": study.name, "setting": study.setting, "value": value,
                              "base": study.experiment}
            blocks[study_name(study.name, index)] = block
    return blocks


def derived_experiments(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every experiment the config derives from its own: the studies' values and the amounts
    of the observation axes (``<experiment>/amount<value>``), which the
    workflow's ordinary rules sample, solve and aggregate."""
    return {**study_blocks(config), **amount_blocks(config)}


def block(config: dict[str, Any], experiment: str) -> dict[str, Any]:
    """An experiment's block: a key of ``experiments``, a study value's (``studies/...``) or an
    observation amount's (``<experiment>/amount<value>``)."""
    if experiment in config.get("experiments", {}):
        return config["experiments"][experiment]
    blocks = derived_experiments(config)
    if experiment not in blocks:
        raise KeyError(
            f"no experiment {experiment!r}: expected a key of experiments "
            f"({sorted(config.get('experiments', {}))}) or a study value ({sorted(blocks)})"
        )
    return blocks[experiment]


def bfgs_options(config: dict[str, Any], block: dict[str, Any]) -> dict[str, Any]:
    """The BFGS settings of an experiment block: the global ``bfgs`` block with the block's own
    ``bfgs`` (e.g. ``experiments.<name>.bfgs: {solver: lbfgs}``) over it, key by key. A study
    value's block is a copy of its base experiment's, so it inherits that override."""
    return {**(config.get("bfgs") or {}), **(block.get("bfgs") or {})}


def bfgs_record(options: dict[str, Any]) -> dict[str, Any]:
    """BFGS settings as a run records them (its provenance, the solve jobs' Snakemake params):
    without ``solver: bfgs``, which every run made before the setting existed used, and without
    ``history_length`` under it, which ``bfgs`` ignores. So spelling them out in config.yaml
    neither reruns the sweep nor makes old and new runs "mixed settings" for the aggregate."""
    recorded = dict(options)
    if recorded.get("solver", "bfgs") == "bfgs":
        recorded.pop("solver", None)
        recorded.pop("history_length", None)
    return recorded


def base_of(config: dict[str, Any], experiment: str) -> str:
    """The experiment of the record a study value derives from (itself for a real one)."""
    return block(config, experiment).get("study", {}).get("base", experiment)


def varies_learning_rate(config: dict[str, Any], experiment: str, method: str) -> bool:
    """Whether a study value fixes ``method``'s learning rate itself (then nothing calibrates it)."""
    return varies_setting(config, experiment, method, "training.learning_rate")


def varies_setting(config: dict[str, Any], experiment: str, method: str, path: str) -> bool:
    """Whether a study value fixes ``method``'s setting at ``path`` (in its options) itself."""
    study = block(config, experiment).get("study")
    return bool(study) and study["setting"] == f"methods.{method}.{path}"


@dataclass(frozen=True)
class Axis:
    """One experiment's observation-amount axis."""

    experiment: str
    parameter: str
    label: str
    increases_observations: bool
    amounts: tuple
    ns: tuple
    seeds: tuple
    methods: tuple
    reg_weights: tuple = ()  # (amount, weight) pairs: the regulariser's weight at those amounts

    def experiment_names(self) -> list[str]:
        return [amount_name(self.experiment, amount) for amount in self.amounts]


def amount_label(value: Any) -> str:
    """``45``, ``0.5``: the amount as it appears in paths and tables."""
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:g}"


def amount_name(experiment: str, amount: Any) -> str:
    return f"{experiment}/amount{amount_label(amount)}"


def _problem_class(block: dict[str, Any]):
    return PROBLEMS.get(block.get("problem"))


def axes_in(config: dict[str, Any]) -> dict[str, Axis]:
    """The experiments with an ``observations`` block whose problem has an amount knob."""
    found = {}
    for experiment, block in config.get("experiments", {}).items():
        options = block.get("observations")
        cls = _problem_class(block)
        if not options or not options.get("amounts") or cls is None or cls.amount_parameter is None:
            continue  # amounts: [] turns the axis off (a later --configfile cannot drop the block)
        found[experiment] = Axis(
            experiment=experiment,
            parameter=cls.amount_parameter,
            label=cls.amount_label or cls.amount_parameter,
            increases_observations=cls.amount_increases_observations,
            amounts=tuple(options.get("amounts", ())),
            ns=tuple(options.get("ns", block.get("ns", ()))),
            seeds=tuple(options.get("seeds", block.get("seeds", ()))),
            methods=tuple(options.get("methods", list(block.get("methods", {})))),
            reg_weights=tuple((float(a), float(w)) for a, w in (options.get("reg_weights") or {}).items()),
        )
    return found


def _counts(cls, parameter: str) -> bool:
    """Whether the problem's amount knob is a count (an ``int`` field: CT's angles)."""
    field = {f.name: f for f in dataclasses.fields(cls)}[parameter]
    return field.type in (int, "int")


def _amount_value(cls, parameter: str, amount: Any) -> Any:
    """The amount as the problem's field wants it (an int knob gets an int)."""
    return int(amount) if _counts(cls, parameter) else float(amount)


def amount_blocks(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The experiment block of every amount (``{experiment}/amount{value}``: block)."""
    blocks = {}
    for axis in axes_in(config).values():
        base = config["experiments"][axis.experiment]
        cls = _problem_class(base)
        weights = dict(axis.reg_weights)  # an amount without an entry keeps params.reg_weight
        for amount in axis.amounts:
            block = copy.deepcopy(base)
            block.pop("observations")
            block.pop("figures", None)  # the axis draws its own figure, not the four panels
            block["methods"] = {m: copy.deepcopy(base["methods"].get(m) or {}) for m in axis.methods}
            block["params"] = {**(base.get("params") or {}), axis.parameter: _amount_value(cls, axis.parameter, amount)}
            if float(amount) in weights:  # a weight tuned for the base amount is wrong at another (issue 39)
                block["params"]["reg_weight"] = weights[float(amount)]
            block["ns"], block["seeds"] = list(axis.ns), list(axis.seeds)
            # A study-like block: lio.run.studies.base_of and the calibration lookup see the base.
            block["study"] = {"name": f"observations_{axis.experiment}", "setting": f"params.{axis.parameter}",
                              "value": amount, "base": axis.experiment}
            blocks[amount_name(axis.experiment, amount)] = block
    return blocks


def bfgs_settings(config: dict[str, Any], experiment: str | None = None) -> BFGSSettings:
    """The BFGS settings of the baseline, refinement and neural adjoint: the global ``bfgs``
    block, with ``experiment``'s own ``bfgs`` block over it when an experiment is given."""
    from lio.methods import BFGSSettings

    if experiment is None:
        return BFGSSettings(**config.get("bfgs", {}))
    return resolve(config, experiment).bfgs_settings()


def problem_of(config: dict[str, Any], experiment: str) -> Problem:
    return resolve(config, experiment).make_problem()


@dataclass(frozen=True)
class Spec:
    """One experiment, resolved: everything a job reads from the config about it."""

    name: str
    base: str  # the record experiment it derives from (itself for a record experiment)
    problem: str
    params: Mapping[str, Any]
    methods: Mapping[str, Mapping[str, Any]]
    bfgs: Mapping[str, Any]  # the global bfgs block with the experiment's own over it
    comparison: Mapping[str, Any]
    ns: tuple[int, ...]
    seeds: tuple[int, ...]
    study: Mapping[str, Any] | None  # a derived experiment's origin (name, setting, value, base)
    block: Mapping[str, Any]  # the whole block, for the keys above do not cover (figures, ...)

    def make_problem(self) -> Problem:
        return make_problem(self.problem, thawed(self.params))

    def method_options(self, method: str) -> dict[str, Any]:
        """A method's settings as a plain (mutable, private) dict for its constructor."""
        return thawed(self.methods[method])

    def bfgs_settings(self) -> BFGSSettings:
        from lio.methods import BFGSSettings

        return BFGSSettings(**thawed(self.bfgs))


def _frozen(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({key: _frozen(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(item) for item in value)
    return value


def thawed(value: Any) -> Any:
    """A frozen value back as the YAML's plain dicts and lists (a fresh copy)."""
    if isinstance(value, Mapping):
        return {key: thawed(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [thawed(item) for item in value]
    return value


def resolve(config: dict[str, Any], experiment: str) -> Spec:
    """The frozen spec of ``experiment`` (a record experiment, a study value or an amount)."""
    found = copy.deepcopy(block(config, experiment))
    study = found.get("study")
    return Spec(
        name=experiment,
        base=study["base"] if study else experiment,
        problem=found["problem"],
        params=_frozen(found.get("params") or {}),
        methods=_frozen({name: options or {} for name, options in (found.get("methods") or {}).items()}),
        bfgs=_frozen(bfgs_options(config, found)),
        comparison=_frozen(config.get("comparison") or {}),
        ns=tuple(found.get("ns", ())),
        seeds=tuple(found.get("seeds", ())),
        study=_frozen(study) if study else None,
        block=_frozen(found),
    )
