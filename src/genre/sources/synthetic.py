"""Embedded generator of GTZAN-shaped audio: the default data source.

Genres differ the way real ones do, by rhythm, harmony and timbre, and each clip draws its own
key, tempo, mix and recording colour, so no single statistic gives a genre away. The slow loops
are compiled (numba) doing numpy's and scipy's operations in the same order: the same bytes.
"""

import functools
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np
from scipy import signal
from tqdm import tqdm

from genre import GENRES
from genre.audio import write_wav
from genre.errors import GenreError
from genre.sources.styles import (
    BASSLINES,
    CHORDS,
    DRUMS,
    HARMONICS,
    INSTRUMENTS,
    KITS,
    RHYTHMS,
    SCALES,
    STYLES,
    TIMBRES,
    VOWELS,
    Style,
)

_N = 2048  # wavetable length (one period)
_SIN = np.sin(2 * np.pi * HARMONICS[:, None] * np.arange(_N) / _N)
_CURVE_S = 4.0  # notes up to this long take their time curves from cached ones


def _band(x: np.ndarray, lo: float, hi: float, sr: int, order: int = 2) -> np.ndarray:
    """Band-pass x (lo=0: low-pass; hi >= Nyquist: high-pass); limits clamped to the rate."""
    return signal.sosfilt(_design(lo, hi, sr, order), x)


def _design(lo: float, hi: float, sr: int, order: int = 2) -> np.ndarray:
    """The second-order sections of _band's Butterworth filter."""
    hi = min(hi, 0.45 * sr)
    lo = min(lo, 0.9 * hi)
    kind, edges = (
        ("lowpass", hi)
        if lo <= 0
        else ("highpass", lo)
        if hi >= 0.45 * sr
        else ("bandpass", (lo, hi))
    )
    return _butter(order, edges, kind, sr)


@functools.lru_cache(maxsize=64)
def _butter(order: int, edges: float | tuple[float, float], kind: str, sr: int) -> np.ndarray:
    """A Butterworth filter's sections (cached: the fixed ones are designed once)."""
    return signal.butter(order, edges, kind, fs=sr, output="sos")


# A note's time curves depend on the time t = i / sr of each sample alone, so they are computed
# once over _CURVE_S seconds and each note takes its first n samples: the same values as
# computing them for the note (as a longer note does).
def _curve(curve, n: int, sr: int, *args) -> np.ndarray:
    """The first n samples of curve(*args, m, sr), one of the cached curves below."""
    m = int(_CURVE_S * sr)
    return curve(*args, m, sr)[:n] if n <= m else curve.__wrapped__(*args, n, sr)


def _frozen(x: np.ndarray) -> np.ndarray:
    x.flags.writeable = False  # shared by every note that takes a part of it
    return x


@functools.lru_cache(maxsize=4)
def _times(m: int, sr: int) -> np.ndarray:
    return _frozen(np.arange(m) / sr)


@functools.lru_cache(maxsize=64)
def _envelope(attack: float, decay: float, gain: float, m: int, sr: int) -> np.ndarray:
    """An instrument layer's attack and decay."""
    t = np.arange(m) / sr
    return _frozen(gain * (1 - np.exp(-t / attack)) * np.exp(-t / decay))


@functools.lru_cache(maxsize=16)
def _vibrato(cents: float, m: int, sr: int) -> np.ndarray:
    """The time warp (s) of a 5.5 Hz vibrato `cents` deep."""
    t = np.arange(m) / sr
    return _frozen(cents / 1731 * (1 - np.cos(2 * np.pi * 5.5 * t)) / (2 * np.pi * 5.5))


@functools.lru_cache(maxsize=4)
def _sung(m: int, sr: int) -> np.ndarray:
    """The pitch bend of a sung syllable: a 5 Hz vibrato fading in over 0.3 s."""
    t = np.arange(m) / sr
    return _frozen(0.004 * np.sin(2 * np.pi * 5 * t) * np.minimum(t / 0.3, 1))


