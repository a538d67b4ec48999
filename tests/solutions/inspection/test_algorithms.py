"""Coreset, nearest neighbours, map operators and metrics against straightforward references."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

from aion.solutions.inspection.coreset import greedy_coreset
from aion.solutions.inspection.knn import IvfLists, NearestNeighbour, build_ivf, nearest_excluding, search_dim
from aion.solutions.inspection.listscan import NumpyListScan
from aion.solutions.inspection.metrics import aupro, auroc, confusion
from aion.solutions.inspection.pixelmetrics import PixelMetrics
from aion.solutions.inspection.postprocess import (
    bilinear_matrix,
    find_regions,
    gaussian_matrix,
    label_components,
)
from aion.solutions.inspection.threshold import choose_threshold, f1_threshold


def naive_greedy(x: np.ndarray, k: int, first: int) -> np.ndarray:
    sel = [first]
    d = ((x - x[first]) ** 2).sum(1)
    while len(sel) < k:
        c = int(np.argmax(d))
        sel.append(c)
        d = np.minimum(d, ((x - x[c]) ** 2).sum(1))
    return np.array(sel)


@pytest.mark.parametrize("n_candidates", [50, 400, 5000])
def test_lazy_greedy_coreset_equals_classic_greedy(n_candidates: int) -> None:
    rng = np.random.default_rng(7)
    x = (rng.normal(size=(2000, 16)) * rng.uniform(0.2, 3.0, (2000, 1))).astype(np.float32)
    first = int(np.random.default_rng(5).integers(2000))
    got = greedy_coreset(x, 150, seed=5, n_candidates=n_candidates)
    np.testing.assert_array_equal(got, naive_greedy(x, 150, first))


@pytest.mark.parametrize("threads", [1, 2])
def test_coreset_updates_in_blocks_on_threads_equal_classic_greedy(threads: int) -> None:
    """More points than one update block (8,192 rows): the blocks, on one thread or two, still
    make the classic loop's choices."""
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(20000, 8)) * rng.uniform(0.2, 3.0, (20000, 1))).astype(np.float32)
    first = int(np.random.default_rng(1).integers(20000))
    got = greedy_coreset(x, 300, seed=1, n_candidates=256, max_batch=64, threads=threads)
    np.testing.assert_array_equal(got, naive_greedy(x, 300, first))


def test_coreset_projection_and_small_inputs() -> None:
    x = np.random.default_rng(0).normal(size=(500, 300)).astype(np.float32)
    idx = greedy_coreset(x, 40, proj_dim=32)
    assert len(set(idx.tolist())) == 40
    assert greedy_coreset(x[:10], 20).tolist() == list(range(10))
    first = int(np.random.default_rng(0).integers(500))
    # up to twice proj_dim wide (Lite0's 152 channels for 128): exact distances, no projection
    np.testing.assert_array_equal(greedy_coreset(x[:, :256], 40), naive_greedy(x[:, :256], 40, first))
    # wider (ResNet levels): projected first, for speed, so the choices differ
    assert not np.array_equal(greedy_coreset(x, 40, proj_dim=32), naive_greedy(x, 40, first))


def test_nearest_neighbour_faiss_and_numpy_agree() -> None:
    rng = np.random.default_rng(1)
    bank = rng.normal(size=(700, 24)).astype(np.float32)
    q = rng.normal(size=(300, 24)).astype(np.float32)
    ref = np.sqrt(((q[:, None, :] - bank[None]) ** 2).sum(-1).min(1))
    fa = NearestNeighbour(bank)
    npy = NearestNeighbour(bank, use_faiss=False)
    assert npy.backend == "numpy"
    np.testing.assert_allclose(fa.search(q), ref, atol=1e-3)
    np.testing.assert_allclose(npy.search(q), ref, atol=1e-3)


