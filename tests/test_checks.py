"""The checks of an imported data set: what clip_problems finds in a clip's samples."""

import numpy as np

from genre.sources.checks import clip_problems


def _float_problems(samples: np.ndarray) -> list[str]:
    """clip_problems as first written, in float passes over the clip."""
    if len(samples) == 0:
        return ["holds no samples"]
    problems = []
    clipped = float(np.mean(np.abs(samples.astype(np.int32)) >= 32767))
    if clipped > 0.01:
        problems.append(f"clipped: {clipped:.1%} of the samples at full scale")
    rms = float(np.sqrt(np.mean((samples / 32768.0) ** 2)))
    if rms == 0:
        problems.append("silent: every sample is 0")
    elif 20 * np.log10(rms) < -60:
        problems.append(f"nearly silent: RMS level {20 * np.log10(rms):.0f} dBFS")
    return problems


def test_integer_figures_are_the_float_ones():
    rng = np.random.default_rng(0)
    clips = [np.zeros(0, np.int16), np.zeros(100, np.int16), np.full(9, -32768, np.int16)]
    for _ in range(60):
        level = 32768 * 10 ** rng.uniform(-5, 0.5)  # from -100 dBFS to heavily clipped
        noise = rng.standard_normal(int(rng.integers(1, 700_000))) * level
        clips.append(np.clip(np.round(noise), -32768, 32767).astype(np.int16))
    for samples in clips:
        assert clip_problems(samples) == _float_problems(samples)


def test_clipping_and_silence_are_named():
    loud = np.full(1000, 32767, np.int16)
    assert clip_problems(loud) == ["clipped: 100.0% of the samples at full scale"]
    assert clip_problems(np.zeros(1000, np.int16)) == ["silent: every sample is 0"]
    assert clip_problems(np.ones(1000, np.int16)) == ["nearly silent: RMS level -90 dBFS"]
    assert clip_problems(np.full(1000, 3000, np.int16)) == []
