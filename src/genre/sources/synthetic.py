"""Embedded generator of GTZAN-shaped audio: the default data source (real GTZAN is optional).

Genres differ the way real ones do: by rhythm (tempo, drum pattern, swing), harmony
(progressions, chord types, mode) and timbre (instruments, envelopes, distortion, mix). Each clip
draws its own key, tempo, levels, instrument mix, recording colour (random EQ) and noise floor,
so neighbouring genres overlap and no single loudness or brightness statistic gives one away.
"""

import functools
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import signal
from tqdm import tqdm

from genre import GENRES
from genre.audio import write_wav
from genre.errors import GenreError

_N = 2048  # wavetable length (one period)
_K = np.arange(1, 61)  # harmonic numbers
_SIN = np.sin(2 * np.pi * _K[:, None] * np.arange(_N) / _N)
_HOLD = 1e3  # "decay" of sustained sounds, s


def _slope(p: float, odd: float = 1.0, top: int = 60) -> np.ndarray:
    """Harmonic amplitudes k**-p, even harmonics scaled by `odd`, none above `top`."""
    return np.where(top >= _K, _K ** -float(p) * np.where(_K % 2 == 0, odd, 1.0), 0.0)


def _bump(centre: float, width: float) -> np.ndarray:
    return np.exp(-(((_K - centre) / width) ** 2))


TIMBRES = {  # harmonic spectra
    "sine": _slope(8), "soft": _slope(2.5), "warm": _slope(1.7), "bright": _slope(1.1),
    "saw": _slope(1.0), "square": _slope(1.0, odd=0.0), "hollow": _slope(2.2, odd=0.15),
    "string": _slope(1.1, top=30) * (1 + 1.5 * _bump(4, 2)),
    "reed": _slope(0.9, odd=0.6) * (1 + 3 * _bump(5, 3)),
    "organ": np.isin(_K, (1, 2, 3, 4, 6, 8)) / _K**0.5,
    "bell": 0.2 * _slope(8) + _bump(7, 1) + 0.4 * _bump(14, 1),
}  # fmt: skip


@dataclass(frozen=True)
class Instrument:
    """Layers of (timbre, attack s, decay s, gain, detune cents), vibrato depth (cents) and
    body resonances (Hz, gain, bandwidth Hz) that colour every note at fixed frequencies."""

    layers: tuple[tuple[str, float, float, float, float], ...]
    vibrato: float = 0.0
    body: tuple[tuple[float, float, float], ...] = ()


VIOLIN = ((280, 3, 80), (500, 2, 150), (2500, 4, 700))
INSTRUMENTS = {
    "piano": Instrument((("bright", 0.002, 0.3, 0.6, 0), ("soft", 0.002, 2.5, 1, 0))),
    "epiano": Instrument((("bell", 0.002, 0.15, 0.5, 0), ("sine", 0.004, 2.0, 1, 0))),
    "organ": Instrument((("organ", 0.01, _HOLD, 1, 0), ("organ", 0.01, _HOLD, 0.5, 7)), 6),
    "strings": Instrument((("string", 0.25, _HOLD, 1, -6), ("string", 0.3, _HOLD, 0.8, 6)), 15,
                          VIOLIN),
    "violin": Instrument((("string", 0.08, _HOLD, 1, 0),), 30, VIOLIN),
    "flute": Instrument((("hollow", 0.06, _HOLD, 1, 0),), 15),
    "pad": Instrument((("saw", 0.4, _HOLD, 1, -9), ("saw", 0.4, _HOLD, 1, 9))),
    "acoustic": Instrument((("bright", 0.002, 0.25, 0.8, 0), ("warm", 0.003, 1.2, 1, 0)), 0,
                           ((110, 3, 40), (230, 2, 80), (3000, 2, 1200))),
    "banjo": Instrument((("bright", 0.001, 0.12, 1, 0), ("warm", 0.002, 0.4, 0.5, 0)), 0,
                        ((700, 3, 300), (2200, 4, 900))),
    "clean": Instrument((("warm", 0.002, 0.15, 0.6, 0), ("soft", 0.003, 0.9, 1, 0)), 0,
                        ((3000, 2, 1200),)),
    "dist": Instrument((("saw", 0.003, 3.0, 1, 0), ("saw", 0.003, 3.0, 0.6, 12))),  # then an amp
    "sax": Instrument((("reed", 0.05, _HOLD, 1, 0),), 20, ((500, 3, 200), (1500, 2, 500))),
    "harmonica": Instrument((("reed", 0.03, _HOLD, 1, 0),), 35, ((1000, 4, 400), (2200, 2, 600))),
    "brass": Instrument((("saw", 0.03, _HOLD, 1, 0),), 10, ((1200, 3, 500),)),
    "synth": Instrument((("square", 0.01, _HOLD, 1, 0), ("saw", 0.01, 0.5, 0.4, 7)), 10),
    "vibes": Instrument((("bell", 0.002, 0.6, 0.5, 0), ("sine", 0.002, 1.5, 1, 0)), 12),
    "bass": Instrument((("warm", 0.004, 0.12, 0.5, 0), ("soft", 0.006, 1.5, 1, 0))),
    "upright": Instrument((("soft", 0.008, 0.5, 1, 0),), 0, ((90, 3, 40), (250, 1, 100))),
    "synthbass": Instrument((("saw", 0.005, 0.4, 0.6, 0), ("sine", 0.005, 0.8, 1, 0))),
    "sub": Instrument((("sine", 0.005, 1.5, 1, 0),)),
}  # fmt: skip
VOWELS = ((800, 1150, 2900), (400, 1600, 2700), (300, 2300, 3000), (450, 800, 2830),
          (325, 700, 2530))  # formants of a, e, i, o, u; sung by "voice" and "rap"  # fmt: skip