def test_ivf_search_is_near_exact_and_never_below_the_true_distance() -> None:
    rng = np.random.default_rng(4)
    centres = rng.normal(size=(60, 32)) * 3
    bank = (centres[rng.integers(60, size=3000)] + rng.normal(size=(3000, 32))).astype(np.float32)
    q = (centres[rng.integers(60, size=2000)] + rng.normal(size=(2000, 32))).astype(np.float32)
    q[:50] += 8.0  # far-away queries (anomalies) too
    order, ivf = build_ivf(bank)
    assert len(ivf.centroids) == 27 and ivf.nprobe == 3 and int(ivf.sizes.sum()) == 3000
    sorted_bank = bank[order]
    exact = NearestNeighbour(sorted_bank, use_faiss=False).search(q)
    approx = NearestNeighbour(sorted_bank, ivf=ivf).search(q)
    assert np.all(approx >= exact - 1e-3)  # a missed neighbour can only make the distance larger
    assert np.mean(np.abs(approx - exact) < 1e-3) > 0.97
    assert np.percentile(approx / exact, 99) < 1.1


def test_ivf_scanned_in_the_principal_subspace_measures_the_row_it_finds_exactly() -> None:
    rng = np.random.default_rng(5)
    # patch-like features: most of the variance in 6 directions of 64, a little in all of them
    basis = rng.normal(size=(6, 64))
    centres = rng.normal(size=(50, 6)) * 3
    bank = (centres[rng.integers(50, size=3000)] + rng.normal(size=(3000, 6))) @ basis
    bank = (bank + 0.3 * rng.normal(size=bank.shape)).astype(np.float32)
    q = ((centres[rng.integers(50, size=1000)] + rng.normal(size=(1000, 6))) @ basis).astype(np.float32)
    q += (0.3 * rng.normal(size=q.shape)).astype(np.float32)
    q[:30] += 5.0  # anomalies: far off the bank's subspace
    order, ivf = build_ivf(bank)
    assert 0 < ivf.dim < 64 and ivf.dim % 8 == 0  # a few directions hold 95% of the variance
    assert search_dim(rng.normal(size=(500, 64)).astype(np.float32)) == 0  # isotropic: no gain
    sorted_bank = bank[order]
    exact = NearestNeighbour(sorted_bank, use_faiss=False).search(q)
    approx = NearestNeighbour(sorted_bank, ivf=ivf).search(q)
    full = NearestNeighbour(sorted_bank, ivf=replace(ivf, dim=0)).search(q)
    assert np.all(approx >= exact - 1e-3) and np.all(full >= exact - 1e-3)
    assert np.mean(np.abs(approx - exact) < 1e-3 * exact) > 0.9
    assert np.percentile(approx / exact, 99) < 1.1
    # every distance is the true distance to one row of the bank (the one the scan found)
    d_all = np.sqrt(((q[:, None, :] - sorted_bank[None]) ** 2).sum(-1))
    assert np.all(np.abs(d_all - approx[:, None]).min(1) < 1e-3 * approx + 1e-4)
    # a large batch is split over the model's threads: the same distances, in the same order
    many = np.concatenate([q[::-1], q, q[::2]] * 2)
    threaded = NearestNeighbour(sorted_bank, threads=2, ivf=ivf)
    expected = np.concatenate([approx[::-1], approx, approx[::2]] * 2)
    np.testing.assert_allclose(threaded.search(many), expected, rtol=1e-5)


@pytest.mark.parametrize("passes", [2, 1], ids=["8-bit-then-float32", "float32"])
@pytest.mark.parametrize("dim", [None, 0], ids=["subspace", "full-width"])
def test_ivf_lists_scanned_by_onnxruntime_find_the_rows_numpy_finds(dim: int | None, passes: int) -> None:
    rng = np.random.default_rng(9)
    basis = rng.normal(size=(8, 48))
    centres = rng.normal(size=(40, 8)) * 3
    bank = ((centres[rng.integers(40, size=2500)] + rng.normal(size=(2500, 8))) @ basis).astype(np.float32)
    bank += (0.3 * rng.normal(size=bank.shape)).astype(np.float32)
    q = np.concatenate([bank[:300] + 0.2, rng.normal(size=(200, 48)).astype(np.float32) * 4])
    order, ivf = build_ivf(bank)
    if dim is not None:
        ivf = replace(ivf, dim=dim)
    sorted_bank = bank[order]
    ort_nn = NearestNeighbour(sorted_bank, threads=2, ivf=ivf, passes=passes)
    numpy_nn = NearestNeighbour(sorted_bank, threads=2, ivf=ivf, use_ort=False, passes=passes)
    assert (ort_nn.scanner, numpy_nn.scanner) == ("onnxruntime", "numpy")
    assert ort_nn.passes == numpy_nn.passes == passes
    assert NearestNeighbour(sorted_bank).scanner is None
    np.testing.assert_array_equal(ort_nn.search(q), numpy_nn.search(q))
    many = np.concatenate([q] * 3)  # split over the two threads
    np.testing.assert_array_equal(ort_nn.search(many), numpy_nn.search(many))
    assert ort_nn.search(q[:0]).shape == (0,)