def _table(amps: np.ndarray, f0: float, sr: int) -> np.ndarray:
    """One period (_N samples) of a band-limited wave: the harmonics of f0 below Nyquist at
    amplitudes `amps`, peak 1."""
    k = int(min(max(sr / 2 / f0, 1), len(HARMONICS)))
    table = amps[:k] @ _SIN[:k]
    table /= np.abs(table).max() + 1e-9
    return table


def _wave(table: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Wavetable oscillator: the samples of `table` at `phase` (cycles)."""
    index = (phase * _N).astype(np.int64)
    index &= _N - 1
    return table[index]


@numba.njit(cache=True)
def _play(out, env, table, f, t):  # pragma: no cover (compiled)
    """out += env * _wave(table, f * t), in one pass over the note (the same values)."""
    for i in range(len(out)):
        out[i] += env[i] * table[np.int64(f * t[i] * _N) & (_N - 1)]


def _resonate(body: tuple[tuple[float, float, float], ...], f0: float) -> np.ndarray:
    """Gain of each harmonic of f0 through resonances (Hz, gain, bandwidth Hz)."""
    return 1 + sum(g / (1 + ((HARMONICS * f0 - hz) / bw) ** 2) for hz, g, bw in body)


@functools.lru_cache(maxsize=512)
def _note(name: str, midi: float, dur: float, sr: int) -> np.ndarray:
    """One note of an instrument (cached: a clip repeats its notes; callers must not modify)."""
    inst, n = INSTRUMENTS[name], max(int(dur * sr), 16)
    t = _curve(_times, n, sr)
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    warped = t + _curve(_vibrato, n, sr, inst.vibrato) if inst.vibrato else t  # t + 0 is t
    body, out = _resonate(inst.body, f0), np.zeros(n)
    for timbre, attack, decay, gain, detune in inst.layers:
        f = f0 * 2 ** (detune / 1200)
        env = _curve(_envelope, n, sr, attack, decay, gain)
        _play(out, env, _table(TIMBRES[timbre] * body, f, sr), f, warped)
    return out * np.minimum((t[-1] - t) / 0.01, 1)  # 10 ms release: no clicks


def _voice(midi: float, dur: float, sr: int, rng: np.random.Generator, rap: bool) -> np.ndarray:
    """A sung (vibrato) or rapped (falling pitch) syllable: a buzz through vowel formants."""
    t = _curve(_times, max(int(dur * sr), 16), sr)
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    bend = -0.12 * t / t[-1] if rap else _curve(_sung, len(t), sr)
    vowel = zip(VOWELS[rng.integers(len(VOWELS))], (20, 12, 5), (90, 110, 150), strict=True)
    table = _table(_resonate(tuple(vowel), f0) / HARMONICS, f0, sr)
    out = _wave(table, np.cumsum(f0 * (1 + bend)) / sr)
    return out * np.minimum(t / 0.02, 1) * np.minimum((t[-1] - t) / 0.03, 1)


def _kit(name: str, sr: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One clip's drum sounds, tuned and damped at random around the kit's settings."""
    (k_hi, k_lo, k_dec), (s_tone, s_dec, s_lo, s_hi), (h_dec, cym) = KITS[name]
    r = lambda: rng.uniform(0.8, 1.25)  # noqa: E731
    t = np.arange(int(1.5 * sr)) / sr
    noise = rng.standard_normal(len(t))
    metal = cym * _band(noise, 6000 * r(), sr, sr)

    def hit(x, decay):  # x under an exponential decay, cut once it is inaudible
        n = min(len(t), int(6 * decay * sr))
        return x[:n] * np.exp(-t[:n] / decay)

    sweep = k_lo * r() + (k_hi - k_lo) * r() * np.exp(-t / 0.03)
    kick = hit(np.sin(2 * np.pi * np.cumsum(sweep) / sr), k_dec * r())
    kick[:64] += noise[:64] * np.linspace(0.5, 0, 64)  # beater click
    tone = 0.5 * np.sin(2 * np.pi * s_tone * r() * t) * np.exp(-t / 0.04)
    ring = 1 + np.sin(2 * np.pi * 5200 * r() * t)
    return {
        "kick": kick,
        "snare": hit(_band(noise, s_lo * r(), s_hi, sr) + tone, s_dec * r()),
        "hat": hit(metal, h_dec * r()),
        "open": hit(metal, 0.25),
        "crash": hit(1.3 * metal, 0.3),
        "rim": hit(np.sin(2 * np.pi * 1700 * t), 0.015),
        "ride": hit(cym * 0.7 * _band(noise, 3000, 8000, sr) * ring, 0.3),
    }


def _add(bus: np.ndarray, x: np.ndarray, gain: float, sec: float, sr: int) -> None:
    """Mix gain * x into bus starting at `sec` seconds (cut at the end of the bus)."""
    i = max(int(sec * sr), 0)
    m = min(len(x), len(bus) - i)
    if m > 0:
        bus[i : i + m] += gain * x[:m]


@dataclass
class _Song:
    """One clip's draws shared by all its parts."""

    style: Style
    rng: np.random.Generator
    sr: int
    size: int  # samples per bus
    bars: int
    key: int
    spb: float  # seconds per beat
    swing: float
    prog: list[tuple[int, tuple[int, ...]]]  # (root, chord quality) per bar

    def when(self, step: int) -> float:
        """Seconds of a 16th-note step (swing delays off-beat 8ths up to a triplet), humanised."""
        return (step / 4 + (step % 4 == 2) * self.swing / 6) * self.spb + self.rng.normal(0, 0.004)

    def onsets(self, pattern: str) -> list[tuple[int, int]]:
        """(step, steps until the next onset) for the hits of a step pattern."""
        steps = [i for i, c in enumerate(pattern) if c != "."]
        return [(s, e - s) for s, e in zip(steps, steps[1:] + [len(pattern)], strict=False)]


def _drums(s: _Song) -> np.ndarray:
    """The genre's drum pattern on a randomly tuned kit, with fills, drop-outs and dynamics."""
    bus, rng = np.zeros(s.size), s.rng
    kit = _kit(str(rng.choice(s.style.kit)), s.sr, rng)
    velocity = {"X": 1.0, "x": 0.7, "g": 0.3}
    hits = {}  # (voice, accent) -> the sound at that velocity, made once per clip
    for voice, pattern in DRUMS[str(rng.choice(s.style.drums))].items():
        for b in range(0, s.bars, 4 if voice == "crash" else 1):
            fill = voice == "snare" and b % 4 == 3 and rng.random() < 0.4
            for i, c in enumerate(pattern[:12] + "xxxX" if fill else pattern):
                if c != "." and rng.random() > 0.04:  # now and then a hit is left out
                    if (voice, c) not in hits:
                        hits[voice, c] = kit[voice] * velocity[c]
                    _add(bus, hits[voice, c], rng.uniform(0.8, 1), s.when(b * 16 + i), s.sr)
    return bus


def _chords(s: _Song, inst: str) -> np.ndarray:
    """The progression voiced around a random register, played in one of the genre's rhythms."""
    bus, rng = np.zeros(s.size), s.rng
    rhythm = str(rng.choice(s.style.rhythm))
    pattern, gate = RHYTHMS[rhythm]
    centre = 50 if inst == "dist" else rng.uniform(56, 66)
    strum = rng.uniform(0.005, 0.025) if rhythm in ("strum", "eighths", "shuffle") else 0.0
    for b in range(s.bars):
        root, quality = s.prog[b % len(s.prog)]
        notes = s.key + root + np.array(quality)
        notes = notes + 12 * np.round((centre - notes.mean()) / 12)
        notes = np.concatenate([notes[:1] - 12, notes, notes[1:3] + 12])  # spread over 2 octaves
        bar = pattern or "".join("x." if rng.random() < 0.3 else ".." for _ in range(8))
        for j, (step, gap) in enumerate(s.onsets(bar)):
            dur, vel, t0 = gap * s.spb / 4 * gate, rng.uniform(0.6, 1), s.when(b * 16 + step)
            for i, m in enumerate([notes[j % len(notes)]] if rhythm == "arp" else notes):
                _add(bus, _note(inst, float(m), round(dur, 2), s.sr), vel, t0 + i * strum, s.sr)
    return bus


def _bassline(s: _Song, inst: str) -> np.ndarray:
    """A bass line under the progression: roots, fifths, octaves, boogie or walking."""
    bus, rng = np.zeros(s.size), s.rng
    line = str(rng.choice(s.style.line))
    pattern, cycle = BASSLINES[line]
    for b in range(s.bars):
        root, quality = s.prog[b % len(s.prog)]
        low = (s.key + root) % 12 + 28
        if line == "walk":  # chord tones, then a half step towards the next root
            nxt = (s.key + s.prog[(b + 1) % len(s.prog)][0]) % 12 + 28
            cycle = (0, 4, 7, nxt - low + int(rng.choice((-1, 1))))
        for j, (step, gap) in enumerate(s.onsets(pattern)):
            iv = quality[1] if cycle[j % len(cycle)] == 4 else cycle[j % len(cycle)]
            note = _note(inst, low + iv, round(gap * s.spb / 4 * 0.9, 2), s.sr)
            _add(bus, note, rng.uniform(0.7, 1), s.when(b * 16 + step), s.sr)
    return bus


def _melody(s: _Song, inst: str) -> np.ndarray:
    """Phrases of a scale-wise random walk; "voice" sings them, "rap" raps 16th syllables."""
    bus, rng, rap = np.zeros(s.size), s.rng, inst == "rap"
    low, high = (45, 57) if rap else (52, 74) if inst == "voice" else (58, 82)
    scale = "minor" if s.style.scale == "major" and s.prog[0][1][1] == 3 else s.style.scale
    pitches = [p for p in range(low, high) if (p - s.key) % 12 in SCALES[scale]]
    grid, density = (1, 0.75) if rap else (int(rng.choice((1, 2, 2, 4))), rng.uniform(0.35, 0.7))
    hiss = _band(rng.standard_normal(s.sr // 20), 3000, s.sr, s.sr)  # consonants
    idx = len(pitches) // 2
    for b in range(0, s.bars, 2):
        if rng.random() < 0.3:
            continue  # a rest between phrases
        hits = "".join(
            "x" + "." * (grid - 1) if rng.random() < density else "." * grid
            for _ in range(32 // grid)
        )
        for step, gap in s.onsets(hits):
            idx = min(max(idx + int(rng.choice((-2, -1, -1, 0, 1, 1, 2))), 0), len(pitches) - 1)
            dur = gap * s.spb / 4 * 0.9
            if inst in ("voice", "rap"):
                note = _voice(pitches[idx], dur, s.sr, rng, rap)
                if rap or rng.random() < 0.3:
                    m = min(len(note), len(hiss))
                    note[:m] += 0.4 * hiss[:m] * np.linspace(1, 0, m)
            else:
                note = _note(inst, pitches[idx], round(dur, 2), s.sr)
            _add(bus, note, rng.uniform(0.7, 1), s.when(b * 16 + step), s.sr)
    return bus


def _master(x: np.ndarray, style: Style, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Recording colour (rumble filter, random shelves and EQ bump), noise floor and level, in
    place on the mix x (then _limit, on the excerpt alone)."""
    rumble = _design(rng.uniform(20, 60), sr, sr)
    treble, bass = _design(2000, sr, sr, order=1), _design(0, 250, sr, order=1)  # shelves
    t_gain, b_gain = rng.uniform(-0.6, 1.5), rng.uniform(-0.5, 1.0)
    centre = np.exp(rng.uniform(np.log(150), np.log(6000)))
    bump, u_gain = _design(centre / 1.5, centre * 1.5, sr), rng.uniform(-0.3, 0.6)
    pole = rng.uniform(0, 0.98)
    noise = rng.standard_normal(len(x))
    _recording(x, noise, (rumble, treble, bass, bump), (t_gain, b_gain, u_gain), pole)
    floor, spread = np.std(x) * 10 ** (rng.uniform(-65, -35) / 20), np.std(noise)
    noise *= floor
    noise /= spread
    x += noise
    x *= 10 ** (rng.uniform(*style.level) / 20) / np.sqrt(np.mean(x**2))
    return x


@numba.njit(cache=True)
def _section(c, x, z0, z1):  # pragma: no cover (compiled)
    """Second-order section c on sample x with state (z0, z1): (output, new state), as scipy's
    sosfilt computes it (direct form II transposed), operation for operation."""
    y = c[0] * x + z0
    return y, c[1] * x - c[4] * y + z1, c[2] * x - c[5] * y


@numba.njit(cache=True)
def _recording(x, noise, sos, gains, pole):  # pragma: no cover (compiled)
    """_master's filters in one pass, in place: x through the rumble filter sos[0], then
    x + gains[k - 1] * sos[k](x) for the treble and bass shelves and the EQ bump (k = 1, 2, 3);
    white noise through lfilter([1], [1, -pole]). The same operations in the same order as
    scipy's sosfilt and lfilter, so the same values, ~5x faster: the five filters' sample by
    sample recurrences run side by side instead of one pass over the clip each."""
    rumble, treble, bass, bump = sos
    r0 = r1 = t0 = t1 = b0 = b1 = u0 = u1 = v0 = v1 = z = 0.0
    for n in range(len(x)):
        v, r0, r1 = _section(rumble[0], x[n], r0, r1)
        y, t0, t1 = _section(treble[0], v, t0, t1)
        v = v + gains[0] * y
        y, b0, b1 = _section(bass[0], v, b0, b1)
        v = v + gains[1] * y
        y, u0, u1 = _section(bump[0], v, u0, u1)
        if len(bump) == 2:  # a band-pass; a high-pass (at low sample rates) has one section
            y, v0, v1 = _section(bump[1], y, v0, v1)
        x[n] = v + gains[2] * y
        w = noise[n]
        noise[n] = z + 1.0 * w
        z = w * 0.0 - noise[n] * -pole


def _limit(x: np.ndarray) -> np.ndarray:
    """A soft limiter, in place: never clips."""
    x /= 0.99
    np.tanh(x, out=x)
    x *= 0.99
    return x


def synthesize(
    genre: str, index: int, *, duration_s: float, sample_rate: int, seed: int
) -> np.ndarray:
    """One clip of `genre`: float32 mono in [-1, 1], determined by (seed, genre, index) alone."""
    if genre not in STYLES:
        raise GenreError(f"unknown genre {genre!r}; known: {', '.join(GENRES)}")
    style, sr, n = STYLES[genre], sample_rate, int(round(duration_s * sample_rate))
    rng = np.random.default_rng(np.random.SeedSequence([seed, GENRES.index(genre), index]))
    _note.cache_clear()  # notes repeat within a clip, rarely across clips: bound the memory
    spb = 60 / rng.uniform(*style.tempo)
    offset = int(rng.uniform(0, 4 * spb) * sr)  # the excerpt starts anywhere in a bar
    chords = str(rng.choice(style.chords)).split()
    prog = [(int(r), CHORDS[q]) for r, q in (c.split(":") for c in chords)]
    song = _Song(
        style,
        rng,
        sr,
        offset + n + sr,
        int((offset / sr + duration_s) / (4 * spb)) + 2,
        int(rng.integers(12)),
        spb,
        rng.uniform(*style.swing),
        prog,
    )
    db = lambda part: style.mix[part] + rng.uniform(-2.5, 2.5)  # noqa: E731
    comp = rng.choice(style.comp, size=1 + (rng.random() < 0.4))
    parts = [(_chords(song, str(inst)), str(inst), db(0) - 4 * j) for j, inst in enumerate(comp)]
    if style.drums:
        parts.append((_drums(song), "drums", db(1)))
    if bass := str(rng.choice(style.bass)):
        parts.append((_bassline(song, bass), bass, db(2)))
    if rng.random() < 0.85:
        lead = str(rng.choice(style.lead))
        parts.append((_melody(song, lead), lead, db(3)))
    mix, drive = np.zeros(song.size), rng.uniform(*style.drive)
    for bus, inst, gain_db in parts:
        bus /= np.sqrt(np.mean(bus**2)) + 1e-9
        if inst == "dist":  # an overdriven amp, then its speaker cabinet
            bus = _band(np.tanh(drive * 0.5 * bus), 0, rng.uniform(3500, 7000), sr)
            bus /= np.sqrt(np.mean(bus**2)) + 1e-9
        bus *= 10 ** (gain_db / 20)
        mix += bus
    return _limit(_master(mix, style, sr, rng)[offset : offset + n]).astype(np.float32)


def _write_one(
    job: tuple[str, int], *, out_dir: Path, duration_s: float, sample_rate: int, seed: int
) -> None:
    genre, index = job
    clip = synthesize(genre, index, duration_s=duration_s, sample_rate=sample_rate, seed=seed)
    write_wav(out_dir / genre / f"{genre}.{index:05d}.wav", clip, sample_rate=sample_rate)


def write_synthetic(
    out_dir: Path,
    *,
    clips_per_genre: int,
    duration_s: float,
    sample_rate: int,
    seed: int,
    n_jobs: int = 0,
    genres=GENRES,
) -> list[Path]:
    """Write out_dir/<genre>/<genre>.<NNNNN>.wav for every genre of `genres` (GTZAN's, or some
    of them: data.genres) with n_jobs processes (0 = all cores); return the paths in
    genre/index order. The same arguments give the same bytes, and a genre's clips do not
    depend on which other genres are written."""
    if clips_per_genre < 1 or duration_s <= 0 or n_jobs < 0:
        raise GenreError("synthetic data needs clips_per_genre >= 1, duration_s > 0, n_jobs >= 0")
    unknown = [g for g in genres if g not in GENRES]
    if unknown:
        known = ", ".join(GENRES)
        raise GenreError(f"synthetic data has no genre {unknown[0]!r}; its genres: {known}")
    out_dir = Path(out_dir)
    genres = [g for g in GENRES if g in genres]  # in GENRES order, as the paths are returned
    jobs = [(g, i) for g in genres for i in range(clips_per_genre)]
    for g in genres:
        (out_dir / g).mkdir(parents=True, exist_ok=True)
    write = functools.partial(
        _write_one,
        out_dir=out_dir,
        duration_s=float(duration_s),
        sample_rate=sample_rate,
        seed=seed,
    )
    workers = min(n_jobs or os.cpu_count() or 1, len(jobs))
    with tqdm(total=len(jobs), desc="synthesizing", unit="clip", disable=None) as bar:
        if workers == 1:
            for _ in map(write, jobs):
                bar.update()
        else:
            with ProcessPoolExecutor(workers) as pool:
                try:
                    for _ in pool.map(write, jobs, chunksize=4):
                        bar.update()
                except BaseException:  # Ctrl-C, SIGTERM, an error: stop now, not after all jobs
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
    return [out_dir / g / f"{g}.{i:05d}.wav" for g, i in jobs]
