"""The raw data set: the clips of `data.source` imported into data/raw, all or nothing.

Writes data/raw/<genre>/<genre>.<id>.wav (mono 16-bit), index.csv (genre then track order),
skipped.csv (every file not imported, and why) and suspicious.csv (clips kept but likely faulty);
the folder replaces data/raw only when complete.
"""

import shutil
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import soundfile as sf

from genre import GENRES, genre_list
from genre.errors import GenreError, printable
from genre.files import atomic_dir, md5sum
from genre.params import DataParams
from genre.paths import INDEX, RAW_DIR, RAW_SKIPPED, SUSPICIOUS
from genre.sources import checks, fma, local, remote

INDEX_COLUMNS = ["track_id", "genre", "path", "seconds", "sample_rate", "md5", "note"]
SKIPPED_COLUMNS = ["path", "reason"]
SHOWN_SUSPICIOUS = 20
SHOWN_NOT_AUDIO = 3  # names shown of the files that are not audio (all are in skipped.csv)
OFFICIAL_COLUMN = "official_split"  # index.csv, for a source with an official split (fma)
ARCHIVES = {  # source -> mirrors, tried in order (gtzan's are also checked by content)
    "gtzan": remote.GTZAN_MIRRORS,
    "gtzan-mini": remote.GTZAN_MINI_MIRRORS,
}
LIMITS = {  # source -> what its archive may hold when extracted (genre.sources.remote.Limits)
    "gtzan": remote.GTZAN_LIMITS,
    "gtzan-mini": remote.GTZAN_MINI_LIMITS,
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
            genres=data.genres or GENRES,
        )
        return local.Imported()
    if data.source == "local":
        return local.import_folder(
            Path(data.local_path), out_dir, sample_rate=data.sample_rate, genres=data.genres
        )
    if data.source == "fma":
        return build_fma(out_dir, data, cache_dir=cache_dir)
    imported = remote.import_mirrors(
        ARCHIVES[data.source],
        out_dir,
        sample_rate=data.sample_rate,
        limits=LIMITS[data.source],
        cache_dir=cache_dir,
        expected=remote.gtzan_lengths() if data.source == "gtzan" else None,
    )
    return keep_genres(out_dir, imported, data.genres or GENRES, source=data.source)


def build_fma(out_dir: Path, data: DataParams, *, cache_dir: Path | None) -> local.Imported:
    """FMA's data.fma_subset from data.local_path, or downloaded; each clip decoded for its
    first data.duration_s only (featurize uses no more)."""
    settings = dict(
        subset=data.fma_subset,
        genres=data.genres,
        sample_rate=data.sample_rate,
        max_seconds=data.duration_s,
    )
    if data.local_path:
        return fma.import_local(Path(data.local_path), out_dir, **settings)
    return fma.import_download(out_dir, cache_dir=cache_dir, **settings)


def keep_genres(
    out_dir: Path, imported: local.Imported, genres: tuple[str, ...], *, source: str
) -> local.Imported:
    """Keep the `genres` (GTZAN's, or those data.genres selects) of a GTZAN download written in
    out_dir; remove the others. A genre that is not GTZAN's means the archive is not GTZAN."""
    folders = sorted(p for p in out_dir.iterdir() if p.is_dir())
    foreign = [p.name for p in folders if p.name not in GENRES]
    if foreign:
        raise GenreError(
            f"{source}: the download holds clips of genres that are not GTZAN's "
            f"({', '.join(foreign[:3])}): it is not GTZAN; for a collection of your own "
            "genres, use data.source: local"
        )
    for folder in (p for p in folders if p.name not in genres):
        imported.left_out[folder.name] = len(list(folder.glob("*.wav")))
        shutil.rmtree(folder)
    imported.notes = {t: n for t, n in imported.notes.items() if t.split(".")[0] in genres}
    return imported


def index_clips(out_dir: Path, notes: dict[str, str]) -> pd.DataFrame:
    """One index.csv row per WAV written under out_dir/<genre>/, in genre then track order
    (genres sorted by name: GTZAN's in GENRES order)."""

    def row(path: Path) -> dict:
        info = sf.info(path)
        return {
            "track_id": path.stem,
            "genre": path.parent.name,
            "path": path.relative_to(out_dir).as_posix(),
            "seconds": round(info.frames / info.samplerate, 3),
            "sample_rate": info.samplerate,
            "md5": md5sum(path),
            "note": notes.get(path.stem, ""),
        }

    with ThreadPoolExecutor(checks.READERS) as pool:  # hashing lets go of the GIL
        rows = list(pool.map(row, out_dir.glob("*/*.wav")))
    return pd.DataFrame(rows, columns=INDEX_COLUMNS).sort_values(["genre", "track_id"])