CHORDS = {  # chord qualities: semitones above the root
    "maj": (0, 4, 7), "min": (0, 3, 7), "5": (0, 7, 12), "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11), "m7": (0, 3, 7, 10), "9": (0, 4, 7, 10, 14),
    "m9": (0, 3, 7, 10, 14), "13": (0, 4, 10, 14, 21), "m7b5": (0, 3, 6, 10),
}  # fmt: skip
SCALES = {
    "major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10), "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "blues": (0, 3, 5, 6, 7, 10), "penta": (0, 2, 4, 7, 9), "mpenta": (0, 3, 5, 7, 10),
}  # fmt: skip
# Patterns have 16 steps per 4/4 bar: X accent, x hit, g ghost note. "crash" plays every 4th bar.
DRUMS = {
    "four": {"kick": "X...X...X...X...", "snare": "....X.......X...",
             "hat": "x.g.x.g.x.g.x.g.", "open": "..x...x...x...x."},
    "backbeat": {"kick": "X.....x.X.......", "snare": "....X.......X...",
                 "hat": "x.x.x.x.x.x.x.x.", "crash": "X..............."},
    "rock": {"kick": "X.x.....X.x..x..", "snare": "....X.......X..g",
             "hat": "x.x.x.x.x.x.x.x.", "crash": "X..............."},
    "shuffle": {"kick": "X.......x.......", "snare": "....X..g....X...",
                "hat": "x.x.x.x.x.x.x.x."},
    "ride": {"ride": "X...x.x.X...x.x.", "hat": "....x.......x...",
             "kick": "g.......g.......", "snare": "......g.......g."},
    "double": {"kick": "xxxxxxxxxxxxxxxx", "snare": "....X.......X...",
               "ride": "x.x.x.x.x.x.x.x.", "crash": "X..............."},
    "gallop": {"kick": "x.xxx.xxx.xxx.xx", "snare": "....X.......X...",
               "hat": "x.x.x.x.x.x.x.x.", "crash": "X..............."},
    "boombap": {"kick": "X......x..X.....", "snare": "....X.......X...",
                "hat": "x.x.x.x.x.x.x.x."},
    "trap": {"kick": "X.....x...x.....", "snare": "........X.......", "hat": "xgxgxgxgxgxxxgxg"},
    "onedrop": {"kick": "........X.......", "rim": "........X.......", "hat": "x.x.x.x.x.x.x.x."},
    "steppers": {"kick": "X...X...X...X...", "rim": "........X.......", "hat": "..x...x...x...x."},
    "train": {"kick": "X.......X.......", "snare": "ggggXgggggggXggg"},
}  # fmt: skip
KITS = {  # kick (start Hz, end Hz, decay s), snare (tone Hz, decay s, noise band Hz), cymbals
    "rock": ((120, 50, 0.25), (190, 0.15, 1500, 9000), (0.05, 0.3)),  # (hat decay s, level)
    "brush": ((90, 45, 0.2), (0, 0.25, 800, 5000), (0.08, 0.12)),
    "electro": ((150, 45, 0.6), (0, 0.2, 1000, 8000), (0.03, 0.3)),
    "metal": ((160, 55, 0.12), (220, 0.12, 2000, 10000), (0.04, 0.35)),
}
RHYTHMS = {  # how chords are played: 16-step pattern and gate (share of the gap held)
    "pad": ("x...............", 1.0), "half": ("x.......x.......", 1.0),
    "strum": ("x.x.x.x.x.x.x.x.", 0.9), "eighths": ("x.x.x.x.x.x.x.x.", 0.6),
    "skank": ("..x...x...x...x.", 0.25), "stab": ("x..x..x...x..x..", 0.35),
    "chug": ("x.xxx.xxx.xxx.xx", 0.5), "shuffle": ("x.x.x.x.x.x.x.x.", 0.5),
    "arp": ("xxxxxxxxxxxxxxxx", 2.0), "comp": ("", 1.0),  # comp: random hits per bar
}  # fmt: skip
BASSLINES = {  # 16-step pattern, semitones above the root it cycles through (4: the third)
    "root": ("x.......x.......", (0,)), "root8": ("x.x.x.x.x.x.x.x.", (0,)),
    "fifth": ("x.......x.......", (0, 7)), "octave": ("x.x.x.x.x.x.x.x.", (0, 12)),
    "walk": ("x...x...x...x...", ()), "sub": ("X......x..X.....", (0,)),
    "boogie": ("x.x.x.x.x.x.x.x.", (0, 4, 7, 9, 10, 9, 7, 4)),
    "melodic": ("x..x..x.x...x.x.", (0, 7, 12, 10, 7, 3)),
}  # fmt: skip


