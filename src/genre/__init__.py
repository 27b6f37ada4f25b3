"""Music genre classification from handcrafted audio features: GTZAN's 10 genres by default,
or the genres of your own data (data.source: local)."""

import re

from genre import kernels

# NumPy, OpenBLAS and TensorFlow held to their AVX2 kernels, set before any of them loads (this
# runs first in every stage, command and worker that imports the package): see genre.kernels.
kernels.hold()

# GTZAN's 10 genres, alphabetical: the genres of the GTZAN-shaped sources (synthetic, gtzan,
# gtzan-mini). Everything downstream of `download` takes its genres from the data instead
# (genre_list), so a local folder of other genres works the same way.
GENRES = (
    "blues",
    "classical",
    "country",
    "disco",
    "hiphop",
    "jazz",
    "metal",
    "pop",
    "reggae",
    "rock",
)
ARCHITECTURES = ("mlp", "rnn", "lstm", "bilstm")
# What a genre may be called: it names a folder, starts clip names (<genre>.<NNNNN>.wav) and
# columns (prob_<genre>), so a lowercase letter, then lowercase letters, digits, - and _; not
# `nan` or `null`, which CSV readers take for a missing value.
GENRE_NAME = re.compile(r"(?!(?:nan|null)$)[a-z][a-z0-9_-]*")
GENRE_NAME_RULE = "a lowercase letter, then lowercase letters, digits, - or _"


def genre_list(names) -> tuple[str, ...]:
    """A data set's genres, in the models' output order: its distinct genre names, sorted
    (GTZAN's GENRES are sorted already, so the default order is GENRES')."""
    return tuple(sorted(set(names)))
