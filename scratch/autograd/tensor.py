"""The Tensor: an ndarray that remembers the Function that made it, and reverse-mode backward.

``Tensor.backward`` walks the graph in an iterative topological order (no recursion, so a
100,000-op chain works), hands each Function the gradients of its outputs, and accumulates the
gradients of the leaves into ``.grad`` (a Tensor, so ``x.grad.data`` and ``x.grad.zero_()`` work)
until ``zero_grad()``, as PyTorch does. The arithmetic operators (``+ - * / ** @``, unary minus,
indexing) are installed by ``ops``; the PyTorch-named methods (``view``, ``size``, ``to`` ...) are
defined in the class and call the ops lazily.
"""

import numpy as np

from .dtypes import check_device, is_dtype, to_numpy


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

    __slots__ = ("data", "_grad", "requires_grad", "creator", "index", "__weakref__")

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        """NumPy meeting a Tensor: ``ndarray += tensor`` (an ``out=`` ndarray) updates the ndarray
        in place from the tensor's data, as in PyTorch; ``ndarray + tensor`` is the Tensor op."""
        if method != "__call__" or kwargs:
            return NotImplemented
        if out is not None:
            if not all(isinstance(o, np.ndarray) for o in out):
                return NotImplemented
            data = [x.data if isinstance(x, Tensor) else x for x in inputs]
            return ufunc(*data, out=out)
        op = _UFUNC_OPS.get(ufunc)
        if op is not None and len(inputs) == 2 and inputs[1] is self:
            return getattr(self, op)(inputs[0])
        if any(getattr(x, "requires_grad", False) for x in inputs):
            raise TypeError(
                f"np.{ufunc.__name__} would drop the graph of a tensor that requires grad; "
                "use scratch's function of that name (scratch.exp, ...) or .detach() first"
            )
        return ufunc(*[x.data if isinstance(x, Tensor) else x for x in inputs])

    def __init__(self, data, requires_grad: bool = False):
        self.data = as_array(data)
        self._grad = None
        self.requires_grad = requires_grad
        self.creator = None
        self.index = 0

    @property
    def grad(self) -> "Tensor | None":
        """The accumulated gradient, a Tensor (``.grad.data`` is its ndarray), or None."""
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        self._grad = value if value is None or isinstance(value, Tensor) else Tensor(value)

    # ---- ndarray-like attributes -------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def size(self, dim: int | None = None):
        """torch.Tensor.size: the shape, or its length along ``dim``."""
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self) -> int:
        """torch.Tensor.numel: the number of elements."""
        return self.data.size

    def dim(self) -> int:
        return self.data.ndim

    @property
    def device(self) -> str:
        """Always ``"cpu"``: scratch computes on the CPU (NumPy)."""
        return "cpu"

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

    def zero_(self) -> "Tensor":
        """torch.Tensor.zero_: set every element to 0, in place."""
        self.data[...] = 0
        return self

    def clone(self) -> "Tensor":
        """torch.Tensor.clone: a copy of the data that stays in the graph."""
        return self * 1 if self.requires_grad else Tensor._of(self.data.copy())

    # ---- the operators: each is its op in ops.py ------------------------------------------------
    def __add__(self, other):
        return ops.add(self, other)

    def __radd__(self, other):
        return ops.add(other, self)

    def __sub__(self, other):
        return ops.sub(self, other)

    def __rsub__(self, other):
        return ops.sub(other, self)

    def __mul__(self, other):
        return ops.mul(self, other)

    def __rmul__(self, other):
        return ops.mul(other, self)

    def __truediv__(self, other):
        return ops.div(self, other)

    def __rtruediv__(self, other):
        return ops.div(other, self)

    def __neg__(self):
        return ops.neg(self)

    def __pow__(self, c):
        return ops.pow(self, c)

    def __rpow__(self, other):
        return ops.pow(other, self)

    def __matmul__(self, other):
        return ops.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.matmul(other, self)

    def __getitem__(self, index):
        return ops.getitem(self, index)

    def exp(self) -> "Tensor":
        return ops.exp(self)

    def log(self) -> "Tensor":
        return ops.log(self)

    def sum(self, axis=None, keepdims=False) -> "Tensor":
        return ops.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False) -> "Tensor":
        return ops.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False) -> "Tensor":
        return ops.max(self, axis, keepdims)

    def reshape(self, *shape) -> "Tensor":
        """``t.reshape(2, 3)`` or ``t.reshape((2, 3))``."""
        return ops.reshape(self, _shape_args(shape))

    def transpose(self, *axes) -> "Tensor":
        """All axes reversed, or permuted as ``axes`` (NumPy's transpose)."""
        return ops.transpose(self, _shape_args(axes) or None)

    @property
    def T(self) -> "Tensor":  # noqa: N802 - NumPy's name
        return ops.transpose(self)

    # ---- PyTorch's shape and value methods (the ops are in ops.py) ------------------------------
    def view(self, *shape) -> "Tensor":
        """torch.Tensor.view: the same elements in ``shape`` (one entry may be -1)."""
        return ops.reshape(self, _shape_args(shape))

    def permute(self, *dims) -> "Tensor":
        """torch.Tensor.permute: the axes reordered."""
        return ops.transpose(self, _shape_args(dims))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> "Tensor":
        """torch.Tensor.flatten: dims start_dim..end_dim merged into one."""
        shape = self.data.shape
        if not shape:
            return ops.reshape(self, (1,))
        s, e = start_dim % len(shape), end_dim % len(shape)
        return ops.reshape(self, shape[:s] + (-1,) + shape[e + 1 :])

    def clamp(self, min=None, max=None) -> "Tensor":  # noqa: A002 - PyTorch's names
        """torch.Tensor.clamp: values limited to [min, max]."""
        return ops.clamp(self, min, max)

    def sqrt(self) -> "Tensor":
        return ops.sqrt(self)

    def sin(self) -> "Tensor":
        return ops.sin(self)

    def cos(self) -> "Tensor":
        return ops.cos(self)

    def cpu(self) -> "Tensor":
        return self

    def to(self, target, dtype=None) -> "Tensor":
        """torch.Tensor.to(device) (the CPU: unchanged) or .to(dtype) (a cast, differentiable
        between floating dtypes)."""
        if not is_dtype(target):
            check_device(target)
            return self if dtype is None else self.to(dtype)
        dtype = to_numpy(target)
        if dtype == self.data.dtype:
            return self
        if self.requires_grad and dtype.kind == "f":
            return ops.cast(self, dtype)
        return Tensor._of(self.data.astype(dtype))

    def float(self) -> "Tensor":
        return self.to(np.float32)

    def double(self) -> "Tensor":
        return self.to(np.float64)

    def long(self) -> "Tensor":
        return self.to(np.int64)

    def all(self) -> "Tensor":
        return Tensor._of(np.asarray(self.data.all()))

    def any(self) -> "Tensor":
        return Tensor._of(np.asarray(self.data.any()))

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.data.shape} is ambiguous")
        return bool(self.data)

    # element-wise comparisons give bool tensors (``t == 1``), as in PyTorch; no gradient flows
    def _compare(self, other, op) -> "Tensor":
        return Tensor._of(op(self.data, other.data if isinstance(other, Tensor) else other))

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    __hash__ = object.__hash__  # identity, as torch.Tensor (graphs key Tensors in dicts)

    def __setitem__(self, index, value) -> None:
        """x[index] = value on the data, as PyTorch's in-place assignment. Only outside a graph:
        a tensor that requires grad, or a value that does, is refused (no in-place autograd)."""
        if self.requires_grad or getattr(value, "requires_grad", False):
            raise RuntimeError(
                "in-place assignment into or from a tensor that requires grad is not supported; "
                "build the result with cat/stack, or assign under no_grad() to .data"
            )
        if isinstance(index, Tensor):
            index = index.data
        self.data[index] = value.data if isinstance(value, Tensor) else value

    @staticmethod
    def _of(array: np.ndarray) -> "Tensor":
        """A constant Tensor holding ``array`` as it is, of any dtype (ints, bools, uint8)."""
        t = Tensor.__new__(Tensor)
        t.data, t._grad, t.requires_grad, t.creator, t.index = array, None, False, None, 0
        return t

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


def _shape_args(args):
    """A shape given as separate integers or as one tuple or list."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], tuple | list) else args


def _accumulate(leaf: Tensor, g: np.ndarray, given: set) -> None:
    """leaf.grad += g. A leaf's grad never aliases another array: a view, a read-only broadcast
    or an array already handed to another leaf (``given``: their ids) is copied first."""
    if leaf.grad is not None:
        leaf.grad.data = np.asarray(leaf.grad.data + g)  # (0-d stays an array)
        return
    if g.base is not None or not g.flags.writeable or id(g) in given:
        g = g.copy()
    given.add(id(g))
    leaf.grad = Tensor(g)


_UFUNC_OPS = {  # ndarray (ufunc) Tensor -> the Tensor's reflected operator
    np.add: "__radd__",
    np.subtract: "__rsub__",
    np.multiply: "__rmul__",
    np.true_divide: "__rtruediv__",
    np.power: "__rpow__",
    np.matmul: "__rmatmul__",
    np.equal: "__eq__",
    np.not_equal: "__ne__",
    np.less: "__gt__",
    np.less_equal: "__ge__",
    np.greater: "__lt__",
    np.greater_equal: "__le__",
}


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


from . import ops  # noqa: E402 - ops builds on Tensor; the methods above call it at run time
