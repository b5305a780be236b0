"""HCLT structure: pairwise mutual information, Chow-Liu tree, and the coding order.

Why a separate, numpy-only module: the codec needs the structure's conventions (positions in a
depth-first pre-order, parents as positions) without importing torch, and training needs to build
the structure before any parameter exists.
"""
from __future__ import annotations

import numpy as np


def mutual_information(data: np.ndarray, values: int, max_features: int = 4096) -> np.ndarray:
    """Pairwise mutual information (nats) between the columns of ``data``.

    data: int [N, D] with entries in ``[0, values)``. Returns float64 [D, D] (zero diagonal).
    Values are binned to ``b`` levels with ``D * b <= max_features`` (MI only ranks edges, and a
    256-level joint histogram of 25x25 pixels would need 40 M cells per pair row); Laplace
    smoothing keeps rare pairs from looking informative.
    """
    n, d = data.shape
    bins = int(max(2, min(values, max_features // d)))
    binned = (data.astype(np.int64) * bins) // values  # [N, D] in [0, bins)
    onehot = np.zeros((n, d * bins), np.float32)
    onehot[np.arange(n)[:, None], np.arange(d)[None, :] * bins + binned] = 1
    joint = (onehot.T @ onehot).astype(np.float64).reshape(d, bins, d, bins).transpose(0, 2, 1, 3) + 0.01
    joint /= joint.sum(axis=(2, 3), keepdims=True)  # [D, D, b, b]
    pi = joint.sum(axis=3, keepdims=True)
    pj = joint.sum(axis=2, keepdims=True)
    mi = (joint * (np.log(joint) - np.log(pi) - np.log(pj))).sum(axis=(2, 3))
    np.fill_diagonal(mi, 0)
    return mi


def chow_liu_tree(mi: np.ndarray) -> np.ndarray:
    """Maximum spanning tree of ``mi`` [D, D] (Prim, O(D^2)); returns parents int [D] with the
    root (-1) chosen as the tree's centre, so root paths are as short as the tree allows."""
    d = mi.shape[0]
    in_tree = np.zeros(d, bool)
    best = np.full(d, -np.inf)
    link = np.full(d, -1)
    best[0] = 0
    edges = []
    for _ in range(d):
        u = int(np.argmax(np.where(in_tree, -np.inf, best)))
        in_tree[u] = True
        if link[u] >= 0:
            edges.append((u, int(link[u])))
        better = ~in_tree & (mi[u] > best)
        best[better], link[better] = mi[u][better], u
    neighbours: list[list[int]] = [[] for _ in range(d)]
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    return _rooted(neighbours, _centre(neighbours))


def _distances(neighbours: list[list[int]], start: int) -> np.ndarray:
    dist = np.full(len(neighbours), -1)
    dist[start], frontier = 0, [start]
    while frontier:
        nxt = []
        for u in frontier:
            for v in neighbours[u]:
                if dist[v] < 0:
                    dist[v] = dist[u] + 1
                    nxt.append(v)
        frontier = nxt
    return dist


def _centre(neighbours: list[list[int]]) -> int:
    """Middle of a longest path (two breadth-first sweeps)."""
    a = int(np.argmax(_distances(neighbours, 0)))
    from_a = _distances(neighbours, a)
    b = int(np.argmax(from_a))
    from_b = _distances(neighbours, b)
    length = from_a[b]
    on_path = np.flatnonzero(from_a + from_b == length)
    return int(on_path[np.argmin(np.abs(from_a[on_path] - length // 2))])


def _rooted(neighbours: list[list[int]], root: int) -> np.ndarray:
    parent = np.full(len(neighbours), -1)
    seen, stack = {root}, [root]
    while stack:
        u = stack.pop()
        for v in neighbours[u]:
            if v not in seen:
                seen.add(v)
                parent[v] = u
                stack.append(v)
    return parent


def preorder(parent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The coding order: a depth-first pre-order of the tree (children by pixel index).

    parent: int [D] over pixels (-1 at the root). Returns ``order`` int32 [D] (pixel at each
    position) and ``parent_pos`` int32 [D] (position of each position's parent, -1 for position 0).
    """
    d = len(parent)
    children: list[list[int]] = [[] for _ in range(d)]
    roots = [u for u in range(d) if parent[u] < 0]
    if len(roots) != 1:
        raise ValueError(f"a tree has one root, got {len(roots)}")
    for u in range(d):
        if parent[u] >= 0:
            children[int(parent[u])].append(u)
    order, stack = [], [roots[0]]
    while stack:
        u = stack.pop()
        order.append(u)
        stack.extend(reversed(children[u]))
    if len(order) != d:
        raise ValueError("parent array is not a tree (cycle or unreachable pixels)")
    position = np.empty(d, np.int64)
    position[order] = np.arange(d)
    parent_pos = np.array([-1 if parent[u] < 0 else position[parent[u]] for u in order], np.int32)
    return np.asarray(order, np.int32), parent_pos


def depths(parent_pos: np.ndarray) -> np.ndarray:
    """Depth int [D] of each position (root 0); parents precede children in a pre-order."""
    depth = np.zeros(len(parent_pos), np.int64)
    for t in range(1, len(parent_pos)):
        depth[t] = depth[parent_pos[t]] + 1
    return depth
