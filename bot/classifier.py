"""Logistic-regression classifiers fitted at index build (pure numpy; no Django).

``LexicalClassifier`` learns which word and character n-grams separate one answer from its
neighbours; ``EmbeddingClassifier`` does the same over sentence-encoder vectors. Both are
multinomial logistic regressions solved with the small L-BFGS below.
"""

from __future__ import annotations

import numpy as np

from bot.features import _clf_features


def _lbfgs(fun, x: np.ndarray, max_iter: int, m: int = 10, tol: float = 1e-5, ftol: float = 1e-7) -> tuple[np.ndarray, int]:
    """Minimise a smooth convex ``fun`` (returning value and gradient) by L-BFGS with
    backtracking; small and dependency-free (scipy's L-BFGS-B spends most of its time in
    bound handling this problem does not need). Stops when the largest gradient entry fell
    by ``tol`` or an iteration gained less than ``ftol`` of the value (float32 products make
    the last digits noise)."""
    f, g = fun(x)
    s_hist: list[np.ndarray] = []
    y_hist: list[np.ndarray] = []
    g0 = float(np.abs(g).max()) or 1.0
    it = 0
    for it in range(1, max_iter + 1):
        q = g.copy()
        alphas = []
        for s_, y_ in zip(reversed(s_hist), reversed(y_hist)):
            a = float(s_ @ q) / float(y_ @ s_)
            alphas.append(a)
            q -= a * y_
        if y_hist:
            q *= float(s_hist[-1] @ y_hist[-1]) / float(y_hist[-1] @ y_hist[-1])
        else:
            q /= max(float(np.linalg.norm(g)), 1e-12)
        for (s_, y_), a in zip(zip(s_hist, y_hist), reversed(alphas)):
            q += (a - float(y_ @ q) / float(y_ @ s_)) * s_
        d = -q
        slope = float(g @ d)
        if slope >= 0:  # not a descent direction: restart from steepest descent
            s_hist.clear()
            y_hist.clear()
            d, slope = -g, -float(g @ g)
        t = 1.0
        for _ in range(30):
            x_new = x + t * d
            f_new, g_new = fun(x_new)
            if f_new <= f + 1e-4 * t * slope:
                break
            t *= 0.5
        else:
            break
        s_, y_ = x_new - x, g_new - g
        if float(y_ @ s_) > 1e-12:
            s_hist.append(s_)
            y_hist.append(y_)
            if len(s_hist) > m:
                s_hist.pop(0)
                y_hist.pop(0)
        gained = f - f_new
        x, f, g = x_new, f_new, g_new
        if float(np.abs(g).max()) <= tol * g0 or gained <= ftol * abs(f):
            break
    return x, it


