"""Grouping petitions about the same matter: TF-IDF vectors, then average-linkage clustering
with a cosine-distance threshold, so the number of topics follows the data.

Hot issues are narrow (one estate's parking, one plant's noise), so clusters must be tight:
average linkage joins two groups only when their petitions are close on average. Its
distance matrix is quadratic, so a large period is first cut into chunks of at most
`chunk` petitions by k-means on a random projection (petitions about one matter land together),
each chunk is clustered on its own, and clusters cut apart by the chunking are joined again
when their centroids are close.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse import csr_matrix
from scipy.spatial.distance import squareform
from sklearn.cluster import MiniBatchKMeans
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.preprocessing import normalize
from sklearn.random_projection import SparseRandomProjection

REDUCED_DIMENSIONS = 48  # a random projection: enough to cut into chunks, a hundredth of an SVD's time
MIN_CEILING = 50


@dataclass(frozen=True)
class Vectors:
    """The petitions as term counts (every term, for labels) and TF-IDF rows (grouping terms only)."""

    counts: csr_matrix  # petitions × terms, binary: does the petition use the term
    tfidf: csr_matrix  # L2-normalised, sublinear term frequency, only terms of 2 to max_df of petitions
    terms: np.ndarray  # the term of each column of `counts`
    document_frequency: np.ndarray  # petitions using each term


def vectorize(documents: Sequence[Sequence[str]], max_df: float = 0.1) -> Vectors:
    """Vectors of pre-tokenised documents; terms in a single document or in more than `max_df`
    of them (and more than MIN_CEILING: a small period may be one topic) carry nothing for
    grouping. They still serve for labels."""
    counter = CountVectorizer(analyzer=_identity, dtype=np.float32)
    try:
        counts = counter.fit_transform(documents).tocsr()
    except ValueError:  # not a single term
        empty = csr_matrix((len(documents), 0), dtype=np.float32)
        return Vectors(empty, empty, np.array([], dtype=object), np.zeros(0))
    document_frequency = np.diff(counts.tocsc().indptr)
    ceiling = max(max_df * len(documents), MIN_CEILING)
    grouping = np.flatnonzero((document_frequency >= 2) & (document_frequency <= ceiling))
    tfidf = TfidfTransformer(sublinear_tf=True).fit_transform(counts[:, grouping]).astype(np.float32).tocsr() \
        if grouping.size else csr_matrix((len(documents), 0), dtype=np.float32)
    counts.data[:] = 1.0
    return Vectors(counts, tfidf, counter.get_feature_names_out(), document_frequency)


def _identity(tokens: Sequence[str]) -> Sequence[str]:
    return tokens


def cluster(vectors: csr_matrix, distance: float, chunk: int = 2000, seed: int = 0) -> np.ndarray:
    """A cluster number per row: rows whose average cosine distance stays under `distance`."""
    labels = np.zeros(vectors.shape[0], dtype=np.int64)
    next_label = 0
    for part in _chunks(vectors, chunk, seed):
        if len(part) < 2:
            labels[part] = next_label
            next_label += 1
            continue
        found = _agglomerate(_cosine_distances(vectors[part]), distance)
        labels[part] = found + next_label
        next_label += int(found.max()) + 1
    return labels


def merge(vectors: csr_matrix, labels: np.ndarray, clusters: Sequence[int], distance: float) -> np.ndarray:
    """Join the given clusters whose centroids are closer than `distance`; returns new labels."""
    if len(clusters) < 2:
        return labels
    clusters = np.asarray(clusters)
    position = np.full(labels.max() + 1, -1)
    position[clusters] = np.arange(len(clusters))
    rows = np.flatnonzero(position[labels] >= 0)
    membership = csr_matrix((np.ones(len(rows), dtype=np.float32), (position[labels[rows]], rows)),
                            shape=(len(clusters), len(labels)))
    centroids = normalize(membership @ vectors)  # the direction of a cluster's sum is that of its mean
    joined = _agglomerate(np.clip(1.0 - (centroids @ centroids.T).toarray(), 0.0, 2.0), distance)
    first = {}  # each group of joined clusters takes the label of its first cluster
    target = np.arange(labels.max() + 1)
    for cluster_id, group in zip(clusters, joined):
        target[cluster_id] = first.setdefault(group, cluster_id)
    return target[labels]


def _cosine_distances(rows: csr_matrix) -> np.ndarray:
    distances = 1.0 - (rows @ rows.T).toarray()
    np.clip(distances, 0.0, 2.0, out=distances)
    np.fill_diagonal(distances, 0.0)
    return distances


def _agglomerate(distances: np.ndarray, distance: float) -> np.ndarray:
    """Average-linkage clusters of a square distance matrix, cut at `distance` (0-based labels)."""
    tree = linkage(squareform(distances, checks=False), method="average")
    return fcluster(tree, t=distance, criterion="distance") - 1


def _chunks(vectors: csr_matrix, chunk: int, seed: int) -> list[np.ndarray]:
    """Row indices in groups of at most `chunk`, similar rows together (k-means, recursively)."""
    rows = vectors.shape[0]
    if rows <= chunk:
        return [np.arange(rows)]
    if vectors.shape[1] < 2:  # (almost) no grouping terms: any cut will do
        return [np.arange(start, min(start + chunk, rows)) for start in range(0, rows, chunk)]
    projection = SparseRandomProjection(REDUCED_DIMENSIONS, dense_output=True, random_state=seed)
    return _split(normalize(projection.fit_transform(vectors)), np.arange(rows), chunk, seed)


def _split(reduced: np.ndarray, index: np.ndarray, chunk: int, seed: int) -> list[np.ndarray]:
    if len(index) <= chunk:
        return [index]
    k = max(2, math.ceil(2 * len(index) / chunk))
    assigned = MiniBatchKMeans(k, random_state=seed, n_init=1, batch_size=4096, max_iter=20,
                               max_no_improvement=3).fit_predict(reduced[index])
    if np.unique(assigned).size < 2:  # identical rows: cut anywhere
        return [index[start:start + chunk] for start in range(0, len(index), chunk)]
    parts: list[np.ndarray] = []
    for group in np.unique(assigned):
        parts += _split(reduced, index[assigned == group], chunk, seed)
    return parts