@dataclass(frozen=True)
class Style:
    """How one genre sounds; every range or choice is drawn anew for each clip."""

    tempo: tuple[float, float]  # BPM
    swing: tuple[float, float]  # 0 straight .. 1 full triplet shuffle
    drums: tuple[str, ...]  # DRUMS patterns; () = no drums
    kit: tuple[str, ...]  # KITS
    chords: tuple[str, ...]  # progressions: "root:quality" per bar, root in semitones
    scale: str  # SCALES entry for melodies (minor progressions turn "major" into "minor")
    comp: tuple[str, ...]  # chord instruments
    rhythm: tuple[str, ...]  # RHYTHMS
    bass: tuple[str, ...]  # bass instruments ("" = none)
    line: tuple[str, ...]  # BASSLINES
    lead: tuple[str, ...]  # melody instruments; "voice" sings, "rap" raps
    drive: tuple[float, float] = (1.0, 1.0)  # distortion gain of "dist" guitars
    mix: tuple[float, float, float, float] = (0, 0, 0, 0)  # dB of chords, drums, bass, lead
    level: tuple[float, float] = (-27, -12)  # clip RMS, dBFS


STYLES = {
    "blues": Style((60, 125), (0.6, 1.0), ("shuffle",), ("rock",),
                   ("0:7 5:7 0:7 0:7 5:7 5:7 0:7 0:7 7:7 5:7 0:7 7:7",
                    "0:7 5:7 0:7 0:7 5:7 5:7 0:7 0:7 7:7 5:7 0:7 0:7",
                    "0:m7 0:m7 0:m7 0:m7 5:m7 5:m7 0:m7 0:m7 8:7 7:7 0:m7 7:7"), "blues",
                   ("piano", "organ"), ("shuffle", "comp", "half"), ("bass", "upright"),
                   ("walk", "boogie"), ("harmonica", "voice", "dist"), drive=(1.5, 4),
                   mix=(0, -5, -3, 0), level=(-28, -13)),
    "classical": Style((50, 110), (0, 0), (), (),
                       ("0:maj 5:maj 7:7 0:maj", "0:maj 9:min 5:maj 7:7", "0:min 5:min 7:7 0:min",
                        "0:maj 2:min 7:7 0:maj", "0:min 8:maj 3:maj 7:7"), "major",
                       ("strings", "piano"), ("pad", "half", "arp"), ("strings", ""), ("root",),
                       ("violin", "flute", "piano"), mix=(0, 0, -6, -2), level=(-33, -15)),
    "country": Style((85, 160), (0, 0.3), ("train", "backbeat"), ("brush",),
                     ("0:maj 5:maj 7:maj 0:maj", "0:maj 0:maj 5:maj 7:7",
                      "0:maj 7:maj 9:min 5:maj"), "penta", ("acoustic", "acoustic", "banjo",
                      "clean"), ("strum", "eighths"), ("bass",), ("fifth",),
                     ("violin", "voice", "banjo"), mix=(0, -5, -6, 0)),
    "disco": Style((110, 132), (0, 0.1), ("four",), ("electro", "rock"),
                   ("0:m7 5:7 0:m7 5:7", "0:m7 3:maj7 5:m7 7:m7", "0:maj7 2:m7 4:m7 2:m7",
                    "9:m7 2:m7 7:7 0:maj7"), "dorian", ("strings", "clean", "brass"),
                   ("stab", "eighths", "pad"), ("bass", "synthbass"), ("octave",),
                   ("strings", "voice", "brass"), mix=(-2, 0, -1, -3)),
    "hiphop": Style((78, 100), (0, 0.4), ("boombap", "trap"), ("electro",),
                    ("0:min 0:min 8:maj 7:min", "0:m7 5:m7 0:m7 5:m7", "0:m9 3:maj7 0:m9 3:maj7"),
                    "minor", ("epiano", "piano", "strings"), ("comp", "half"), ("sub",), ("sub",),
                    ("rap",), mix=(-6, 0, 2, 0)),
    "jazz": Style((100, 220), (0.5, 0.9), ("ride",), ("brush",),
                  ("2:m7 7:7 0:maj7 0:maj7", "2:m9 7:13 0:maj7 9:7", "0:maj7 9:m7 2:m7 7:7",
                   "2:m7b5 7:7 0:m9 0:m9"), "dorian", ("piano", "epiano", "vibes"), ("comp",),
                  ("upright",), ("walk",), ("sax", "brass", "piano", "vibes"),
                  mix=(0, -10, -2, 0), level=(-31, -14)),
    "metal": Style((100, 200), (0, 0), ("double", "gallop", "rock"), ("metal",),
                   ("0:5 0:5 3:5 5:5", "0:5 1:5 0:5 10:5", "0:5 8:5 10:5 0:5", "0:5 5:5 6:5 5:5"),
                   "phrygian", ("dist",), ("chug", "eighths"), ("bass",), ("root8",),
                   ("dist", "voice"), drive=(6, 40), mix=(0, -1, -5, -6)),
    "pop": Style((90, 130), (0, 0.1), ("four", "backbeat"), ("electro", "rock"),
                 ("0:maj 7:maj 9:min 5:maj", "9:min 5:maj 0:maj 7:maj", "0:maj 5:maj 9:min 7:maj"),
                 "major", ("pad", "piano", "synth"), ("pad", "eighths", "stab"),
                 ("synthbass", "bass"), ("octave", "root8"), ("voice", "voice", "synth"),
                 mix=(-2, -2, -3, 3)),
    "reggae": Style((60, 90), (0, 0.3), ("onedrop", "steppers"), ("rock",),
                    ("0:min 5:min 0:min 5:min", "0:maj 5:maj 7:maj 5:maj",
                     "0:min 10:maj 0:min 10:maj", "0:maj 9:min 5:maj 7:maj"), "mpenta",
                    ("organ", "clean"), ("skank",), ("bass",), ("melodic",),
                    ("voice", "organ", "brass"), mix=(-4, -3, 0, -2)),
    "rock": Style((100, 160), (0, 0.1), ("backbeat", "rock"), ("rock",),
                  ("0:5 10:5 5:5 0:5", "0:5 5:5 7:5 5:5", "0:maj 7:maj 9:min 5:maj",
                   "9:min 5:maj 0:maj 7:maj"), "mpenta", ("dist", "dist", "clean"),
                  ("eighths", "strum"), ("bass",), ("root8",), ("voice", "dist"), drive=(2, 12),
                  mix=(0, -2, -4, -2)),
}  # fmt: skip


