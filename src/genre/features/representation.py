"""A clip's features under `featurize.representation`: the method's 44 handcrafted features,
musicnn's embedding, or both side by side.

The embedding's sequence is its patches (2.992 s each) and its summary their mean. With `both`,
the handcrafted windows (0.5 s) are averaged onto the patches they start in, so the two share
one sequence of steps.
"""

import contextlib
import functools

import numpy as np

from genre.audio import fit_length
from genre.errors import GenreError
from genre.features.handcrafted import ClipFeatures
from genre.features.layout import PATCH_SECONDS, FeatureSettings


@functools.cache
def _musicnn():
    """genre.features.musicnn, imported (with TensorFlow) on first use: a handcrafted run
    never loads it. TF runs on one thread where it has not started yet (featurize's worker
    processes run side by side, one per core); the embedding's bits do not depend on it."""
    from genre.features import musicnn  # first: TF loads with the project's settings

    tf = musicnn.tf
    with contextlib.suppress(RuntimeError):  # TF already running (genre predict): as it is
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    return musicnn


def embedding(samples: np.ndarray, *, settings: FeatureSettings) -> ClipFeatures:
    """musicnn's embedding of one clip (cropped or zero-padded to the clip length): its patches
    [steps, 1506] and their mean."""
    clip = fit_length(np.asarray(samples, dtype=np.float32), settings.clip_samples)
    patches = _musicnn().embed(clip, sample_rate=settings.sample_rate)
    if len(patches) != settings.steps:
        raise GenreError(
            f"musicnn gave {len(patches)} patches for a clip of {settings.duration_s:g} s, "
            f"where {settings.steps} were expected: this is a bug"
        )
    summary = patches.mean(axis=0, dtype=np.float64).astype(np.float32)
    return ClipFeatures(summary, np.ascontiguousarray(patches, dtype=np.float32))


def combined(hand: ClipFeatures, embedded: ClipFeatures, *, settings: FeatureSettings):
    """`both`: the handcrafted summary beside the embedding's, and the handcrafted windows
    averaged onto the embedding's patches beside them."""
    pooled = onto_patches(hand.sequence, settings=settings)
    return ClipFeatures(
        np.concatenate([hand.summary, embedded.summary]),
        np.concatenate([pooled, embedded.sequence], axis=1),
        tuning=hand.tuning,
    )


def onto_patches(windows: np.ndarray, *, settings: FeatureSettings) -> np.ndarray:
    """[patches, features]: each patch, the mean of the handcrafted windows that start in it
    (or of the one window it falls in, when windows are longer than patches)."""
    window_s = settings.featurize.window_s
    starts = np.arange(len(windows)) * window_s
    owner = np.minimum((starts / PATCH_SECONDS).astype(np.int64), settings.steps - 1)
    pooled = np.empty((settings.steps, windows.shape[1]), dtype=np.float32)
    for patch in range(settings.steps):
        mine = windows[owner == patch]
        if not len(mine):
            mine = windows[min(int(patch * PATCH_SECONDS / window_s), len(windows) - 1)][None]
        pooled[patch] = mine.mean(axis=0, dtype=np.float64)
    return pooled
