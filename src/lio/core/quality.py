"""Truth metrics of image estimates: PSNR, SSIM and relative L2 error (scikit-image).

On an ill-posed imaging problem a lower data misfit is not a better image (semi-convergence:
iterating on the misfit fits the noise), so the image problems report, beside the loss, how close
each estimate is to the hidden truth. The metrics come from scikit-image, not hand-written code.
"""

from __future__ import annotations

import numpy as np

# Metric -> True when higher is better (lio.analysis.metrics compares methods on them against BFGS).
HIGHER_IS_BETTER = {"psnr": True, "ssim": True, "relative_error": False}

LONG_NAMES = {
    "psnr": "peak signal-to-noise ratio to the hidden truth (dB)",
    "ssim": "structural similarity to the hidden truth (Gaussian-weighted, Wang et al. 2004)",
    "relative_error": "||estimate - truth|| / ||truth||",
}
UNITS = {"psnr": "dB", "ssim": "1", "relative_error": "1"}


def image_quality(
    solution: np.ndarray, truth: np.ndarray, shape: tuple[int, int], data_range: float
) -> dict[str, np.ndarray]:
    """PSNR, SSIM and relative error of each of ``n`` flat estimates against its truth.

    Args:
        solution, truth: ``(n, h * w)`` flat images.
        shape: ``(h, w)``.
        data_range: the images' value range (the prior's, not each estimate's), as PSNR and
            SSIM need one fixed scale to be comparable across methods.

    Non-finite estimates get NaN metrics.
    """
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    solution = np.asarray(solution, float).reshape(-1, *shape)
    truth = np.asarray(truth, float).reshape(-1, *shape)
    if solution.shape != truth.shape:
        raise ValueError(
            f"image_quality: {solution.shape[0]} estimates for {truth.shape[0]} truths; expected "
            "one estimate per truth."
        )
    # Gaussian-weighted SSIM (sigma 1.5) as in Wang et al.; its 11-pixel window needs >= 11 px.
    window = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False}
    if min(shape) < 11:
        window = {"win_size": min(shape) - 1 + min(shape) % 2}
    metrics = {name: np.full(len(truth), np.nan) for name in HIGHER_IS_BETTER}
    for i, (estimate, image) in enumerate(zip(solution, truth)):
        if not np.all(np.isfinite(estimate)):
            continue
        metrics["psnr"][i] = peak_signal_noise_ratio(image, estimate, data_range=data_range)
        metrics["ssim"][i] = structural_similarity(
            image, estimate, data_range=data_range, **window
        )
        metrics["relative_error"][i] = np.linalg.norm(estimate - image) / np.linalg.norm(image)
    return metrics