@pytest.mark.parametrize("passes", [2, 1], ids=["8-bit-then-float32", "float32"])
@pytest.mark.parametrize("use_ort", [True, False], ids=["onnxruntime", "numpy"])
@pytest.mark.parametrize("nearer", [0, 1], ids=["first-list", "second-list"])
def test_a_near_tie_between_lists_is_settled_in_float32(use_ort: bool, nearer: int, passes: int) -> None:
    # the query (3, 4) is 1.0 from one list's row and 1.0005 from the other's: far closer than
    # the 8-bit estimates can tell apart, so the float32 pass must decide (in either order)
    rows = [[4.0, 4.0], [3.0, 5.0005]] if nearer == 0 else [[3.0, 5.0005], [4.0, 4.0]]
    bank = np.array([rows[0], [10.0, 10.0], rows[1], [-10.0, -10.0]], np.float32)
    centroids = np.array([[7.0, 7.0], [-3.5, -2.5]], np.float32)
    ivf = IvfLists(centroids, np.array([2, 2]), nprobe=2)
    nn = NearestNeighbour(bank, ivf=ivf, use_ort=use_ort, passes=passes)
    np.testing.assert_allclose(nn.search(np.array([[3.0, 4.0]], np.float32)), [1.0], rtol=1e-6)


def test_the_8_bit_first_pass_finds_the_rows_a_float32_scan_finds() -> None:
    rng = np.random.default_rng(12)
    basis = rng.normal(size=(10, 64))
    centres = rng.normal(size=(40, 10)) * 3
    bank = ((centres[rng.integers(40, size=3000)] + rng.normal(size=(3000, 10))) @ basis).astype(np.float32)
    bank += (0.3 * rng.normal(size=bank.shape)).astype(np.float32)
    q = ((centres[rng.integers(40, size=2000)] + rng.normal(size=(2000, 10))) @ basis).astype(np.float32)
    order, ivf = build_ivf(bank)
    sorted_bank = bank[order]

    class Float32Scan(NumpyListScan):  # the first pass in float32: the reference
        def pair_minima(self, codes, scale, zero, groups):  # type: ignore[no-untyped-def]
            return [(self.qa[groups[i]] @ self.lists[i].T).min(axis=1) for i in self.full]

        def project(self, q):  # type: ignore[no-untyped-def]
            self.qa, probe = super().project(q)
            return self.qa, probe

    reference = NearestNeighbour(sorted_bank, ivf=ivf, use_ort=False, passes=2)
    reference._scan.__class__ = Float32Scan  # type: ignore[union-attr]
    want = reference.search(q)
    for use_ort in (True, False):
        got = NearestNeighbour(sorted_bank, ivf=ivf, use_ort=use_ort, passes=2).search(q)
        assert np.mean(got == want) > 0.997
        np.testing.assert_allclose(got, want, rtol=0.05)
        # the one float32 pass measures every probed list: exactly the float32 scan's rows
        one = NearestNeighbour(sorted_bank, ivf=ivf, use_ort=use_ort, passes=1).search(q)
        np.testing.assert_array_equal(one, want)
    # and those are the probed lists' nearest rows, but where the scanned subspace misleads
    exact = brute_force_in_probed_lists(sorted_bank, ivf, q)
    assert np.all(want >= exact * (1 - 1e-5))
    assert np.mean(np.isclose(want, exact, rtol=1e-5)) > 0.995