def source_label(data: DataParams) -> str:
    if data.source == "local":
        return f"local folder {printable(data.local_path)}"
    if data.source == "fma":
        where = f"local folder {printable(data.local_path)}" if data.local_path else "download"
        return f"fma_{data.fma_subset} ({where})"
    if data.source in ARCHIVES:
        return f"{data.source} (download)"
    return f"synthetic ({data.clips_per_genre} clips per genre, seed {data.seed})"


def report(index: pd.DataFrame, imported: local.Imported, data: DataParams, raw_dir: Path) -> str:
    """What the stage did, for the terminal: counts per genre, the genres data.genres left out,
    conversions, and every skipped file."""
    per_genre, skipped = index.genre.value_counts(), imported.skipped
    lines = [
        f"{raw_dir}: {len(index)} clips from {source_label(data)}; "
        + ", ".join(f"{g} {per_genre[g]}" for g in genre_list(index.genre))
    ]
    if imported.left_out:
        lines.append(
            "left out by data.genres: "
            + ", ".join(f"{g} ({n} clips)" for g, n in sorted(imported.left_out.items()))
        )
    converted = index.note[index.note != ""]
    if len(converted):
        kinds = Counter(part for note in converted for part in note.split("; "))
        lines.append(
            f"converted {len(converted)} clips to mono {data.sample_rate} Hz: "
            + ", ".join(f"{kind} ({n})" for kind, n in sorted(kinds.items()))
        )
    if skipped:
        lines.append(f"skipped {len(skipped)} files (listed in {raw_dir / RAW_SKIPPED.name}):")
        grouped = (local.NOT_AUDIO, *fma.GROUPED_REASONS)
        lines += [f"  {path}: {reason}" for path, reason in skipped if reason not in grouped]
        other = [path for path, reason in skipped if reason == local.NOT_AUDIO]
        if other:
            lines.append(f"  {len(other)} files not audio by their names ({_some(other)})")
        for group in fma.GROUPED_REASONS:
            paths = [path for path, reason in skipped if reason == group]
            if paths:
                lines.append(f"  {len(paths)} files {group} ({_some(paths)})")
    return "\n".join(lines)


def _some(paths: list[str]) -> str:
    """The first SHOWN_NOT_AUDIO of paths, then `...` if there are more."""
    more = ", ..." if len(paths) > SHOWN_NOT_AUDIO else ""
    return ", ".join(paths[:SHOWN_NOT_AUDIO]) + more


def report_suspicious(suspicious: pd.DataFrame, raw_dir: Path) -> str:
    """The clips kept but worth a look (clipped, silent, odd length), for the terminal."""
    if suspicious.empty:
        return ""
    lines = [f"suspicious {len(suspicious)} clips, kept (listed in {raw_dir / SUSPICIOUS.name}):"]
    lines += [f"  {r.path}: {r.reason}" for r in suspicious.head(SHOWN_SUSPICIOUS).itertuples()]
    if len(suspicious) > SHOWN_SUSPICIOUS:
        lines.append(f"  ... and {len(suspicious) - SHOWN_SUSPICIOUS} more")
    return "\n" + "\n".join(lines)


def download(
    data: DataParams,
    raw_dir: Path = RAW_DIR,
    *,
    cache_dir: Path | None = None,
    check: Callable[..., None] | None = None,
) -> str:
    """Rebuild raw_dir from data.source (all or nothing); return the report to print.

    `check(index, source=...)` may refuse the imported set before it replaces raw_dir (the
    stage passes genre.sources.checks.check_splittable)."""
    raw_dir = Path(raw_dir)
    with atomic_dir(raw_dir) as tmp:
        imported = build(tmp, data, cache_dir=cache_dir)
        index = index_clips(tmp, imported.notes)
        if imported.official:
            index[OFFICIAL_COLUMN] = index["track_id"].map(imported.official).fillna("")
        if index.empty:  # the example: a clip's reason rather than a README's
            examples = sorted(imported.skipped, key=lambda row: row[1] == local.NOT_AUDIO)
            first = f" (e.g. {examples[0][0]}: {examples[0][1]})" if examples else ""
            raise GenreError(
                f"no readable clips from {source_label(data)}: all "
                f"{len(imported.skipped)} files were skipped{first}"
            )
        if check is not None:
            check(index, source=data.source)
        suspicious = checks.suspicious_clips(tmp, index)
        index.to_csv(tmp / INDEX.name, index=False)
        pd.DataFrame(imported.skipped, columns=SKIPPED_COLUMNS).to_csv(
            tmp / RAW_SKIPPED.name, index=False
        )
        suspicious.to_csv(tmp / SUSPICIOUS.name, index=False)
    text = report(index, imported, data, raw_dir) + report_suspicious(suspicious, raw_dir)
    return f"{text}\narchive used: {imported.origin}" if imported.origin else text
