"""A diffusion-model prior, guided by the true data misfit (beyond the paper).

Score-based inverse problems (Song et al. 2022, "Solving inverse problems in medical imaging
with score-based generative models", ICLR) and diffusion posterior sampling (DPS; Chung et al.
2023, "Diffusion posterior sampling for general noisy inverse problems", ICLR): learn the prior
of the unknowns with a denoising diffusion model, then sample it backwards while every reverse
step is pushed down the gradient of the problem's own misfit.

Size: one method's parts (schedule, denoiser, loss, guided sampler) share its settings and
are read together; split, each piece would be a few dozen lines importing all the others.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jaxtyping import Array, Float, Int, PRNGKeyArray

from lio.core import nets
from lio.methods.base import Estimate, Method
from lio.methods.networks import training_status, true_losses
from lio.methods.training import TrainSettings, train, training_batches
from lio.problems.base import Problem, ProblemSet

SCHEDULES = ("linear", "cosine")
# Keys each denoiser kind takes besides ``kind``; ``mlp`` for any unknown (flattened), ``unet``
# for image unknowns.
NETWORK_KEYS = {"mlp": ("hidden", "activation"), "unet": ("features", "kernel_size")}
DEFAULT_NETWORKS = {
    "mlp": {"hidden": (128, 128, 128), "activation": "gelu"},  # ours: smooth, as score nets use
    "unet": {"features": (16, 32), "kernel_size": 3},
}
_EMBEDDING_FREQUENCIES = 16  # sinusoidal time embedding of 2 x 16 values (Ho et al. 2020)
# Floor under the misfit inside its square root: keeps the normalised guidance finite where
# the misfit vanishes (its square root, 1e-6, is far below any observed noise level).
_MISFIT_FLOOR = 1e-12


def noise_schedule(kind: str, steps: int) -> np.ndarray:
    """The variance-preserving betas beta_1 ... beta_T (float64).

    ``linear``: Ho et al. 2020's 1e-4 ... 0.02 for T = 1000, scaled by 1000 / T so that other
    T keep the same total noise (Nichol & Dhariwal 2021). ``cosine``: Nichol & Dhariwal 2021,
    alpha_bar(t) = cos²((t / T + s) / (1 + s) pi / 2) with s = 0.008, betas capped at 0.999.
    """
    if kind == "linear":
        scale = 1000 / steps
        return np.linspace(scale * 1e-4, min(scale * 0.02, 0.999), steps)
    if kind == "cosine":
        s = 0.008
        f = np.cos((np.arange(steps + 1) / steps + s) / (1 + s) * np.pi / 2) ** 2
        return np.minimum(1 - f[1:] / f[:-1], 0.999)
    raise ValueError(f"diffusion: schedule {kind!r} is not known; expected one of {list(SCHEDULES)}.")


def alpha_bars(betas: np.ndarray) -> np.ndarray:
    """alpha_bar_t = prod_{s <= t} (1 - beta_s): x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps."""
    return np.cumprod(1 - np.asarray(betas, np.float64))


def time_embedding(t: Int[Array, " b"], dtype=jnp.float32) -> Float[Array, "b e"]:
    """Transformer-style sinusoids of the step index t (Vaswani et al. 2017; Ho et al. 2020)."""
    frequencies = jnp.exp(-math.log(10_000.0) * jnp.arange(_EMBEDDING_FREQUENCIES) / _EMBEDDING_FREQUENCIES)
    angles = t.astype(dtype)[:, None] * frequencies.astype(dtype)
    return jnp.concatenate([jnp.sin(angles), jnp.cos(angles)], axis=-1)


class DenoiserUNet(nn.Module):
    """epsilon(x_t, t) on the image grid: ``(b, h, w)`` -> ``(b, h, w)``.

    Per level two convolutions with SiLU, each adding a dense projection of the time embedding
    as a per-channel bias (Ho et al. 2020's conditioning); down by 2 x 2 max-pooling, up by a
    stride-2 transposed convolution and the level's skip. No batch norm: the batch mixes noise
    levels, so its statistics would describe none of them.
    """

    features: Sequence[int]
    kernel_size: int = 3

    @nn.compact
    def __call__(self, x: Array, embedding: Array) -> Array:
        window = (self.kernel_size,) * 2

        def block(x, width):
            for _ in range(2):
                x = nn.Conv(width, window)(x) + nn.Dense(width)(embedding)[:, None, None, :]
                x = nn.silu(x)
            return x

        x, skips = x[..., None], []
        for width in self.features[:-1]:
            x = block(x, width)
            skips.append(x)
            x = nets.max_pool(x, (2, 2))
        x = block(x, self.features[-1])
        for width, skip in zip(reversed(self.features[:-1]), reversed(skips), strict=True):
            x = nn.ConvTranspose(width, (2, 2), strides=(2, 2))(x)
            x = block(jnp.concatenate([x, skip], axis=-1), width)
        return nn.Conv(1, (1, 1))(x)[..., 0]


def network_spec(spec: dict[str, Any], solution_shape: tuple[int, ...] | None = None) -> dict:
    """The denoiser's full spec (defaults filled in); ValueError naming the key for a bad one.

    Without ``solution_shape`` only the spec itself is checked; with it, also that its kind fits
    the unknown (``unet``: an image whose sides halve ``len(features) - 1`` times), and a
    missing kind is chosen by the unknown's shape (image: unet, vector: mlp).
    """
    kind, spec = nets.split_kind(
        "diffusion", spec, NETWORK_KEYS, "mlp for any unknown, unet for image unknowns"
    )
    if solution_shape is not None:
        image = len(solution_shape) == 2
        if kind == "unet" and not image:
            raise ValueError(
                f"diffusion: network kind 'unet' does not fit an unknown of shape "
                f"{tuple(solution_shape)}; expected kind 'mlp' for a vector unknown. Set "
                "network.kind: mlp or leave it out."
            )
        kind = kind or ("unet" if image else "mlp")
    full = nets.complete_spec("diffusion", kind, spec, NETWORK_KEYS, DEFAULT_NETWORKS)
    if kind is None:
        return full
    if kind == "unet" and solution_shape is not None:
        halvings = len(full["features"]) - 1
        if any(side % 2**halvings for side in solution_shape):
            raise ValueError(
                f"diffusion: a unet with {len(full['features'])} levels halves the grid "
                f"{halvings} times, so the sides of {tuple(solution_shape)} must be divisible by "
                f"{2**halvings}; use fewer network.features."
            )
    return full


class DenoisingPrior(struct.PyTreeNode):
    """The noise-prediction network epsilon_θ(x_t, t) of the prior, with its schedule.

    Works in the box's unit coordinate ``u = (x - c) / h`` (centre c, half-width h): the box is
    [-1, 1], the range DDPM's image models use (Ho et al. 2020), whatever the unknowns' units.
    A pytree whose arrays (schedule, box, the float32 problem) are leaves and whose network is
    static, so the jitted steps take it as an argument and compile once per shape.
    """

    module: nn.Module = struct.field(pytree_node=False)
    solution_shape: tuple[int, ...] = struct.field(pytree_node=False)
    alpha_bar: Float[Array, " T"]
    centre: Float[Array, " d"]
    half: Float[Array, " d"]
    problem: Problem

    @classmethod
    def create(cls, problem: Problem, spec: dict, schedule: str, steps: int) -> DenoisingPrior:
        spec = network_spec(spec, problem.solution_shape)
        kind = spec.pop("kind")
        d = problem.num_parameters
        module = DenoiserUNet(**spec) if kind == "unet" else nets.MLP(out_features=d, **spec)
        lower, upper = (jnp.asarray(b, jnp.float32) for b in problem.bounds)
        return cls(
            module=module,
            solution_shape=tuple(problem.solution_shape),
            alpha_bar=jnp.asarray(alpha_bars(noise_schedule(schedule, steps)), jnp.float32),
            centre=(upper + lower) / 2,
            half=(upper - lower) / 2,
            problem=problem.astype(jnp.float32),
        )

    def to_unit(self, solution: Array) -> Array:
        return (solution - self.centre) / self.half

    def from_unit(self, unit: Array) -> Array:
        return self.centre + self.half * unit

    def epsilon(self, params: dict, unit: Float[Array, "b d"], t: Int[Array, " b"]) -> Array:
        return self.module.apply({"params": params}, *self._inputs(unit, t)).reshape(unit.shape)

    def init(self, key: PRNGKeyArray) -> dict:
        unit = jnp.zeros((1, int(np.prod(self.solution_shape))), jnp.float32)
        return jax.jit(lambda k: self.module.init(k, *self._inputs(unit, jnp.zeros(1, int))))(key)["params"]

    def _inputs(self, unit: Array, t: Array) -> tuple:
        """The module's arguments: (x_t as an image or a vector, time embedding[, train])."""
        embedding = time_embedding(t, unit.dtype)
        if isinstance(self.module, DenoiserUNet):
            return unit.reshape(unit.shape[0], *self.solution_shape), embedding
        return unit, embedding, False

    def noised(self, unit: Array, t: Array, noise: Array) -> Array:
        """A draw of q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I)."""
        a = self.alpha_bar[t][:, None]
        return jnp.sqrt(a) * unit + jnp.sqrt(1 - a) * noise


def denoising_loss(params, key, data):
    """Ho et al. 2020's simple loss: mean ||epsilon_θ(x_t, t) - epsilon||² over the training
    truths, each noised ``draws`` times at uniform t. The PRNG key is ``train``'s state, so
    every Adam step draws fresh t and noise; monitored: the loss itself."""
    prior, truths = data
    key, key_t, key_noise = jax.random.split(key, 3)
    t = jax.random.randint(key_t, (truths.shape[0],), 0, prior.alpha_bar.shape[0])
    noise = jax.random.normal(key_noise, truths.shape, truths.dtype)
    predicted = prior.epsilon(params, prior.noised(truths, t, noise), t)
    loss = jnp.mean((predicted - noise) ** 2)
    return loss, (key, loss)


@jax.jit
def _guided_step(prior, params, unit, t, alpha_prev, eta, guidance, key, problems):
    """One reverse step from x_t (DDIM's update with noise eta; eta = 1 and every step: DDPM's
    ancestral sampler), minus ``guidance`` times the gradient w.r.t. x_t of each example's
    misfit norm sqrt(L(x0_hat(x_t))) (Chung et al. 2023, Algorithm 1). Where that gradient is
    non-finite (at high noise x0_hat can lie far outside the box, where a simulator such as KS
    blows up) the example's step is unguided. Returns x_{t-1}, the Tweedie estimate x0_hat
    clipped to the box, the true loss there, and which examples' guidance was finite."""
    alpha = prior.alpha_bar[t]
    steps = jnp.full(unit.shape[0], t)

    def misfit_norm(unit):
        epsilon = prior.epsilon(params, unit, steps)
        denoised = (unit - jnp.sqrt(1 - alpha) * epsilon) / jnp.sqrt(alpha)
        misfit = prior.problem.losses(prior.from_unit(denoised), problems)
        return jnp.sum(jnp.sqrt(misfit + _MISFIT_FLOOR)), (epsilon, denoised)

    gradient, (epsilon, denoised) = jax.grad(misfit_norm, has_aux=True)(unit)
    guided = jnp.all(jnp.isfinite(gradient), axis=-1)
    gradient = jnp.where(guided[:, None], gradient, 0.0)
    sigma = eta * jnp.sqrt((1 - alpha_prev) / (1 - alpha) * (1 - alpha / alpha_prev))
    noise = jax.random.normal(key, unit.shape, unit.dtype)
    previous = (
        jnp.sqrt(alpha_prev) * denoised
        + jnp.sqrt(jnp.maximum(1 - alpha_prev - sigma**2, 0.0)) * epsilon
        + sigma * noise
        - guidance * gradient
    )
    clipped = jnp.clip(denoised, -1.0, 1.0)
    return previous, clipped, prior.problem.losses(prior.from_unit(clipped), problems), guided


def reverse_times(diffusion_steps: int, sampling_steps: int) -> np.ndarray:
    """The sampler's step indices, T - 1 down to 0, evenly spaced (DDIM's uniform skipping)."""
    return np.unique(np.round(np.linspace(0, diffusion_steps - 1, sampling_steps)).astype(int))[::-1]


def _positive_int(name: str, value: Any, hint: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"diffusion: {name} must be an integer >= 1, got {value!r}; {hint}.")


@dataclasses.dataclass(frozen=True)
class Diffusion(Method):
    """Guided reverse diffusion from a learned prior (Song et al. 2022; DPS, Chung et al. 2023).

    1. Train epsilon_θ(x_t, t) on the labelled training set's truths (the prior's samples) in
       the box's unit coordinate, with a variance-preserving schedule of ``diffusion_steps``
       betas (``schedule`` linear | cosine) and Ho et al. 2020's loss, by Adam
       (``lio.methods.training.train``); each step noises every truth ``noise_draws`` times,
       or a minibatch of those noisings (``training.batch_size``).
    2. For each problem, draw ``samples`` x_T ~ N(0, I) and run ``sampling_steps`` reverse
       steps (DDIM with noise ``eta``; eta = 1 over all T steps is DDPM's ancestral sampler);
       each step also subtracts ``guidance`` (zeta) times the gradient w.r.t. x_t of the TRUE
       misfit's norm sqrt(L_i) at the Tweedie estimate x0_hat(x_t) (DPS's normalised step).
    3. The estimate is the final sample clipped to the box, of the ``samples`` the one with
       the lowest true loss; the curve is the problems' L/n at x0_hat along the reverse steps.

    Finishes after a fixed number of steps ("completed"); "diverged" where training hit a
    non-finite loss or a sample is non-finite (a guidance step too large for the misfit's
    curvature); a step whose misfit gradient is non-finite is taken unguided, and
    ``extra["unguided_step_fraction"]`` says how often. Fails where the prior learned from n truths is too narrow to hold the answer,
    or where the guidance is too weak (samples from the prior that ignore y) or too strong
    (the misfit's gradient overrides the denoiser, leaving the prior's support).
    """

    name: ClassVar[str] = "diffusion"
    needs_training_set: ClassVar[bool] = True
    # The ladder walks zeta (lio.run.calibration), the setting that decides the estimates: the
    # paper's learning-rate criterion judges the estimates' curve, here the reverse sampler's,
    # not the denoiser's training, so the denoiser's rate stays a config constant.
    calibrated_setting: ClassVar[str] = "guidance"
    network: dict[str, Any] = dataclasses.field(default_factory=dict)
    schedule: str = "linear"
    diffusion_steps: int = 1000
    sampling_steps: int = 100
    eta: float = 1.0
    guidance: float = 1.0
    samples: int = 1
    noise_draws: int = 8
    training: TrainSettings = TrainSettings()

    def __post_init__(self):
        if self.schedule not in SCHEDULES:
            raise ValueError(
                f"diffusion: schedule {self.schedule!r} is not known; expected one of "
                f"{list(SCHEDULES)} (Ho et al. 2020's linear betas, Nichol & Dhariwal's cosine)."
            )
        _positive_int("diffusion_steps", self.diffusion_steps, "try 1000 (Ho et al. 2020)")
        _positive_int("sampling_steps", self.sampling_steps, "try 100")
        _positive_int("samples", self.samples, "try 1")
        _positive_int("noise_draws", self.noise_draws, "try 8")
        if self.sampling_steps > self.diffusion_steps:
            raise ValueError(
                f"diffusion: sampling_steps {self.sampling_steps} exceeds diffusion_steps "
                f"{self.diffusion_steps}; the sampler visits a subset of the T steps, so "
                "choose sampling_steps <= diffusion_steps."
            )
        if not 0 <= self.eta <= 1:
            raise ValueError(
                f"diffusion: eta must lie in [0, 1] (0: deterministic DDIM, 1: DDPM's noise), "
                f"got {self.eta!r}."
            )
        if not (math.isfinite(self.guidance) and self.guidance >= 0):
            raise ValueError(
                f"diffusion: guidance (zeta) must be a finite number >= 0 (0: unguided samples "
                f"of the prior), got {self.guidance!r}; try 1.0."
            )
        network_spec(self.network)

    def check(self, problem: Problem) -> None:
        network_spec(self.network, problem.solution_shape)

    def prior(self, problem: Problem) -> DenoisingPrior:
        """The untrained denoiser of this method's network and schedule, for ``problem``."""
        return DenoisingPrior.create(problem, self.network, self.schedule, self.diffusion_steps)

    def train_prior(self, problem: Problem, training_set: ProblemSet, key: PRNGKeyArray):
        """(prior, trained): the denoiser trained on the training set's truths."""
        prior = self.prior(problem)
        key_init, key_noise = jax.random.split(key)
        truths = prior.to_unit(jnp.asarray(training_set.solution, jnp.float32))
        truths = jnp.tile(truths, (self.noise_draws, 1))
        trained = train(
            denoising_loss, prior.init(key_init), key_noise, self.training,
            f"{self.name} n={training_set.n}", (prior, truths),
            select=training_batches(self.training, key_init, at=1),
        )
        return prior, trained

    def sample(self, prior: DenoisingPrior, params, problems: ProblemSet, key: PRNGKeyArray):
        """``samples`` guided reverse runs per problem: the clipped final samples
        ``(n, samples, d)`` in the problems' units, the per-step clipped x0_hat
        ``(steps, n, samples, d)`` with its float32 losses ``(steps, n, samples)``, and the
        fraction of steps whose guidance was skipped for a non-finite misfit gradient."""
        n, d, s = problems.n, problems.solution.shape[-1], self.samples
        repeated = jax.tree.map(lambda a: jnp.repeat(a.astype(jnp.float32), s, axis=0), problems)
        key_start, key_steps = jax.random.split(key)
        unit = jax.random.normal(key_start, (n * s, d), jnp.float32)
        times = reverse_times(self.diffusion_steps, self.sampling_steps)
        alpha_bar = np.asarray(prior.alpha_bar)
        denoised, losses, guided = [], [], []
        for index, t in enumerate(times):
            alpha_prev = alpha_bar[times[index + 1]] if index + 1 < len(times) else 1.0
            unit, clipped, loss, finite = _guided_step(
                prior, params, unit, int(t), jnp.float32(alpha_prev), jnp.float32(self.eta),
                jnp.float32(self.guidance), jax.random.fold_in(key_steps, index), repeated,
            )
            denoised.append(clipped)
            losses.append(loss)
            guided.append(finite)
        final = prior.from_unit(jnp.clip(unit, -1.0, 1.0))
        path = prior.from_unit(jnp.stack(denoised))
        return (
            np.asarray(final).reshape(n, s, d),
            np.asarray(path).reshape(len(times), n, s, d),
            np.asarray(jnp.stack(losses)).reshape(len(times), n, s),
            1.0 - float(np.mean(np.asarray(jnp.stack(guided)))),
        )

    def solve(
        self, problem: Problem, problems: ProblemSet, training_set: ProblemSet | None, key
    ) -> Estimate:
        return self.solve_ladder("guidance", [self.guidance], problem, problems, training_set, key)[0]

    def solve_ladder(self, setting, values, problem, problems, training_set, key) -> list[Estimate]:
        """The estimates at each guidance ``values`` from ONE trained denoiser (the guidance
        acts only in the sampler, so the calibration ladder need not retrain per rung); each
        value's estimate equals ``solve`` with that guidance, training time included."""
        if setting != "guidance":
            return super().solve_ladder(setting, values, problem, problems, training_set, key)
        if training_set is None:
            raise ValueError(
                "diffusion: the prior is learned from the labelled training set's truths, but "
                "none was given; pass the training set drawn from the prior."
            )
        start = time.perf_counter()
        key_train, key_sample = jax.random.split(key)
        prior, trained = self.train_prior(problem, training_set, key_train)
        training_time = time.perf_counter() - start
        return [
            dataclasses.replace(self, guidance=float(value))._estimate(
                prior, trained, training_time, problem, problems, key_sample
            )
            for value in values
        ]

    def _estimate(self, prior, trained, training_time, problem, problems, key_sample) -> Estimate:
        """Sample the trained prior with this instance's guidance: the best of ``samples``
        per problem, its curve and timings (training's own time added)."""
        start = time.perf_counter() - training_time
        trained_at = time.perf_counter()
        final, path, path_loss, unguided = self.sample(prior, trained.params, problems, key_sample)
        n, dtype = problems.n, problems.observed.dtype
        # The sample of lowest true loss, judged in the problems' precision.
        candidates = jnp.asarray(final.reshape(n * self.samples, -1), dtype)
        repeated = jax.tree.map(lambda a: jnp.repeat(a, self.samples, axis=0), problems)
        sample_loss = np.asarray(true_losses(problem, candidates, repeated)).reshape(n, self.samples)
        best = np.argmin(np.where(np.isfinite(sample_loss), sample_loss, np.inf), axis=1)
        rows = np.arange(n)
        solution = np.asarray(final[rows, best], dtype)
        loss = np.asarray(true_losses(problem, jnp.asarray(solution), problems))
        wall_time = time.perf_counter() - start
        return Estimate(
            solution=solution,
            loss=loss,
            status=training_status(solution, loss, trained.diverged),
            iterations=np.full(n, path.shape[0]),
            curve=np.mean(path_loss[:, rows, best], axis=1).astype(np.float64),
            wall_time=wall_time,
            extra={
                "denoising_loss_initial": float(trained.curve[0]),
                "denoising_loss_final": float(trained.curve[-1]),
                "unguided_step_fraction": unguided,
                "training_time_s": trained_at - start,
                "sampling_time_s": wall_time - (trained_at - start),
                "first_step_time_s": trained.first_step_time,
                "step_time_s": trained.step_time,
            },
            initial=np.asarray(path[0, rows, best], dtype),
        )


__all__ = ["Diffusion", "DenoiserUNet", "DenoisingPrior", "alpha_bars", "noise_schedule"]
