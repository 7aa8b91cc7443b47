"""The Tensor: an ndarray that remembers the Function that made it, and reverse-mode backward.

``Tensor.backward`` walks the graph in an iterative topological order (no recursion, so a
100,000-op chain works), hands each Function the gradients of its outputs, and accumulates the
gradients of the leaves into ``.grad`` (plain ndarrays) until ``zero_grad()``, as PyTorch does.
The arithmetic operators (``+ - * / ** @``, unary minus, indexing) are installed by ``ops``.
"""

import numpy as np


class Config:
    """Global switch: while ``enable_grad`` is False, Functions record nothing."""

    enable_grad = True


class no_grad:
    """``with no_grad():`` runs ops without recording a graph (evaluation, optimizer steps)."""

    def __enter__(self):
        self.previous, Config.enable_grad = Config.enable_grad, False

    def __exit__(self, *exc):
        Config.enable_grad = self.previous


def as_array(value) -> np.ndarray:
    """``value`` as a float ndarray: floating ndarrays, NumPy float scalars and Tensors keep their
    dtype; python numbers, lists and integer arrays become float32. Anything else is refused."""
    array = np.asarray(value)
    if array.dtype.kind == "f" and hasattr(value, "dtype"):  # an ndarray, NumPy scalar or Tensor
        return array
    if array.dtype.kind not in "biuf":
        raise ValueError(f"a Tensor holds real numbers, got an array of dtype {array.dtype}")
    return array.astype(np.float32)


class Tensor:
    """An ndarray ``data`` with ``grad``, ``requires_grad`` and its ``creator`` Function.

    ``index`` is the position of this tensor among its creator's outputs.
    """

    __slots__ = ("data", "grad", "requires_grad", "creator", "index", "__weakref__")
    __array_ufunc__ = None  # ndarray (op) Tensor defers to Tensor's reflected operator

    def __init__(self, data, requires_grad: bool = False):
        self.data = as_array(data)
        self.grad = None
        self.requires_grad = requires_grad
        self.creator = None
        self.index = 0

    # ---- ndarray-like attributes -------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, prefix="Tensor(", precision=4)
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({body}, dtype={self.data.dtype}{grad})"

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """``np.asarray(tensor)`` (and matplotlib) see the data."""
        return self.data if dtype is None else self.data.astype(dtype)

    def numpy(self) -> np.ndarray:
        """The data (no copy)."""
        return self.data

    def item(self) -> float:
        """The value of a one-element tensor as a python float."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a one-element tensor, got shape {self.data.shape}")
        return self.data.item()

    def detach(self) -> "Tensor":
        """The same data, cut from the graph (no creator, no grad)."""
        return Tensor(self.data)

    def zero_grad(self) -> None:
        self.grad = None

    # ---- reverse mode ------------------------------------------------------------------------
    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        ``grad`` is the upstream gradient; it may be omitted for a one-element tensor (it is 1).
        The graph is freed afterwards unless ``retain_graph``.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad")
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward() without a gradient needs a one-element tensor, got shape "
                    f"{self.data.shape}; pass grad= of that shape"
                )
            grad = np.ones_like(self.data)
        else:
            grad = np.array(grad.data if isinstance(grad, Tensor) else grad, self.data.dtype)
            if grad.shape != self.data.shape:
                raise ValueError(f"grad has shape {grad.shape}, expected {self.data.shape}")
        if self.creator is None:
            _accumulate(self, grad, set())
            return
        run_backward(self.creator, self.index, grad, retain_graph)


def _accumulate(leaf: Tensor, g: np.ndarray, given: set) -> None:
    """leaf.grad += g. A leaf's grad never aliases another array: a view, a read-only broadcast
    or an array already handed to another leaf (``given``: their ids) is copied first."""
    if leaf.grad is not None:
        leaf.grad = leaf.grad + g
        return
    if g.base is not None or not g.flags.writeable or id(g) in given:
        g = g.copy()
    given.add(id(g))
    leaf.grad = g


def topological_order(root) -> list:
    """The Functions that ``root`` depends on, each after all the Functions it depends on."""
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        f, expanded = stack.pop()
        if expanded:  # every Function f depends on is already in order
            order.append(f)
            continue
        if f in visited:
            continue
        if f.inputs is None:
            raise RuntimeError(
                "the graph was freed by an earlier backward(); pass retain_graph=True to the "
                "first backward() to run it twice"
            )
        visited.add(f)
        stack.append((f, True))
        for x in f.inputs:
            c = x.creator
            if c is not None and c not in visited:
                stack.append((c, False))
    return order


def run_backward(root, index: int, grad: np.ndarray, retain_graph: bool) -> None:
    """Backpropagate ``grad`` (the gradient of output ``index`` of ``root``) through the graph."""
    order = topological_order(root)
    grads = {root: [None] * root.n_outputs}  # Function -> gradients of its outputs
    grads[root][index] = grad
    given = set()  # ids of the arrays handed to leaves as their .grad
    for f in reversed(order):
        gys = grads.pop(f, None)
        if gys is None:  # nothing flows here (an input's gradient was None)
            continue
        for x, gx in f.input_grads(gys):
            c = x.creator
            if c is None:
                _accumulate(x, gx, given)
            else:
                slot = grads.get(c)
                if slot is None:
                    slot = grads[c] = [None] * c.n_outputs
                i = x.index
                slot[i] = gx if slot[i] is None else slot[i] + gx
        if not retain_graph:
            f.release()
