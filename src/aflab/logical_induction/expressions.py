"""Trading expressions (expressible features, Garrabrant et al. 2016 def. 3.4.3) as a shared DAG.

An expressible feature is built from rational constants, the price ``P_i(phi)`` of a sentence on a
day ``i``, sums, products, ``max`` and the safe reciprocal ``1/max(1, x)``; ``min``, ``abs`` and the
s-curves traders use are derived (``clip`` to constant bounds is one node). A trader's day-``n`` trade is
one expression per sentence (the number of shares to buy; negative = sell).

Everything is *vectorised*: an :class:`Expr` is an array of node ids, and every operation appends a
whole array of nodes to the :class:`ExpressionGraph` in one NumPy call, so building 10,000
per-sentence trades costs a handful of array operations. Evaluation runs level by level (nodes at
the same depth and of the same kind in one NumPy call) for a *batch* of price vectors at once.

Each node also carries a sound interval bound ``[lo, hi]`` that holds for every price vector in
``[0, 1]^N`` (the paper's ``||T||_mg`` bound, used by the TradingFirm's budget levels). Bounds are
rounded outward by one ulp per operation so floating-point evaluation never escapes them.

Unlike the PyPI ``logicalinduction`` package, whose ``Min.bound()`` returns the *smaller* of the
children's bounds (unsound: ``min(-5, 1)`` has magnitude 5 > 1), ``min`` here is ``-max(-a, -b)``
and inherits max's sound interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OP_CONST, OP_PRICE, OP_ADD, OP_MUL, OP_MAX, OP_SRECIP, OP_CLIP, OP_AFFCLIP, OP_ADDC, OP_MULC = range(10)


def _down(x: np.ndarray) -> np.ndarray:
    return np.nextafter(x, -np.inf)


def _up(x: np.ndarray) -> np.ndarray:
    return np.nextafter(x, np.inf)


@dataclass(frozen=True)
class Expr:
    """A vector of expression nodes (one per sentence traded, usually) in an :class:`ExpressionGraph`."""

    graph: ExpressionGraph
    ids: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def _other(self, x) -> Expr:
        if isinstance(x, Expr):
            return x
        arr = np.asarray(x, dtype=float)
        if arr.ndim == 0:  # one shared constant node, broadcast by id
            return Expr(self.graph, np.full(self.ids.shape, self.graph.const(arr).ids[0]))
        return self.graph.const(np.broadcast_to(arr, self.ids.shape))

    def _constant(self, x) -> np.ndarray:
        return np.broadcast_to(np.asarray(x, dtype=float), self.ids.shape)

    def __add__(self, x):
        if isinstance(x, Expr):
            return self.graph.add(self, x)
        return self.graph.add_const(self, self._constant(x))

    __radd__ = __add__

    def __mul__(self, x):
        if isinstance(x, Expr):
            return self.graph.mul(self, x)
        return self.graph.mul_const(self, self._constant(x))

    __rmul__ = __mul__

    def __neg__(self):
        return self.graph.mul_const(self, self._constant(-1.0))

    def __sub__(self, x):
        return self + (-x if isinstance(x, Expr) else -self._constant(x))

    def __rsub__(self, x):
        return (-self) + x

    def __getitem__(self, idx) -> Expr:
        return Expr(self.graph, np.atleast_1d(self.ids[idx]))

    @property
    def lo(self) -> np.ndarray:
        return self.graph.lo[self.ids]

    @property
    def hi(self) -> np.ndarray:
        return self.graph.hi[self.ids]

    @property
    def magnitude_bound(self) -> np.ndarray:
        """Sound bound on ``|value|`` for every price vector."""
        return np.maximum(np.abs(self.lo), np.abs(self.hi))


class ExpressionGraph:
    """An append-only arena of expression nodes over ``n_prices`` variable prices (today's prices).

    Prices of past days are known constants when a trader builds its day-``n`` trade, so only
    today's prices are variables: ``price(j)`` is the price of today's sentence number ``j``.
    """

    def __init__(self, n_prices: int):
        if n_prices < 0:
            raise ValueError("n_prices must be >= 0")
        self.n_prices = n_prices
        self._cap = 1024
        self.op = np.zeros(self._cap, dtype=np.int8)
        self.a = np.zeros(self._cap, dtype=np.int64)
        self.b = np.zeros(self._cap, dtype=np.int64)
        self.val = np.zeros(self._cap)
        self.val2 = np.zeros(self._cap)  # OP_CLIP / OP_AFFCLIP: val = lower, val2 = upper bound
        self.val3 = np.zeros(self._cap)  # OP_AFFCLIP: scale
        self.val4 = np.zeros(self._cap)  # OP_AFFCLIP: offset
        self.level = np.zeros(self._cap, dtype=np.int32)
        self.lo = np.zeros(self._cap)
        self.hi = np.zeros(self._cap)
        self.size = 0
        self._plan = None
        self._price_leaf: np.ndarray | None = None
        self._scalar: dict[float, int] = {}
        self._memo: dict[tuple, Expr] = {}
        self._cones: dict[bytes, tuple] = {}
        self._base_key: bytes | None = None
        self._base_vals: np.ndarray | None = None

    # -- node creation ----------------------------------------------------------------------------
    def _append(self, op, a, b, val, level, lo, hi, val2=0.0, val3=0.0, val4=0.0) -> Expr:
        k = len(level)
        while self.size + k > self._cap:
            self._cap *= 2
            for name in ("op", "a", "b", "val", "val2", "val3", "val4", "level", "lo", "hi"):
                arr = getattr(self, name)
                new = np.zeros(self._cap, dtype=arr.dtype)
                new[: len(arr)] = arr
                setattr(self, name, new)
        sl = slice(self.size, self.size + k)
        self.op[sl], self.a[sl], self.b[sl], self.val[sl], self.val2[sl] = op, a, b, val, val2
        self.val3[sl], self.val4[sl] = val3, val4
        self.level[sl], self.lo[sl], self.hi[sl] = level, lo, hi
        ids = np.arange(self.size, self.size + k)
        self.size += k
        self._plan = None
        self._cones.clear()
        self._base_key = None
        return Expr(self, ids)

    def const(self, values) -> Expr:
        v = np.atleast_1d(np.asarray(values, dtype=float))
        if len(v) == 1:  # scalar constants are shared nodes
            hit = self._scalar.get(float(v[0]))
            if hit is not None:
                return Expr(self, np.array([hit]))
        if not np.all(np.isfinite(v)):
            raise ValueError("expression constants must be finite")
        z = np.zeros(len(v), dtype=np.int64)
        out = self._append(OP_CONST, z, z, v, np.zeros(len(v), np.int32), v, v)
        if len(v) == 1:
            self._scalar[float(v[0])] = int(out.ids[0])
        return out

    def price(self, index) -> Expr:
        """Today's price of sentence number ``index`` (array of indices into the day's price vector);
        one shared leaf node per sentence."""
        idx = np.atleast_1d(np.asarray(index, dtype=np.int64))
        if len(idx) and (idx.min() < 0 or idx.max() >= self.n_prices):
            raise ValueError(f"price index out of range [0, {self.n_prices})")
        if self._price_leaf is None:
            z = np.zeros(self.n_prices)
            all_idx = np.arange(self.n_prices)
            self._price_leaf = self._append(
                OP_PRICE, all_idx, all_idx, z, np.zeros(self.n_prices, np.int32), z, z + 1.0
            ).ids
        return Expr(self, self._price_leaf[idx])

    def _binary(self, op, x: Expr, y: Expr) -> Expr:
        xa, ya = np.broadcast_arrays(x.ids, y.ids)
        lx, hx, ly, hy = self.lo[xa], self.hi[xa], self.lo[ya], self.hi[ya]
        if op == OP_ADD:
            lo, hi = _down(lx + ly), _up(hx + hy)
        elif op == OP_MUL:
            c = np.stack([lx * ly, lx * hy, hx * ly, hx * hy])
            lo, hi = _down(c.min(0)), _up(c.max(0))
        else:  # max
            lo, hi = np.maximum(lx, ly), np.maximum(hx, hy)
        level = np.maximum(self.level[xa], self.level[ya]) + 1
        return self._append(op, xa.copy(), ya.copy(), np.zeros(len(xa)), level, lo, hi)

    def add_const(self, x: Expr, c: np.ndarray) -> Expr:
        """``x + c`` for constants ``c`` (one per entry): one node, no constant nodes to write or read."""
        c = np.ascontiguousarray(c, dtype=float)
        if not np.all(np.isfinite(c)):
            raise ValueError("expression constants must be finite")
        ids = x.ids
        lo, hi = _down(self.lo[ids] + c), _up(self.hi[ids] + c)
        return self._append(OP_ADDC, ids.copy(), ids.copy(), c, self.level[ids] + 1, lo, hi)

    def mul_const(self, x: Expr, c: np.ndarray) -> Expr:
        """``x * c`` for constants ``c`` (one per entry): one node."""
        c = np.ascontiguousarray(c, dtype=float)
        if not np.all(np.isfinite(c)):
            raise ValueError("expression constants must be finite")
        ids = x.ids
        p1, p2 = self.lo[ids] * c, self.hi[ids] * c
        lo, hi = _down(np.minimum(p1, p2)), _up(np.maximum(p1, p2))
        return self._append(OP_MULC, ids.copy(), ids.copy(), c, self.level[ids] + 1, lo, hi)

    def add(self, x: Expr, y: Expr) -> Expr:
        return self._binary(OP_ADD, x, y)

    def mul(self, x: Expr, y: Expr) -> Expr:
        return self._binary(OP_MUL, x, y)

    def max(self, x: Expr, y: Expr) -> Expr:
        return self._binary(OP_MAX, x, y)

    def safe_reciprocal(self, x: Expr) -> Expr:
        """``1 / max(1, x)`` (the paper's only division)."""
        lo = _down(1.0 / np.maximum(1.0, self.hi[x.ids]))
        hi = _up(1.0 / np.maximum(1.0, self.lo[x.ids]))
        return self._append(OP_SRECIP, x.ids.copy(), x.ids.copy(), np.zeros(len(x)), self.level[x.ids] + 1, lo, hi)

    # derived features
    def min(self, x: Expr, y: Expr) -> Expr:
        return -self.max(-x, -y)

    def clip(self, x: Expr, low: float, high: float) -> Expr:
        """``min(max(x, low), high)`` for constant bounds: one node (the same numbers as the derived
        ``min(max(x, low), high)``; the interval bound is clipped exactly)."""
        low, high = float(low), float(high)
        if not low <= high:
            raise ValueError(f"clip needs low <= high, got {low} > {high}")
        ids = x.ids
        lo = np.clip(self.lo[ids], low, high)
        hi = np.clip(self.hi[ids], low, high)
        return self._append(OP_CLIP, ids.copy(), ids.copy(), low, self.level[ids] + 1, lo, hi, high)

    def abs(self, x: Expr) -> Expr:
        return self.max(x, -x)

    def affine_clip(self, x: Expr, scale, offset, low: float, high: float) -> Expr:
        """``clip(x * scale + offset, low, high)`` in one node (``scale``/``offset`` per entry or shared):
        the same numbers as ``clip((x * scale) + offset, low, high)`` built from three nodes. The bound
        of the affine part is rounded outward, then clipped exactly."""
        low, high = float(low), float(high)
        if not low <= high:
            raise ValueError(f"clip needs low <= high, got {low} > {high}")
        ids = x.ids
        sc = np.broadcast_to(np.asarray(scale, dtype=float), ids.shape).copy()
        of = np.broadcast_to(np.asarray(offset, dtype=float), ids.shape).copy()
        if not (np.all(np.isfinite(sc)) and np.all(np.isfinite(of))):
            raise ValueError("expression constants must be finite")
        c1, c2 = self.lo[ids] * sc, self.hi[ids] * sc
        lo = np.clip(_down(np.minimum(c1, c2) + of), low, high)
        hi = np.clip(_up(np.maximum(c1, c2) + of), low, high)
        return self._append(OP_AFFCLIP, ids.copy(), ids.copy(), low, self.level[ids] + 1, lo, hi, high, sc, of)

    def s_curve(self, target, price: Expr, slope: float = 10.0) -> Expr:
        """``clip(slope * (target - price), -1, 1)``: buy below ``target``, sell above, at most one share.
        Memoised: traders running the same program on the same sentences share the nodes."""
        t = np.asarray(target, dtype=float)
        key = ("s_curve", t.tobytes(), t.shape, price.ids.tobytes(), float(slope))
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = self.affine_clip(price, -slope, t * slope, -1.0, 1.0)
        return hit

    # -- evaluation --------------------------------------------------------------------------------
    def _build_plan(self):
        n = self.size
        if n == 0:  # no trader traded today: nothing to evaluate
            self._plan = []
            return
        order = np.lexsort((self.op[:n], self.level[:n]))
        keys = self.level[:n][order].astype(np.int64) * 16 + self.op[:n][order]
        cut = np.flatnonzero(np.diff(keys)) + 1
        groups = []
        for grp in np.split(order, cut):
            groups.append((int(self.op[grp[0]]), grp, self.a[grp], self.b[grp]))
        self._plan = groups

    def evaluate(self, expr: Expr, prices: np.ndarray) -> np.ndarray:
        """Values of ``expr`` for a price vector (N,) -> (len,), or a batch (B, N) -> (B, len)."""
        return self.evaluate_all(prices)[..., expr.ids]

    def evaluate_all(self, prices: np.ndarray) -> np.ndarray:
        p = np.asarray(prices, dtype=float)
        single = p.ndim == 1
        p2 = p[None, :] if single else p
        if p2.shape[1] != self.n_prices:
            raise ValueError(f"expected {self.n_prices} prices, got {p2.shape[1]}")
        if self._plan is None:
            self._build_plan()
        vals = np.empty((self.size, p2.shape[0]))  # every node is written, in level order
        pt = p2.T
        for op, grp, a, b in self._plan:
            if op == OP_CONST:
                vals[grp] = self.val[grp, None]
            elif op == OP_PRICE:
                vals[grp] = pt[a]
            elif op == OP_ADD:
                vals[grp] = vals[a] + vals[b]
            elif op == OP_ADDC:
                vals[grp] = vals[a] + self.val[grp, None]
            elif op == OP_MULC:
                vals[grp] = vals[a] * self.val[grp, None]
            elif op == OP_MUL:
                vals[grp] = vals[a] * vals[b]
            elif op == OP_MAX:
                vals[grp] = np.maximum(vals[a], vals[b])
            elif op == OP_CLIP:
                vals[grp] = np.minimum(np.maximum(vals[a], self.val[grp, None]), self.val2[grp, None])
            elif op == OP_AFFCLIP:
                aff = vals[a] * self.val3[grp, None] + self.val4[grp, None]
                vals[grp] = np.minimum(np.maximum(aff, self.val[grp, None]), self.val2[grp, None])
            else:
                vals[grp] = 1.0 / np.maximum(1.0, vals[a])
        out = vals.T
        return out[0] if single else out

    def evaluate_at(
        self, prices: np.ndarray, ids: np.ndarray, base: np.ndarray | None = None, vary: np.ndarray | None = None
    ) -> np.ndarray:
        """Values of nodes ``ids`` for a batch of price vectors ``(B, N) -> (B, len(ids))``.

        With ``base`` (N,) and a boolean mask ``vary`` (N,) such that every row of ``prices`` equals
        ``base`` outside ``vary``, only the nodes that read a varied price (their forward cone) are
        recomputed; every other node keeps its value at ``base``. The numbers are the same as
        :meth:`evaluate_all` (same operations on the same operands), with far less work when a
        k-section moves a few sentences' prices (one colour of a Gauss-Seidel sweep)."""
        p2 = np.atleast_2d(np.asarray(prices, dtype=float))
        if base is None or vary is None:
            return self.evaluate_all(p2)[:, ids]
        if self._plan is None:
            self._build_plan()
        base = np.asarray(base, dtype=float)
        bkey = base.tobytes()
        if self._base_key != bkey:
            self._base_vals, self._base_key = self.evaluate_all(base), bkey
        base_vals = self._base_vals
        dep, groups, ext = self._cone(np.asarray(vary, dtype=bool))
        B = p2.shape[0]
        vals = np.empty((self.size, B))
        vals[ext] = base_vals[ext, None]
        pt = p2.T
        for op, grp, a, b in groups:
            if op == OP_PRICE:
                vals[grp] = pt[a]
            elif op == OP_ADD:
                vals[grp] = vals[a] + vals[b]
            elif op == OP_ADDC:
                vals[grp] = vals[a] + self.val[grp, None]
            elif op == OP_MULC:
                vals[grp] = vals[a] * self.val[grp, None]
            elif op == OP_MUL:
                vals[grp] = vals[a] * vals[b]
            elif op == OP_MAX:
                vals[grp] = np.maximum(vals[a], vals[b])
            elif op == OP_CLIP:
                vals[grp] = np.minimum(np.maximum(vals[a], self.val[grp, None]), self.val2[grp, None])
            elif op == OP_AFFCLIP:
                aff = vals[a] * self.val3[grp, None] + self.val4[grp, None]
                vals[grp] = np.minimum(np.maximum(aff, self.val[grp, None]), self.val2[grp, None])
            else:
                vals[grp] = 1.0 / np.maximum(1.0, vals[a])
        ids = np.asarray(ids, dtype=np.int64)
        out = np.repeat(base_vals[ids][None, :], B, axis=0)
        moving = dep[ids]
        out[:, moving] = vals[ids[moving]].T
        return out

    def _cone(self, vary: np.ndarray):
        """Nodes that read a price in ``vary`` (bool per node), the plan restricted to them, and the
        operands outside the cone that they read (filled from the base values). Cached per mask."""
        key = vary.tobytes()
        hit = self._cones.get(key)
        if hit is not None:
            return hit
        n = self.size
        dep = np.zeros(n, dtype=bool)
        groups = []
        for op, grp, a, b in self._plan:  # level order: operands before the nodes reading them
            if op == OP_CONST:
                continue
            if op == OP_PRICE:
                d = vary[a]
            else:
                d = dep[a] | dep[b]
            if d.any():
                dep[grp[d]] = True
                groups.append((op, grp[d], a[d], b[d]))
        if groups:
            operands = np.concatenate(
                [np.concatenate([a, b]) for op, _, a, b in groups if op != OP_PRICE] or [np.zeros(0, dtype=np.int64)]
            )
            ext = np.unique(operands[~dep[operands]])
        else:
            ext = np.zeros(0, dtype=np.int64)
        if len(self._cones) > 256:
            self._cones.clear()
        self._cones[key] = hit = (dep, groups, ext)
        return hit