def _band(x: np.ndarray, lo: float, hi: float, sr: int, order: int = 2) -> np.ndarray:
    """Band-pass x (lo=0: low-pass; hi >= Nyquist: high-pass); limits clamped to the rate."""
    hi = min(hi, 0.45 * sr)
    lo = min(lo, 0.9 * hi)
    kind, edges = ("lowpass", hi) if lo <= 0 else ("highpass", lo) if hi >= 0.45 * sr else (
        "bandpass", (lo, hi))  # fmt: skip
    return signal.sosfilt(signal.butter(order, edges, kind, fs=sr, output="sos"), x)


def _wave(amps: np.ndarray, f0: float, phase: np.ndarray, sr: int) -> np.ndarray:
    """Band-limited wavetable oscillator: harmonic amplitudes -> samples at `phase` (cycles)."""
    k = int(np.clip(sr / 2 / f0, 1, len(_K)))
    table = amps[:k] @ _SIN[:k]
    table /= np.abs(table).max() + 1e-9
    return table[(phase * _N).astype(np.int64) & (_N - 1)]


def _resonate(body: tuple[tuple[float, float, float], ...], f0: float) -> np.ndarray:
    """Gain of each harmonic of f0 through resonances (Hz, gain, bandwidth Hz)."""
    return 1 + sum(g / (1 + ((_K * f0 - hz) / bw) ** 2) for hz, g, bw in body)