def brute_force_in_probed_lists(bank: np.ndarray, ivf: IvfLists, q: np.ndarray) -> np.ndarray:
    """The distance to the nearest row of each query's ``nprobe`` nearest lists, by brute force
    in every dimension."""
    off = ivf.offsets
    near = np.argsort(((q[:, None] - ivf.centroids[None]) ** 2).sum(-1), axis=1)[:, : ivf.nprobe]
    out = np.empty(len(q), np.float32)
    for k, lists in enumerate(near):
        rows = np.concatenate([bank[off[i] : off[i + 1]] for i in lists])
        out[k] = np.sqrt(((rows - q[k]) ** 2).sum(1).min())
    return out


@pytest.mark.parametrize("slow", [2, 1])
def test_the_scan_keeps_the_way_this_cpu_runs_faster(slow: int) -> None:
    rng = np.random.default_rng(5)
    bank = rng.normal(size=(3000, 16)).astype(np.float32)
    order, ivf = build_ivf(bank)
    nn = NearestNeighbour(bank[order], ivf=ivf, use_ort=False)
    assert nn.passes in (1, 2)  # timed when opened: either may win on this machine

    class Slowed(NumpyListScan):  # one way made slower than the other by far
        def likely_lists(self, qa, probe):  # type: ignore[no-untyped-def]
            if slow == 2:
                time.sleep(0.01)
            return super().likely_lists(qa, probe)

        def project(self, q):  # type: ignore[no-untyped-def]
            if slow == 1 and not self.two_pass:
                time.sleep(0.01)
            return super().project(q)

    scan = nn._scan
    assert scan is not None
    scan.__class__ = Slowed
    assert scan.choose(rng.normal(size=(256, 16)).astype(np.float32)) is (slow == 1)
    assert nn.passes == 3 - slow


def test_the_number_of_passes_is_checked() -> None:
    with pytest.raises(ValueError, match="passes must be 1, 2 or None"):
        NearestNeighbour(np.zeros((4, 2), np.float32), passes=3)


def test_nearest_excluding_leaves_out_each_groups_own_rows() -> None:
    rng = np.random.default_rng(11)
    groups = rng.normal(size=(3, 40, 8)).astype(np.float32)
    bank = np.concatenate([rng.normal(size=(60, 8)), groups[:, ::4].reshape(-1, 8)]).astype(np.float32)
    owner = np.concatenate([np.full(60, -1), np.repeat([0, 1, 2], 10)])
    got = nearest_excluding(groups, bank, owner)
    for g in range(3):
        allowed = bank[owner != g]
        want = np.sqrt(((groups[g][:, None] - allowed[None]) ** 2).sum(-1)).min(1)
        np.testing.assert_allclose(got[g], want, rtol=1e-4, atol=1e-4)
    # with nothing left out, a group's own rows are found at distance 0
    assert np.allclose(nearest_excluding(groups, bank, np.full(len(bank), -1))[:, ::4], 0.0, atol=1e-2)


def test_ivf_with_empty_lists_falls_back_to_search_all() -> None:
    bank = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 10.0]], dtype=np.float32)
    centroids = np.array([[0.5, 0.0], [50.0, 50.0], [10.0, 10.0]], dtype=np.float32)
    ivf = IvfLists(centroids, np.array([2, 0, 1]), nprobe=1)
    for use_ort in (True, False):  # both scanners
        nn = NearestNeighbour(bank, ivf=ivf, use_ort=use_ort)
        assert nn.backend == "ivf"
        np.testing.assert_allclose(
            nn.search(np.array([[49.0, 50.0], [1.0, 1.0]], np.float32)), [np.hypot(39, 40), 1.0]
        )
    with pytest.raises(ValueError, match="IVF lists"):
        NearestNeighbour(bank, ivf=IvfLists(centroids, np.array([1, 0, 1]), nprobe=1))
    # the same when the lists are scanned in a principal subspace (here one direction of two)
    sub = NearestNeighbour(bank, ivf=IvfLists(centroids, np.array([2, 0, 1]), nprobe=1, dim=1))
    np.testing.assert_allclose(
        sub.search(np.array([[49.0, 50.0], [1.0, 1.0], [9.0, 10.0]], np.float32)),
        [np.hypot(39, 40), 1.0, 1.0],
        rtol=1e-5,
    )


