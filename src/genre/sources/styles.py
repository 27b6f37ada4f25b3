"""What each synthetic genre sounds like: instruments, drum patterns, kits, chords, styles.

Pure data (and the two small spectrum helpers it is built with); genre.sources.synthetic renders
clips from it. Every range or choice in a Style is drawn anew for each clip.
"""

from dataclasses import dataclass

import numpy as np

HARMONICS = np.arange(1, 61)  # harmonic numbers of the timbre spectra
HOLD = 1e3  # "decay" of sustained sounds, s


def _slope(p: float, odd: float = 1.0, top: int = 60) -> np.ndarray:
    """Harmonic amplitudes k**-p, even harmonics scaled by `odd`, none above `top`."""
    k = HARMONICS
    return np.where(top >= k, k ** -float(p) * np.where(k % 2 == 0, odd, 1.0), 0.0)


def _bump(centre: float, width: float) -> np.ndarray:
    return np.exp(-(((HARMONICS - centre) / width) ** 2))


TIMBRES = {  # harmonic spectra
    "sine": _slope(8),
    "soft": _slope(2.5),
    "warm": _slope(1.7),
    "bright": _slope(1.1),
    "saw": _slope(1.0),
    "square": _slope(1.0, odd=0.0),
    "hollow": _slope(2.2, odd=0.15),
    "string": _slope(1.1, top=30) * (1 + 1.5 * _bump(4, 2)),
    "reed": _slope(0.9, odd=0.6) * (1 + 3 * _bump(5, 3)),
    "organ": np.isin(HARMONICS, (1, 2, 3, 4, 6, 8)) / HARMONICS**0.5,
    "bell": 0.2 * _slope(8) + _bump(7, 1) + 0.4 * _bump(14, 1),
}


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
    "organ": Instrument((("organ", 0.01, HOLD, 1, 0), ("organ", 0.01, HOLD, 0.5, 7)), 6),
    "strings": Instrument(
        (("string", 0.25, HOLD, 1, -6), ("string", 0.3, HOLD, 0.8, 6)), 15, VIOLIN
    ),
    "violin": Instrument((("string", 0.08, HOLD, 1, 0),), 30, VIOLIN),
    "flute": Instrument((("hollow", 0.06, HOLD, 1, 0),), 15),
    "pad": Instrument((("saw", 0.4, HOLD, 1, -9), ("saw", 0.4, HOLD, 1, 9))),
    "acoustic": Instrument(
        (("bright", 0.002, 0.25, 0.8, 0), ("warm", 0.003, 1.2, 1, 0)),
        0,
        ((110, 3, 40), (230, 2, 80), (3000, 2, 1200)),
    ),
    "banjo": Instrument(
        (("bright", 0.001, 0.12, 1, 0), ("warm", 0.002, 0.4, 0.5, 0)),
        0,
        ((700, 3, 300), (2200, 4, 900)),
    ),
    "clean": Instrument(
        (("warm", 0.002, 0.15, 0.6, 0), ("soft", 0.003, 0.9, 1, 0)), 0, ((3000, 2, 1200),)
    ),
    "dist": Instrument((("saw", 0.003, 3.0, 1, 0), ("saw", 0.003, 3.0, 0.6, 12))),  # then an amp
    "sax": Instrument((("reed", 0.05, HOLD, 1, 0),), 20, ((500, 3, 200), (1500, 2, 500))),
    "harmonica": Instrument((("reed", 0.03, HOLD, 1, 0),), 35, ((1000, 4, 400), (2200, 2, 600))),
    "brass": Instrument((("saw", 0.03, HOLD, 1, 0),), 10, ((1200, 3, 500),)),
    "synth": Instrument((("square", 0.01, HOLD, 1, 0), ("saw", 0.01, 0.5, 0.4, 7)), 10),
    "vibes": Instrument((("bell", 0.002, 0.6, 0.5, 0), ("sine", 0.002, 1.5, 1, 0)), 12),
    "bass": Instrument((("warm", 0.004, 0.12, 0.5, 0), ("soft", 0.006, 1.5, 1, 0))),
    "upright": Instrument((("soft", 0.008, 0.5, 1, 0),), 0, ((90, 3, 40), (250, 1, 100))),
    "synthbass": Instrument((("saw", 0.005, 0.4, 0.6, 0), ("sine", 0.005, 0.8, 1, 0))),
    "sub": Instrument((("sine", 0.005, 1.5, 1, 0),)),
}
VOWELS = (
    (800, 1150, 2900),
    (400, 1600, 2700),
    (300, 2300, 3000),
    (450, 800, 2830),
    (325, 700, 2530),
)  # formants of a, e, i, o, u; sung by "voice" and "rap"
CHORDS = {  # chord qualities: semitones above the root
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "5": (0, 7, 12),
    "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "m7": (0, 3, 7, 10),
    "9": (0, 4, 7, 10, 14),
    "m9": (0, 3, 7, 10, 14),
    "13": (0, 4, 10, 14, 21),
    "m7b5": (0, 3, 6, 10),
}
SCALES = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "blues": (0, 3, 5, 6, 7, 10),
    "penta": (0, 2, 4, 7, 9),
    "mpenta": (0, 3, 5, 7, 10),
}
# Patterns have 16 steps per 4/4 bar: X accent, x hit, g ghost note. "crash" plays every 4th bar.
DRUMS = {
    "four": {
        "kick": "X...X...X...X...",
        "snare": "....X.......X...",
        "hat": "x.g.x.g.x.g.x.g.",
        "open": "..x...x...x...x.",
    },
    "backbeat": {
        "kick": "X.....x.X.......",
        "snare": "....X.......X...",
        "hat": "x.x.x.x.x.x.x.x.",
        "crash": "X...............",
    },
    "rock": {
        "kick": "X.x.....X.x..x..",
        "snare": "....X.......X..g",
        "hat": "x.x.x.x.x.x.x.x.",
        "crash": "X...............",
    },
    "shuffle": {"kick": "X.......x.......", "snare": "....X..g....X...", "hat": "x.x.x.x.x.x.x.x."},
    "ride": {
        "ride": "X...x.x.X...x.x.",
        "hat": "....x.......x...",
        "kick": "g.......g.......",
        "snare": "......g.......g.",
    },
    "double": {
        "kick": "xxxxxxxxxxxxxxxx",
        "snare": "....X.......X...",
        "ride": "x.x.x.x.x.x.x.x.",
        "crash": "X...............",
    },
    "gallop": {
        "kick": "x.xxx.xxx.xxx.xx",
        "snare": "....X.......X...",
        "hat": "x.x.x.x.x.x.x.x.",
        "crash": "X...............",
    },
    "boombap": {"kick": "X......x..X.....", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."},
    "trap": {"kick": "X.....x...x.....", "snare": "........X.......", "hat": "xgxgxgxgxgxxxgxg"},
    "onedrop": {"kick": "........X.......", "rim": "........X.......", "hat": "x.x.x.x.x.x.x.x."},
    "steppers": {"kick": "X...X...X...X...", "rim": "........X.......", "hat": "..x...x...x...x."},
    "train": {"kick": "X.......X.......", "snare": "ggggXgggggggXggg"},
}
KITS = {  # kick (start Hz, end Hz, decay s), snare (tone Hz, decay s, noise band Hz), cymbals
    "rock": ((120, 50, 0.25), (190, 0.15, 1500, 9000), (0.05, 0.3)),  # (hat decay s, level)
    "brush": ((90, 45, 0.2), (0, 0.25, 800, 5000), (0.08, 0.12)),
    "electro": ((150, 45, 0.6), (0, 0.2, 1000, 8000), (0.03, 0.3)),
    "metal": ((160, 55, 0.12), (220, 0.12, 2000, 10000), (0.04, 0.35)),
}
RHYTHMS = {  # how chords are played: 16-step pattern and gate (share of the gap held)
    "pad": ("x...............", 1.0),
    "half": ("x.......x.......", 1.0),
    "strum": ("x.x.x.x.x.x.x.x.", 0.9),
    "eighths": ("x.x.x.x.x.x.x.x.", 0.6),
    "skank": ("..x...x...x...x.", 0.25),
    "stab": ("x..x..x...x..x..", 0.35),
    "chug": ("x.xxx.xxx.xxx.xx", 0.5),
    "shuffle": ("x.x.x.x.x.x.x.x.", 0.5),
    "arp": ("xxxxxxxxxxxxxxxx", 2.0),
    "comp": ("", 1.0),  # comp: random hits per bar
}
BASSLINES = {  # 16-step pattern, semitones above the root it cycles through (4: the third)
    "root": ("x.......x.......", (0,)),
    "root8": ("x.x.x.x.x.x.x.x.", (0,)),
    "fifth": ("x.......x.......", (0, 7)),
    "octave": ("x.x.x.x.x.x.x.x.", (0, 12)),
    "walk": ("x...x...x...x...", ()),
    "sub": ("X......x..X.....", (0,)),
    "boogie": ("x.x.x.x.x.x.x.x.", (0, 4, 7, 9, 10, 9, 7, 4)),
    "melodic": ("x..x..x.x...x.x.", (0, 7, 12, 10, 7, 3)),
}


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
    "blues": Style(
        (60, 125),
        (0.6, 1.0),
        ("shuffle",),
        ("rock",),
        (
            "0:7 5:7 0:7 0:7 5:7 5:7 0:7 0:7 7:7 5:7 0:7 7:7",
            "0:7 5:7 0:7 0:7 5:7 5:7 0:7 0:7 7:7 5:7 0:7 0:7",
            "0:m7 0:m7 0:m7 0:m7 5:m7 5:m7 0:m7 0:m7 8:7 7:7 0:m7 7:7",
        ),
        "blues",
        ("piano", "organ"),
        ("shuffle", "comp", "half"),
        ("bass", "upright"),
        ("walk", "boogie"),
        ("harmonica", "voice", "dist"),
        drive=(1.5, 4),
        mix=(0, -5, -3, 0),
        level=(-28, -13),
    ),
    "classical": Style(
        (50, 110),
        (0, 0),
        (),
        (),
        (
            "0:maj 5:maj 7:7 0:maj",
            "0:maj 9:min 5:maj 7:7",
            "0:min 5:min 7:7 0:min",
            "0:maj 2:min 7:7 0:maj",
            "0:min 8:maj 3:maj 7:7",
        ),
        "major",
        ("strings", "piano"),
        ("pad", "half", "arp"),
        ("strings", ""),
        ("root",),
        ("violin", "flute", "piano"),
        mix=(0, 0, -6, -2),
        level=(-33, -15),
    ),
    "country": Style(
        (85, 160),
        (0, 0.3),
        ("train", "backbeat"),
        ("brush",),
        ("0:maj 5:maj 7:maj 0:maj", "0:maj 0:maj 5:maj 7:7", "0:maj 7:maj 9:min 5:maj"),
        "penta",
        ("acoustic", "acoustic", "banjo", "clean"),
        ("strum", "eighths"),
        ("bass",),
        ("fifth",),
        ("violin", "voice", "banjo"),
        mix=(0, -5, -6, 0),
    ),
    "disco": Style(
        (110, 132),
        (0, 0.1),
        ("four",),
        ("electro", "rock"),
        (
            "0:m7 5:7 0:m7 5:7",
            "0:m7 3:maj7 5:m7 7:m7",
            "0:maj7 2:m7 4:m7 2:m7",
            "9:m7 2:m7 7:7 0:maj7",
        ),
        "dorian",
        ("strings", "clean", "brass"),
        ("stab", "eighths", "pad"),
        ("bass", "synthbass"),
        ("octave",),
        ("strings", "voice", "brass"),
        mix=(-2, 0, -1, -3),
    ),
    "hiphop": Style(
        (78, 100),
        (0, 0.4),
        ("boombap", "trap"),
        ("electro",),
        ("0:min 0:min 8:maj 7:min", "0:m7 5:m7 0:m7 5:m7", "0:m9 3:maj7 0:m9 3:maj7"),
        "minor",
        ("epiano", "piano", "strings"),
        ("comp", "half"),
        ("sub",),
        ("sub",),
        ("rap",),
        mix=(-6, 0, 2, 0),
    ),
    "jazz": Style(
        (100, 220),
        (0.5, 0.9),
        ("ride",),
        ("brush",),
        (
            "2:m7 7:7 0:maj7 0:maj7",
            "2:m9 7:13 0:maj7 9:7",
            "0:maj7 9:m7 2:m7 7:7",
            "2:m7b5 7:7 0:m9 0:m9",
        ),
        "dorian",
        ("piano", "epiano", "vibes"),
        ("comp",),
        ("upright",),
        ("walk",),
        ("sax", "brass", "piano", "vibes"),
        mix=(0, -10, -2, 0),
        level=(-31, -14),
    ),
    "metal": Style(
        (100, 200),
        (0, 0),
        ("double", "gallop", "rock"),
        ("metal",),
        ("0:5 0:5 3:5 5:5", "0:5 1:5 0:5 10:5", "0:5 8:5 10:5 0:5", "0:5 5:5 6:5 5:5"),
        "phrygian",
        ("dist",),
        ("chug", "eighths"),
        ("bass",),
        ("root8",),
        ("dist", "voice"),
        drive=(6, 40),
        mix=(0, -1, -5, -6),
    ),
    "pop": Style(
        (90, 130),
        (0, 0.1),
        ("four", "backbeat"),
        ("electro", "rock"),
        ("0:maj 7:maj 9:min 5:maj", "9:min 5:maj 0:maj 7:maj", "0:maj 5:maj 9:min 7:maj"),
        "major",
        ("pad", "piano", "synth"),
        ("pad", "eighths", "stab"),
        ("synthbass", "bass"),
        ("octave", "root8"),
        ("voice", "voice", "synth"),
        mix=(-2, -2, -3, 3),
    ),
    "reggae": Style(
        (60, 90),
        (0, 0.3),
        ("onedrop", "steppers"),
        ("rock",),
        (
            "0:min 5:min 0:min 5:min",
            "0:maj 5:maj 7:maj 5:maj",
            "0:min 10:maj 0:min 10:maj",
            "0:maj 9:min 5:maj 7:maj",
        ),
        "mpenta",
        ("organ", "clean"),
        ("skank",),
        ("bass",),
        ("melodic",),
        ("voice", "organ", "brass"),
        mix=(-4, -3, 0, -2),
    ),
    "rock": Style(
        (100, 160),
        (0, 0.1),
        ("backbeat", "rock"),
        ("rock",),
        (
            "0:5 10:5 5:5 0:5",
            "0:5 5:5 7:5 5:5",
            "0:maj 7:maj 9:min 5:maj",
            "9:min 5:maj 0:maj 7:maj",
        ),
        "mpenta",
        ("dist", "dist", "clean"),
        ("eighths", "strum"),
        ("bass",),
        ("root8",),
        ("voice", "dist"),
        drive=(2, 12),
        mix=(0, -2, -4, -2),
    ),
}
