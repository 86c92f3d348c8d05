"""Physics checks of the 2D acoustic wave solver (lio.problems.imaging.acoustic), float64.

The measured values quoted next to each tolerance were measured on CPU with JAX float64.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import hankel2

from lio.problems.imaging.acoustic import (
    CFL_LIMIT, AcousticWave, _step, check_cfl, highpass, ricker, stable_time_step,
)


def ricker_at(t, peak_frequency):
    """The continuous Ricker wavelet that ``ricker`` samples."""
    arg = (np.pi * peak_frequency * (t - 1.5 / peak_frequency)) ** 2
    return (1 - 2 * arg) * np.exp(-arg)


def green_trace(times, distance, velocity, peak_frequency):
    """The exact point-source trace ``1/(2 pi) int f(t - tau) H(tau - t0) / sqrt(tau^2 - t0^2)``
    (``t0 = r / c``): with ``tau = t0 cosh u`` it is ``1/(2 pi) int_0^inf f(t - t0 cosh u) du``,
    a smooth integrand (the singularity at the front is gone)."""
    t0 = distance / velocity
    u = np.linspace(0, np.arccosh(max(times.max(), 1.001 * t0) / t0) + 1e-3, 8001)
    lag = times[:, None] - t0 * np.cosh(u)
    values = np.where(lag > -0.5 / peak_frequency, ricker_at(lag, peak_frequency), 0.0)
    return np.trapezoid(values, u, axis=1) / (2 * np.pi)


def hankel_trace(times, distance, velocity, peak_frequency):
    """The same trace from ``p^(w) = (-i/4) H0^(2)(w r / c) f^(w)`` (numpy's FFT sign, time
    dependence ``exp(+i w t)``: the outgoing wave is ``H0^(2)``), zero-padded 16-fold."""
    dt, n = times[1] - times[0], len(times)
    padded = 16 * max(n, 4096)
    wavelet = ricker_at(np.arange(padded) * dt, peak_frequency)
    wavelet[int(3 / peak_frequency / dt):] = 0
    omega = 2 * np.pi * np.fft.rfftfreq(padded, dt)
    spectrum = np.zeros(len(omega), complex)
    spectrum[1:] = -0.25j * hankel2(0, omega[1:] * distance / velocity) * np.fft.rfft(wavelet)[1:]
    return np.fft.irfft(spectrum, padded)[:n]


def point_source_error(spacing, velocity=2.0, peak_frequency=10.0, distance=0.6, duration=0.7):
    """Relative L2 error of the trace at ``distance`` km from the source, homogeneous medium,
    Courant number 0.5. The interior reaches 0.4 km behind the source and beyond the receiver
    and 0.65 km to either side, so no wave that touches the sponge is back at the receiver
    before ``duration`` (shortest such path 1.4 km = 0.7 s at 2 km/s): the error is the
    scheme's alone.
    """
    dt = 0.5 * spacing / velocity
    num_steps = int(round(duration / dt))
    nz, nx = int(round(1.3 / spacing)), int(round((0.8 + distance) / spacing))
    source = (nz // 2, int(round(0.4 / spacing)))
    receiver = (nz // 2, source[1] + int(round(distance / spacing)))
    wave = AcousticWave.create(
        (nz, nx), spacing, dt, num_steps, (source,), (receiver,),
        ricker(num_steps, dt, peak_frequency), velocity, sponge_width=10,
    )
    trace = np.asarray(jax.jit(lambda w, v: w.shot(v, 0))(wave, jnp.full((nz, nx), velocity)))
    exact = green_trace(wave.times, distance, velocity, peak_frequency)
    return np.linalg.norm(trace[:, 0] - exact) / np.linalg.norm(exact), wave.times, exact


def test_point_source_matches_greens_function():
    """One resolution: 40 cells per peak wavelength (0.2 km at 10 Hz, 2 km/s)."""
    error, times, exact = point_source_error(0.005)
    # measured 0.81 % at 0.005 km (40 cells per peak wavelength, 16 at 2.5 f0)
    assert error < 0.012, error
    # the closed form's constant, checked against the frequency-domain Hankel solution
    other = hankel_trace(times, 0.6, 2.0, 10.0)
    agreement = np.linalg.norm(other - exact) / np.linalg.norm(exact)
    assert agreement < 1e-7, agreement  # measured 2.6e-9


def test_convergence_order():
    """dx and dt halved together (Courant 0.5): second order, from leapfrog's time error
    (the Laplacian's is fourth order). 20, 40 and 80 cells per peak wavelength; ~5 s."""
    spacings = np.array([0.01, 0.005, 0.0025])
    errors = np.array([point_source_error(h)[0] for h in spacings])
    order = np.polyfit(np.log(spacings), np.log(errors), 1)[0]
    # measured errors 2.94 %, 0.81 %, 0.21 %: orders 1.85 and 1.96 between pairs, fit 1.91
    assert order > 1.7, (order, errors)
    assert errors[-1] < 0.003, errors
    assert np.all(np.diff(errors) < 0), errors


@pytest.mark.slow
def test_convergence_order_fine():
    """The next refinement (160 cells per peak wavelength, 1 M cells x 2240 steps, ~15 s):
    the order has reached 2."""
    coarse, fine = (point_source_error(h)[0] for h in (0.0025, 0.00125))
    order = np.log2(coarse / fine)
    assert order > 1.9 and fine < 7e-4, (order, coarse, fine)  # measured 1.98; 0.21 %, 0.053 %


def test_cfl_limit():
    spacing, velocity = 0.05, 3.0
    largest = CFL_LIMIT * spacing / velocity
    assert abs(CFL_LIMIT - np.sqrt(3 / 8)) < 1e-15
    assert stable_time_step(velocity, spacing) == pytest.approx(0.8 * largest, rel=1e-14)
    check_cfl(velocity, spacing, largest)  # on the limit: fine
    with pytest.raises(ValueError, match=r"Courant number c_max\*dt/dx = .* = 0\.6185 exceeds "
                                         r"the limit 0\.6124.*largest stable dt is 0\.0102062 s"):
        AcousticWave.create((8, 8), spacing, 1.01 * largest, 10, ((4, 4),), ((4, 5),),
                            np.zeros(10), velocity)

    # the bare update from white noise (every mode, the checkerboard included), rigid walls
    rng = np.random.default_rng(0)
    noise = jnp.asarray(rng.normal(size=(40, 40)))
    ones = jnp.ones((40, 40))

    def largest_amplitude(fraction, steps):
        kappa = (fraction * CFL_LIMIT) ** 2 * ones

        def body(carry, _):
            carry = _step(*carry, kappa, ones)
            return carry, jnp.abs(carry[1]).max()

        return np.asarray(jax.lax.scan(body, (noise, noise), None, steps)[1])

    stable = largest_amplitude(0.95, 3000)
    assert stable.max() < 5 * np.abs(noise).max(), stable.max()  # measured 1.47x the initial
    unstable = largest_amplitude(1.05, 300)
    assert unstable[-1] > 1e20, unstable[-1]  # measured 3e80 after 300 steps (3e26 after 100)

    # through the public class at 0.95 of the limit: rigid box (no sponge), energy kept, bounded
    dt, num_steps = 0.95 * largest, 3000
    wave = AcousticWave.create((24, 24), spacing, dt, num_steps, ((12, 12),), ((3, 5), (20, 12)),
                               ricker(num_steps, dt, 5.0), velocity, sponge_width=0)
    traces = np.abs(np.asarray(wave(jnp.full((24, 24), velocity))))
    early, late = traces[0, :500].max(), traces[0, -1000:].max()
    assert np.isfinite(traces).all() and late < 3 * early, (early, late)  # measured 1.23x


def layered_model(nz, nx, spacing):
    """2 km/s over 3 km/s at half depth, plus a -0.5 km/s Gaussian anomaly (0.2 km wide)."""
    z, x = np.meshgrid(np.arange(nz) * spacing, np.arange(nx) * spacing, indexing="ij")
    layer = np.where(z < nz * spacing / 2, 2.0, 3.0)
    centre = (0.4 * nz * spacing, 0.6 * nx * spacing)
    anomaly = -0.5 * np.exp(-((z - centre[0]) ** 2 + (x - centre[1]) ** 2) / (2 * 0.2**2))
    return layer + anomaly


def test_reciprocity():
    nz, nx, spacing = 30, 40, 0.05
    velocity = jnp.asarray(layered_model(nz, nx, spacing))
    dt, num_steps = stable_time_step(3.0, spacing), 400
    a, b = (4, 7), (25, 33)
    wave = AcousticWave.create((nz, nx), spacing, dt, num_steps, (a, b), (a, b),
                               ricker(num_steps, dt, 6.0), 3.0, sponge_width=15)
    gathers = np.asarray(jax.jit(lambda w, v: w(v))(wave, velocity))
    forward, backward = gathers[0, :, 1], gathers[1, :, 0]
    mismatch = np.abs(forward - backward).max() / np.abs(forward).max()
    assert mismatch < 1e-10, mismatch  # measured 2.5e-15: the update's matrix is symmetric
    homogeneous = np.asarray(wave(jnp.full((nz, nx), 2.5)))[0, :, 1]
    assert np.abs(forward - homogeneous).max() > 0.3 * np.abs(forward).max()  # a real medium


def reflection(width, reference=False):
    """A 5 Hz Ricker at 2 km/s (0.4 km peak wavelength) in a 1 km square of 0.05 km cells;
    receivers 0.075 km inside the right edge and the lower right corner. The reference embeds
    the same square in one 2.6 km larger on every side: a wave that reaches its sponge travels
    at least 5.8 km to a receiver, more than the 2.6 s record's 5.2 km."""
    spacing, velocity = 0.05, 2.0
    dt = stable_time_step(velocity, spacing)
    num_steps = int(2.6 / dt)
    n, pad = 20, (52 if reference else 0)
    centre, edge = 10 + pad, 18 + pad
    wave = AcousticWave.create((n + 2 * pad,) * 2, spacing, dt, num_steps, ((centre, centre),),
                               ((centre, edge), (edge, edge)), ricker(num_steps, dt, 5.0),
                               velocity, sponge_width=10 if reference else width)
    return np.asarray(wave.shot(jnp.full(wave.shape, velocity), 0))


def test_sponge_reflection():
    reference = reflection(0, reference=True)
    direct = np.abs(reference).max(0)

    def reflected(width):
        return np.abs(reflection(width) - reference).max(0) / direct

    narrow, wide = reflected(20), reflected(40)
    # measured edge 1.38 %, corner 1.43 % with 20 cells (1 km, 2.5 peak wavelengths)
    assert narrow.max() < 0.02, narrow
    # measured 0.29 %, 0.30 % with 40 cells
    assert wide.max() < 0.005 and wide.max() < narrow.min() / 3, (narrow, wide)
    assert reflected(0).min() > 1  # rigid walls: measured 165 %, 218 %


def test_gradient_and_checkpointing():
    nz = nx = 16
    spacing, num_steps = 0.05, 100
    dt = stable_time_step(3.5, spacing)
    rng = np.random.default_rng(1)

    def smooth(scale):
        z, x = np.meshgrid(np.arange(nz), np.arange(nx), indexing="ij")
        field = sum(rng.normal() * np.cos(np.pi * (k * z + m * x) / 16 + rng.uniform(0, 6))
                    for k in range(3) for m in range(3))
        return scale * field / np.abs(field).max()

    velocity = jnp.asarray(2.5 + smooth(0.4))
    truth = jnp.asarray(2.5 + smooth(0.4))
    direction = jnp.asarray(smooth(1.0))
    args = dict(shape=(nz, nx), spacing=spacing, dt=dt, num_steps=num_steps,
                sources=((2, 3), (2, 12)), receivers=tuple((3, ix) for ix in range(1, 16, 4)),
                wavelet=ricker(num_steps, dt, 8.0), max_velocity=3.5, sponge_width=8)
    segmented = AcousticWave.create(**args, checkpoint_every=7)  # 14 segments and 2 steps
    assert segmented.checkpoint_every == 7
    assert AcousticWave.create(**args).checkpoint_every == 10  # ceil(sqrt(100))
    whole = AcousticWave.create(**args, checkpoint_every=num_steps)
    observed = whole(truth)

    def misfit(wave, v):
        return 0.5 * jnp.sum((wave(v) - observed) ** 2)

    gradient = jax.jit(jax.grad(misfit, argnums=1))
    grad_segmented, grad_whole = gradient(segmented, velocity), gradient(whole, velocity)
    difference = np.abs(grad_segmented - grad_whole).max() / np.abs(grad_whole).max()
    assert difference < 1e-12, difference  # measured 7e-16: the same arithmetic, recomputed
    np.testing.assert_allclose(segmented(velocity), whole(velocity), rtol=0, atol=1e-15)

    step = 1e-4
    value = jax.jit(misfit)
    finite = (value(whole, velocity + step * direction)
              - value(whole, velocity - step * direction)) / (2 * step)
    exact = jnp.vdot(grad_whole, direction)
    assert abs(finite - exact) < 1e-5 * abs(exact), (finite, exact)  # measured 5.6e-10 relative


def test_jit_vmap_float32():
    nz, nx, spacing, num_steps = 12, 14, 0.05, 60
    dt = stable_time_step(3.0, spacing)
    wave = AcousticWave.create((nz, nx), spacing, dt, num_steps, ((1, 2), (1, 11)),
                               ((2, 4), (2, 9), (10, 7)), ricker(num_steps, dt, 8.0), 3.0,
                               sponge_width=6, checkpoint_every=8)
    leaves = jax.tree.leaves(wave)
    assert len(leaves) == 2 and wave.damping.shape == wave.padded_shape == (24, 26)
    models = jnp.asarray(np.stack([layered_model(nz, nx, spacing), np.full((nz, nx), 2.2)]))
    batched = jax.jit(lambda w, v: jax.vmap(w)(v))(wave, models)
    assert batched.shape == (2, *wave.record_shape) == (2, 2, num_steps, 3)
    np.testing.assert_allclose(batched[1], wave(models[1]), rtol=0, atol=1e-14)
    np.testing.assert_allclose(batched[0, 1], wave.shot(models[0], 1), rtol=0, atol=1e-14)
    single = jax.jit(lambda w, v: w(v))(wave, models[0].astype(jnp.float32))
    assert single.dtype == jnp.float32
    error = np.abs(single - batched[0]).max() / np.abs(batched[0]).max()
    assert error < 1e-5, error  # measured 2.9e-7


def test_bad_input():
    good = dict(shape=(10, 12), spacing=0.05, dt=0.005, num_steps=20, sources=((1, 1),),
                receivers=((2, 3),), wavelet=np.zeros(20), max_velocity=3.0)
    AcousticWave.create(**good)
    cases = [
        (dict(sources=((1, 12),)), r"sources \[\(1, 12\)\] lie outside the model interior of "
                                   r"shape \(nz, nx\) = \(10, 12\)"),
        (dict(receivers=((2, 3), (-1, 0))), r"receivers \[\(-1, 0\)\] lie outside"),
        (dict(sources=()), "sources must be a non-empty sequence of \\(iz, ix\\) integer"),
        (dict(receivers=((2.5, 3),)), "receivers must be a non-empty sequence"),
        (dict(wavelet=np.zeros(19)), r"wavelet must have shape \(num_steps,\) = \(20,\).*got "
                                     r"\(19,\)"),
        (dict(wavelet=np.full(20, np.nan)), "wavelet has non-finite samples"),
        (dict(spacing=0.0), r"spacing must be a finite number > 0 \(km\), got 0\.0"),
        (dict(spacing=-0.05), "spacing must be a finite number > 0"),
        (dict(dt=0), "dt must be a finite number > 0"),
        (dict(max_velocity=-2), "max_velocity must be a finite number > 0"),
        (dict(shape=(10,)), r"shape must be \(nz, nx\) with two integers >= 1"),
        (dict(num_steps=0, wavelet=np.zeros(0)), "num_steps must be an integer >= 1"),
        (dict(sponge_width=-1), "sponge_width must be an integer >= 0"),
        (dict(checkpoint_every=0), "checkpoint_every must be an integer >= 1, got 0"),
        (dict(num_steps=None), "num_steps must be an integer >= 1, got None"),
    ]
    for change, message in cases:
        with pytest.raises(ValueError, match=message):
            AcousticWave.create(**{**good, **change})
    wave = AcousticWave.create(**good)
    with pytest.raises(ValueError, match=r"velocity must have the model shape \(nz, nx\) = "
                                         r"\(10, 12\) in km/s, got shape \(12, 10\)"):
        wave(jnp.ones((12, 10)))
    with pytest.raises(ValueError, match="source must index one of the 1 sources, got 1"):
        wave.shot(jnp.ones((10, 12)), 1)
    with pytest.raises(ValueError, match="lowest_frequency must be >= 0 Hz"):
        highpass(np.zeros(8), 0.004, -1.0)


def test_ricker_and_highpass():
    dt, num_steps, peak = 0.004, 1000, 5.0
    wavelet = ricker(num_steps, dt, peak)
    assert np.argmax(wavelet) == 75 and abs(wavelet[75] - 1) < 1e-15  # t = 1.5 / f0 = 0.3 s
    assert abs(wavelet[0]) < 2e-8  # measured -9.8e-9: starts at ~0
    spectrum = np.abs(np.fft.rfft(wavelet))
    frequency = np.fft.rfftfreq(num_steps, dt)
    assert abs(frequency[np.argmax(spectrum)] - peak) <= 0.25  # the peak frequency, 0.25 Hz bins

    np.testing.assert_array_equal(highpass(wavelet, dt, 0.0), wavelet)
    lowest = 3.0
    filtered = highpass(wavelet, dt, lowest)
    out = np.fft.rfft(filtered)
    below, above = frequency <= lowest / 2, frequency >= lowest
    removed = np.abs(out[below]).max() / spectrum.max()
    kept = np.abs(out[above] - np.fft.rfft(wavelet)[above]).max() / spectrum.max()
    assert removed < 1e-12 and kept < 1e-12, (removed, kept)  # measured 1.2e-16, 3.5e-16
    middle = (frequency > lowest / 2) & (frequency < lowest)  # the taper: in between
    ratio = np.abs(out[middle]) / spectrum[middle]
    assert np.all((ratio > 0) & (ratio < 1)) and np.all(np.diff(ratio) > 0), ratio
    assert np.argmax(filtered) == 75  # zero phase: the peak stays at 0.3 s
    assert np.abs(filtered[-150:]).max() < 0.05  # measured 3.7 %: the wrapped precursor