def test_map_operators() -> None:
    up = bilinear_matrix(4, 16)
    np.testing.assert_allclose(up.sum(1), 1.0)
    np.testing.assert_allclose(up @ np.full(4, 3.0), 3.0)
    g = gaussian_matrix(32, 3.0)
    spike = np.zeros(32)
    spike[16] = 1.0
    blurred = g @ spike
    assert blurred.argmax() == 16 and blurred.max() < 0.2


def test_regions_are_scaled_to_the_original_image() -> None:
    m = np.zeros((32, 32), np.float32)
    m[4:8, 10:20] = 0.9
    m[20:22, 2:4] = 0.7
    regions = find_regions(m, (64, 128))
    assert len(regions) == 2
    r = regions[0]
    assert (r.x, r.y, r.width, r.height) == (20, 16, 20, 16)
    assert r.area == 4 * 10 * 2 * 4 and r.peak == pytest.approx(0.9)


def test_auroc_against_pairwise_definition() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 200)
    s = rng.normal(size=200) + y * 0.8
    s[:20] = np.round(s[:20])  # ties
    pos, neg = s[y == 1], s[y == 0]
    ref = ((pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum()) / (len(pos) * len(neg))
    assert auroc(y, s) == pytest.approx(ref)
    assert auroc(np.zeros(5), np.arange(5.0)) is None


def test_aupro_perfect_and_random() -> None:
    rng = np.random.default_rng(3)
    masks, perfect, noise = [], [], []
    for _ in range(4):
        g = np.zeros((32, 32), bool)
        g[5:10, 5:12] = True
        masks.append(g)
        perfect.append(g.astype(np.float32) + rng.uniform(0, 0.1, g.shape))
        noise.append(rng.uniform(0, 1, g.shape))
    assert aupro(masks, perfect) == pytest.approx(1.0, abs=1e-3)
    assert aupro(masks, noise) == pytest.approx(0.15, abs=0.05)  # random: mean FPR over [0, 0.3]


def test_pixel_metrics_counted_image_by_image_match_the_exact_ones() -> None:
    rng = np.random.default_rng(8)
    masks, maps = [], []
    for i in range(24):
        g = np.zeros((96, 96), bool)
        if i % 3:  # a third of the images are good
            y, x = rng.integers(5, 70, 2)
            g[y : y + rng.integers(2, 20), x : x + rng.integers(2, 20)] = True
            g[3:5, 40:80] = i % 2 == 1  # a thin second region on some
        m = rng.normal(size=g.shape).astype(np.float32) + g * rng.uniform(0.3, 2.5)  # negatives too
        m[:8, :8] = np.round(m[:8, :8])  # and ties
        masks.append(g)
        maps.append(m)
    px = PixelMetrics()
    for g, m in zip(masks, maps, strict=True):
        px.add(g, m)
    exact_auroc = auroc(np.concatenate([g.ravel() for g in masks]), np.concatenate([m.ravel() for m in maps]))
    assert px.auroc() == pytest.approx(exact_auroc, abs=1e-5)
    assert px.aupro() == pytest.approx(aupro(masks, maps), abs=1e-4)
    assert px.n_regions == sum(label_components(g)[1] for g in masks)
    assert PixelMetrics().auroc() is None and PixelMetrics().aupro() is None
    with pytest.raises(ValueError, match="mask shape"):
        px.add(np.zeros((4, 4), bool), np.zeros((5, 5), np.float32))


def test_threshold_choices() -> None:
    good = np.array([1.0, 1.2, 1.1, 0.9, 3.0])
    bad = np.array([2.5, 4.0, 5.0])
    t, f1 = f1_threshold(good, bad)
    c = confusion(np.r_[np.zeros(5), np.ones(3)], np.r_[good, bad], t)
    assert f1 == pytest.approx(c.f1) and f1 >= 0.85
    choice = choose_threshold(good, bad, target_frr=0.0)
    assert choice.method == "f1" and choice.threshold == t
    plain = choose_threshold(good, None, target_frr=0.2)
    assert plain.method == "frr" and plain.threshold == 1.2 and plain.frr == pytest.approx(0.2)
