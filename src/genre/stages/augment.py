"""Stage `augment`: plan the augmented clips of every track (data/augmented/manifest.csv).

Reads params `augment` and data/raw/index.csv; writes no audio (see genre.features.augment.apply).
"""

from genre import params
from genre.errors import run_cli
from genre.features.augment import build_manifest
from genre.files import read_csv, write_csv
from genre.paths import INDEX, MANIFEST


def main() -> None:
    augment = params.load("augment")
    index = read_csv(INDEX, columns=["track_id", "genre"], made_by="download")
    manifest = build_manifest(index, params=augment)
    write_csv(manifest, MANIFEST)
    counts = manifest["transform"].value_counts()
    kinds = ", ".join(f"{counts.get(t, 0)} {t}" for t in ("original", "noise", "shift", "stretch"))
    print(f"augment: {len(index)} tracks -> {len(manifest)} clips ({kinds}) in {MANIFEST}")


if __name__ == "__main__":
    run_cli(main)
