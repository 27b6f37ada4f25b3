"""Stage `download`: fill data/raw with clips from `data.source`, in GTZAN's layout.

Writes data/raw/<genre>/<genre>.<NNNNN>.wav (mono 16-bit at data.sample_rate), index.csv and
skipped.csv. The folder is built in a temporary folder and replaces data/raw only on success,
so a failed run leaves the previous data/raw as it was.
"""

from collections import Counter
from pathlib import Path

import pandas as pd
import soundfile as sf

from genre import GENRES, params
from genre.errors import GenreError, run_cli
from genre.files import atomic_dir, md5sum
from genre.params import DataParams
from genre.paths import RAW_DIR
from genre.sources import local, remote

INDEX_COLUMNS = ["track_id", "genre", "path", "seconds", "sample_rate", "md5", "note"]
SKIPPED_COLUMNS = ["path", "reason"]
ARCHIVES = {  # source -> (url, md5)
    "gtzan": (remote.GTZAN_URL, remote.GTZAN_MD5),
    "gtzan-mini": (remote.GTZAN_MINI_URL, remote.GTZAN_MINI_MD5),
}


def build(out_dir: Path, data: DataParams, *, cache_dir: Path | None = None) -> local.Imported:
    """Write the clips of data.source into out_dir; return conversion notes and skipped files."""
    if data.source == "synthetic":
        from genre.sources.synthetic import write_synthetic

        write_synthetic(
            out_dir,
            clips_per_genre=data.clips_per_genre,
            duration_s=data.duration_s,
            sample_rate=data.sample_rate,
            seed=data.seed,
        )
        return local.Imported()
    if data.source == "local":
        return local.import_folder(Path(data.local_path), out_dir, sample_rate=data.sample_rate)
    url, md5 = ARCHIVES[data.source]
    return remote.import_archive(
        url, out_dir, known_hash=md5, sample_rate=data.sample_rate, cache_dir=cache_dir
    )


def index_clips(out_dir: Path, notes: dict[str, str]) -> pd.DataFrame:
    """One index.csv row per WAV written under out_dir/<genre>/, in genre then track order."""
    rows = []
    for path in out_dir.glob("*/*.wav"):
        info = sf.info(path)
        rows.append(
            {
                "track_id": path.stem,
                "genre": path.parent.name,
                "path": path.relative_to(out_dir).as_posix(),
                "seconds": round(info.frames / info.samplerate, 3),
                "sample_rate": info.samplerate,
                "md5": md5sum(path),
                "note": notes.get(path.stem, ""),
            }
        )
    index = pd.DataFrame(rows, columns=INDEX_COLUMNS)
    order = index.genre.map({g: i for i, g in enumerate(GENRES)}).fillna(len(GENRES))
    return index.assign(_order=order).sort_values(["_order", "track_id"]).drop(columns="_order")


def describe(data: DataParams) -> str:
    if data.source == "local":
        return f"local folder {data.local_path}"
    if data.source in ARCHIVES:
        return f"{data.source} ({ARCHIVES[data.source][0]})"
    return f"synthetic ({data.clips_per_genre} clips per genre, seed {data.seed})"


def report(
    index: pd.DataFrame, skipped: list[tuple[str, str]], data: DataParams, raw_dir: Path
) -> str:
    """What the stage did, for the terminal: counts, conversions, and every skipped file."""
    per_genre = index.genre.value_counts()
    lines = [
        f"{raw_dir}: {len(index)} clips from {describe(data)}; "
        + ", ".join(f"{g} {per_genre[g]}" for g in GENRES if g in per_genre)
    ]
    converted = index.note[index.note != ""]
    if len(converted):
        kinds = Counter(part for note in converted for part in note.split("; "))
        lines.append(
            f"converted {len(converted)} clips to mono {data.sample_rate} Hz: "
            + ", ".join(f"{kind} ({n})" for kind, n in sorted(kinds.items()))
        )
    if skipped:
        lines.append(f"skipped {len(skipped)} files (listed in {raw_dir / 'skipped.csv'}):")
        lines += [f"  {path}: {reason}" for path, reason in skipped]
    return "\n".join(lines)


def download(data: DataParams, raw_dir: Path = RAW_DIR, *, cache_dir: Path | None = None) -> str:
    """Rebuild raw_dir from data.source (all or nothing); return the report to print."""
    raw_dir = Path(raw_dir)
    with atomic_dir(raw_dir) as tmp:
        imported = build(tmp, data, cache_dir=cache_dir)
        index = index_clips(tmp, imported.notes)
        if index.empty:
            first = (
                f" (e.g. {imported.skipped[0][0]}: {imported.skipped[0][1]})"
                if imported.skipped
                else ""
            )
            raise GenreError(
                f"no readable clips from {describe(data)}: all "
                f"{len(imported.skipped)} files were skipped{first}; "
                f"{raw_dir} was left unchanged"
            )
        index.to_csv(tmp / "index.csv", index=False)
        pd.DataFrame(imported.skipped, columns=SKIPPED_COLUMNS).to_csv(
            tmp / "skipped.csv", index=False
        )
    return report(index, imported.skipped, data, raw_dir)


def main() -> None:
    print(download(params.load("data")))


if __name__ == "__main__":
    run_cli(main)