@functools.lru_cache(maxsize=512)
def _note(name: str, midi: float, dur: float, sr: int) -> np.ndarray:
    """One note of an instrument (cached: a clip repeats its notes; callers must not modify)."""
    inst = INSTRUMENTS[name]
    t = np.arange(max(int(dur * sr), 16)) / sr
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    vib = inst.vibrato / 1731 * (1 - np.cos(2 * np.pi * 5.5 * t)) / (2 * np.pi * 5.5)
    body, out = _resonate(inst.body, f0), np.zeros_like(t)
    for timbre, attack, decay, gain, detune in inst.layers:
        f = f0 * 2 ** (detune / 1200)
        env = gain * (1 - np.exp(-t / attack)) * np.exp(-t / decay)
        out += env * _wave(TIMBRES[timbre] * body, f, f * (t + vib), sr)
    return out * np.minimum((t[-1] - t) / 0.01, 1)  # 10 ms release: no clicks


def _voice(midi: float, dur: float, sr: int, rng: np.random.Generator, rap: bool) -> np.ndarray:
    """A sung (vibrato) or rapped (falling pitch) syllable: a buzz through vowel formants."""
    t = np.arange(max(int(dur * sr), 16)) / sr
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    bend = -0.12 * t / t[-1] if rap else 0.004 * np.sin(2 * np.pi * 5 * t) * np.minimum(t / 0.3, 1)
    vowel = zip(VOWELS[rng.integers(len(VOWELS))], (20, 12, 5), (90, 110, 150), strict=True)
    out = _wave(_resonate(tuple(vowel), f0) / _K, f0, np.cumsum(f0 * (1 + bend)) / sr, sr)
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
    return {"kick": kick, "snare": hit(_band(noise, s_lo * r(), s_hi, sr) + tone, s_dec * r()),
            "hat": hit(metal, h_dec * r()), "open": hit(metal, 0.25),
            "crash": hit(1.3 * metal, 0.3), "rim": hit(np.sin(2 * np.pi * 1700 * t), 0.015),
            "ride": hit(cym * 0.7 * _band(noise, 3000, 8000, sr) * ring, 0.3)}  # fmt: skip


