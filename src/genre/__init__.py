"""Music genre classification from handcrafted audio features (GTZAN's 10 genres)."""

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