def _top_eig(K: np.ndarray, rank: int, power: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and orthonormal Ritz vectors of the ``rank`` largest eigenpairs of the
    symmetric PSD ``K`` (all of them when ``rank`` is close to the size). Deterministic."""
    n = K.shape[0]
    if rank >= n * 0.7:
        lam, U = np.linalg.eigh(K)
        return lam[::-1][:rank], U[:, ::-1][:, :rank]
    K = K.astype(np.float32)  # the subspace needs no more; halves the n^2 x rank products
    Q = K @ np.random.default_rng(0).standard_normal((n, min(n, rank + 16)), dtype=np.float32)
    for _ in range(power):
        Q = K @ np.linalg.qr(Q)[0]
    Q = np.linalg.qr(Q)[0]
    lam, V = np.linalg.eigh((Q.T @ (K @ Q)).astype(np.float64))
    return lam[::-1][:rank], (Q.astype(np.float64) @ V)[:, ::-1][:, :rank]


class LexicalClassifier:
    """Multinomial logistic regression over TF-IDF word and char n-grams, fitted at build.

    Few variants per answer make a similarity model treat every word alike; the classifier
    learns which n-grams separate one answer from its neighbours. It is used when the
    answer set is small enough to fit in well under a second (``MatcherConfig.clf_max_*``).
    Keeping only the top 256 directions costs no accuracy in cross-validation (it
    regularises a little) and bounds the solve at variants x 256 x answers per pass.
    """

    def __init__(self, texts: list[str], labels: np.ndarray, n_classes: int, cfg: "MatcherConfig",
                 langs: list[str] | None = None):
        from scipy import sparse

        r, c, counts, names, groups = _clf_features(texts, cfg, langs)
        self.vocab: dict[tuple[int, str], int] = {(int(gr), nm): i for i, (gr, nm) in enumerate(zip(groups.tolist(), names))}
        tf, g = 1.0 + np.log(counts), groups[c]
        n, f = len(texts), len(self.vocab)
        df = np.bincount(c, minlength=f)
        self.idf = np.log((n + 1) / (df + 1.0)) + 1.0
        self.W: np.ndarray | None = None
        if f * n_classes > cfg.clf_max_weights:
            return  # too many weights to hold; the similarity model works alone
        X = sparse.csr_matrix((self._normalise(r, g, tf * self.idf[c], n), (r, c)), shape=(n, f))
        Y = np.zeros((n, n_classes))
        Y[np.arange(n), labels] = 1.0
        # Solved in the span of the variants: the L2-regularised optimum is W = X.T @ A.
        # With K = X @ X.T = U diag(lam) U.T, the coordinates B = sqrt(lam) U.T A turn the
        # problem into a small dense logistic regression on R = U sqrt(lam) (n x rank), as
        # well conditioned as the original, with n x answers unknowns instead of features x answers.
        # Only the top ``clf_rank`` directions are kept (found by randomized subspace
        # iteration, n^2 x rank instead of n^3): U are Ritz vectors, so U.T K U = diag(lam)
        # exactly, the regulariser stays ||B||^2, and R = K U / sqrt(lam) gives the exact
        # training logits of W = X.T U B / sqrt(lam).
        K = (X @ X.T).toarray()
        lam, U = _top_eig(K, cfg.clf_rank)
        keep = lam > 1e-8 * max(float(lam.max(initial=0.0)), 1e-12)
        lam, U = lam[keep], U[:, keep]
        R = ((K @ U) / np.sqrt(lam)).astype(np.float32)
        rank = R.shape[1]
        C = cfg.clf_c
        rows = np.arange(n)

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            B = w[: rank * n_classes].reshape(rank, n_classes)
            Z = (R @ B.astype(np.float32)).astype(np.float64) + w[rank * n_classes :]
            Z -= Z.max(axis=1, keepdims=True)
            lse = np.log(np.exp(Z).sum(axis=1))
            P = np.exp(Z - lse[:, None])
            nll = float((lse - Z[rows, labels]).sum())
            D = C * (P - Y)
            return C * nll + 0.5 * float((B * B).sum()), np.concatenate([(R.T @ D.astype(np.float32) + B).ravel(), D.sum(axis=0)])

        w, self.iterations = _lbfgs(loss, np.zeros(rank * n_classes + n_classes), cfg.clf_iters, tol=cfg.clf_tol, ftol=cfg.clf_ftol)
        A = U @ (w[: rank * n_classes].reshape(rank, n_classes) / np.sqrt(lam)[:, None])
        self.W = np.asarray(X.T @ A, dtype=np.float32)
        self.b = w[rank * n_classes :].astype(np.float32)
        self.cfg = cfg

    @staticmethod
    def _normalise(r: np.ndarray, g: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
        key = r * 2 + g
        sq = np.bincount(key, weights=v * v, minlength=n * 2)
        return v / np.sqrt(np.maximum(sq[key], 1e-30))

    def proba(self, text: str, lang: str = "") -> np.ndarray:
        """Class probabilities of ``text``, stemmed in ``lang`` (as the variants' languages)."""
        _, lc, counts, names, groups = _clf_features([text], self.cfg, [lang])
        c = np.fromiter((self.vocab.get(k, -1) for k in zip(groups[lc].tolist(), (names[i] for i in lc.tolist()))), dtype=np.int64, count=len(lc))
        known = c >= 0
        c, g, tf = c[known], groups[lc][known], 1.0 + np.log(counts[known])
        v = self._normalise(np.zeros(len(c), dtype=np.int64), g, tf * self.idf[c], 1)
        z = (v[:, None] * self.W[c]).sum(axis=0) + self.b if len(c) else self.b.astype(np.float64)
        z = np.exp(z - z.max())
        return z / z.sum()


class EmbeddingClassifier:
    """Multinomial logistic regression over unit-length sentence vectors, fitted at build.

    No size cliff: it starts from the ridge-regression solution (closed form, n·d² + d²·answers
    multiply-adds, well under a second at 10k variants), scaled to the best softmax
    temperature, then runs as many L-BFGS iterations as ``max_work`` allows (each costs about
    n·d·answers). Small answer sets get the converged logistic regression; very large ones the
    scaled ridge model, which is about one point of top-1 behind (bench/README.md).
    Rows of ``X`` that are all zero (variants without a stored vector yet) are left out.
    """

    def __init__(self, X: np.ndarray, labels: np.ndarray, n_classes: int, *, c: float = 10.0, ridge: float = 1.0,
                 iters: int = 200, max_work: float = 2e9):
        from scipy import sparse

        nonzero = np.any(X, axis=1)
        if not nonzero.all():
            X, labels = X[nonzero], np.asarray(labels)[nonzero]
        X = np.ascontiguousarray(X, dtype=np.float32)
        y = np.asarray(labels)
        n, d = X.shape
        self.iterations = 0
        sums = sparse.csr_matrix((np.ones(n, dtype=np.float32), (y, np.arange(n))), shape=(n_classes, n)) @ X
        A = (X.T @ X).astype(np.float64) + ridge * np.eye(d)
        A_inv = np.linalg.inv(A)
        R = (A_inv @ np.asarray(sums, dtype=np.float64).T).astype(np.float32)  # d x answers
        rows = np.arange(n)
        # The temperature is chosen on leave-one-out scores (closed form for ridge:
        # (z - h*y) / (1 - h), h the leverage): on its own training rows ridge is nearly
        # one-hot, which would pick a temperature far too sharp for new questions.
        sample = rows[:: max(1, n // 1000)]
        Xs, ys = X[sample].astype(np.float64), y[sample]
        h = ((Xs @ A_inv) * Xs).sum(axis=1)
        Z0 = Xs @ R.astype(np.float64)
        Z0[np.arange(len(sample)), ys] -= h
        Z0 /= np.maximum(1.0 - h, 1e-6)[:, None]

        def mean_nll(t: float) -> float:
            Z = t * Z0
            Z -= Z.max(axis=1, keepdims=True)
            return float((np.log(np.exp(Z).sum(axis=1)) - Z[np.arange(len(sample)), ys]).mean())

        scale = min((1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0), key=mean_nll) if n else 1.0
        self.scale = scale
        W = (scale * R).astype(np.float32)
        b = np.zeros(n_classes, dtype=np.float32)
        budget = int(min(iters, max_work // max(1, n * d * n_classes)))
        if budget > 0 and n:
            Y = np.zeros((n, n_classes), dtype=np.float32)
            Y[rows, y] = 1.0
            dn = d * n_classes

            def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
                Wm = w[:dn].reshape(d, n_classes).astype(np.float32)
                Z = (X @ Wm).astype(np.float64) + w[dn:]
                Z -= Z.max(axis=1, keepdims=True)
                lse = np.log(np.exp(Z).sum(axis=1))
                P = np.exp(Z - lse[:, None])
                G = (c * (P - Y)).astype(np.float32)
                value = c * float((lse - Z[rows, y]).sum()) + 0.5 * float(np.square(w[:dn]).sum())
                return value, np.concatenate([(X.T @ G + Wm).ravel(), G.sum(axis=0)])

            w, self.iterations = _lbfgs(loss, np.concatenate([W.ravel(), b]).astype(np.float64), budget, tol=1e-3, ftol=1e-5)
            W, b = w[:dn].reshape(d, n_classes).astype(np.float32), w[dn:].astype(np.float32)
        self.W, self.b = W, b

    def logits(self, q: np.ndarray) -> np.ndarray:
        """Unnormalised class scores of the unit vector ``q`` (their maximum, unlike the
        softmax's, stays low for a question near no answer: an out-of-scope signal)."""
        return (q @ self.W + self.b).astype(np.float64)

    def proba(self, q: np.ndarray, z: np.ndarray | None = None) -> np.ndarray:
        """Class probabilities of ``q`` (softmax of ``logits``; pass them if computed)."""
        z = self.logits(q) if z is None else z
        z = np.exp(z - z.max())
        return z / z.sum()