def _add(bus: np.ndarray, x: np.ndarray, sec: float, sr: int) -> None:
    """Mix x into bus starting at `sec` seconds (cut at the end of the bus)."""
    i = max(int(sec * sr), 0)
    m = min(len(x), len(bus) - i)
    if m > 0:
        bus[i : i + m] += x[:m]


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
    for voice, pattern in DRUMS[str(rng.choice(s.style.drums))].items():
        for b in range(0, s.bars, 4 if voice == "crash" else 1):
            fill = voice == "snare" and b % 4 == 3 and rng.random() < 0.4
            for i, c in enumerate(pattern[:12] + "xxxX" if fill else pattern):
                if c != "." and rng.random() > 0.04:  # now and then a hit is left out
                    hit = kit[voice] * velocity[c] * rng.uniform(0.8, 1)
                    _add(bus, hit, s.when(b * 16 + i), s.sr)
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
                _add(bus, vel * _note(inst, float(m), round(dur, 2), s.sr), t0 + i * strum, s.sr)
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
            _add(bus, rng.uniform(0.7, 1) * note, s.when(b * 16 + step), s.sr)
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
        hits = "".join("x" + "." * (grid - 1) if rng.random() < density else "." * grid
                       for _ in range(32 // grid))  # fmt: skip
        for step, gap in s.onsets(hits):
            idx = int(np.clip(idx + rng.choice((-2, -1, -1, 0, 1, 1, 2)), 0, len(pitches) - 1))
            dur = gap * s.spb / 4 * 0.9
            if inst in ("voice", "rap"):
                note = _voice(pitches[idx], dur, s.sr, rng, rap)
                if rap or rng.random() < 0.3:
                    m = min(len(note), len(hiss))
                    note[:m] += 0.4 * hiss[:m] * np.linspace(1, 0, m)
            else:
                note = _note(inst, pitches[idx], round(dur, 2), s.sr)
            _add(bus, rng.uniform(0.7, 1) * note, s.when(b * 16 + step), s.sr)
    return bus


def _master(x: np.ndarray, style: Style, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Recording colour (rumble filter, random shelves and EQ bump), noise floor, level."""
    x = _band(x, rng.uniform(20, 60), sr, sr)
    x = x + rng.uniform(-0.6, 1.5) * _band(x, 2000, sr, sr, order=1)  # treble shelf
    x = x + rng.uniform(-0.5, 1.0) * _band(x, 0, 250, sr, order=1)  # bass shelf
    centre = np.exp(rng.uniform(np.log(150), np.log(6000)))
    x = x + rng.uniform(-0.3, 0.6) * _band(x, centre / 1.5, centre * 1.5, sr)
    noise = signal.lfilter([1.0], [1.0, -rng.uniform(0, 0.98)], rng.standard_normal(len(x)))
    x = x + np.std(x) * 10 ** (rng.uniform(-65, -35) / 20) * noise / np.std(noise)
    x *= 10 ** (rng.uniform(*style.level) / 20) / np.sqrt(np.mean(x**2))
    return 0.99 * np.tanh(x / 0.99)  # a soft limiter: never clips


def synthesize(genre: str, index: int, *, duration_s: float, sample_rate: int,
               seed: int) -> np.ndarray:  # fmt: skip
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
    song = _Song(style, rng, sr, offset + n + sr, int((offset / sr + duration_s) / (4 * spb)) + 2,
                 int(rng.integers(12)), spb, rng.uniform(*style.swing), prog)  # fmt: skip
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
        bus = bus / (np.sqrt(np.mean(bus**2)) + 1e-9)
        if inst == "dist":  # an overdriven amp, then its speaker cabinet
            bus = _band(np.tanh(drive * 0.5 * bus), 0, rng.uniform(3500, 7000), sr)
            bus /= np.sqrt(np.mean(bus**2)) + 1e-9
        mix += 10 ** (gain_db / 20) * bus
    return _master(mix, style, sr, rng)[offset : offset + n].astype(np.float32)


def _write_one(job: tuple[str, int], *, out_dir: Path, duration_s: float, sample_rate: int,
               seed: int) -> None:  # fmt: skip
    genre, index = job
    clip = synthesize(genre, index, duration_s=duration_s, sample_rate=sample_rate, seed=seed)
    write_wav(out_dir / genre / f"{genre}.{index:05d}.wav", clip, sample_rate=sample_rate)


def write_synthetic(out_dir: Path, *, clips_per_genre: int, duration_s: float, sample_rate: int,
                    seed: int, n_jobs: int = 0) -> list[Path]:  # fmt: skip
    """Write out_dir/<genre>/<genre>.<NNNNN>.wav for every genre (n_jobs processes, 0 = all
    cores); return the paths in genre/index order. The same arguments give the same bytes."""
    if clips_per_genre < 1 or duration_s <= 0 or n_jobs < 0:
        raise GenreError("synthetic data needs clips_per_genre >= 1, duration_s > 0, n_jobs >= 0")
    out_dir = Path(out_dir)
    jobs = [(g, i) for g in GENRES for i in range(clips_per_genre)]
    for g in GENRES:
        (out_dir / g).mkdir(parents=True, exist_ok=True)
    write = functools.partial(_write_one, out_dir=out_dir, duration_s=float(duration_s),
                              sample_rate=sample_rate, seed=seed)  # fmt: skip
    workers = min(n_jobs or os.cpu_count() or 1, len(jobs))
    with tqdm(total=len(jobs), desc="synthesizing", unit="clip", disable=None) as bar:
        if workers == 1:
            for _ in map(write, jobs):
                bar.update()
        else:
            with ProcessPoolExecutor(workers) as pool:
                for _ in pool.map(write, jobs, chunksize=4):
                    bar.update()
    return [out_dir / g / f"{g}.{i:05d}.wav" for g, i in jobs]
