"""Random straight-line trading-expression programs, shared by the expression and speed-up tests."""

from hypothesis import strategies as st

N_PRICES = 4


@st.composite
def programs(draw):
    """A random straight-line program over prices and constants: list of (op, i, j, const)."""
    n = draw(st.integers(1, 25))
    prog = []
    for k in range(n):
        op = draw(st.sampled_from(["const", "price", "add", "mul", "max", "min", "srecip", "abs", "clip", "neg"]))
        i = draw(st.integers(0, max(0, k - 1)))
        j = draw(st.integers(0, max(0, k - 1)))
        c = draw(st.floats(-5, 5, allow_nan=False))
        if k == 0 and op not in ("const", "price"):
            op = "price"
        prog.append((op, i, j, c))
    return prog


def build(prog, g):
    nodes = []
    for op, i, j, c in prog:
        if op == "const":
            e = g.const([c])
        elif op == "price":
            e = g.price([i % N_PRICES])
        elif op == "add":
            e = nodes[i] + nodes[j]
        elif op == "mul":
            e = nodes[i] * nodes[j]
        elif op == "max":
            e = g.max(nodes[i], nodes[j])
        elif op == "min":
            e = g.min(nodes[i], nodes[j])
        elif op == "srecip":
            e = g.safe_reciprocal(nodes[i])
        elif op == "abs":
            e = g.abs(nodes[i])
        elif op == "clip":
            e = g.clip(nodes[i], -abs(c), abs(c))
        else:
            e = -nodes[i]
        nodes.append(e)
    return nodes
