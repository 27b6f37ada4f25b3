"""Soft voting: the ensemble's answer is the weighted mean of its models' class probabilities.

One function for the pipeline (the ensemble stage, over predictions tables) and for inference
(`genre predict` and the page, over one song's windows), so both combine models the same way.
"""

from collections.abc import Mapping

import numpy as np
import pandas as pd

from genre.errors import GenreError
from genre.models import predictions


def soft_vote(probabilities: Mapping[str, np.ndarray], weights: Mapping[str, float]):
    """Weighted mean of each model's probabilities [n, genres], in float64; models weighted 0
    (or not weighted) are left out."""
    used = [name for name in probabilities if weights.get(name, 0) > 0]
    if not used:
        raise GenreError("ensemble.weights: at least one model needs a weight above 0")
    stacked = np.stack([np.asarray(probabilities[name], dtype=np.float64) for name in used])
    return np.average(stacked, axis=0, weights=[weights[name] for name in used])


def vote_tables(tables: Mapping[str, pd.DataFrame], weights: Mapping[str, float]):
    """The ensemble's predictions table from the models' tables (same clips, same genres)."""
    predictions.check_same_clips(tables)
    reference = next(iter(tables.values()))
    votes = soft_vote({name: predictions.probabilities(t) for name, t in tables.items()}, weights)
    return predictions.table(reference, votes, genres=predictions.genres_of(reference))
