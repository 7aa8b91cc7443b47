"""The Function base class: forward on ndarrays, backward on ndarrays, the graph kept in between.

A subclass writes two methods (DeZero's shape):

    class Exp(Function):
        def forward(self, x):
            self.y = np.exp(x)
            return self.y

        def backward(self, gy):
            return (gy * self.y,)

``backward`` returns one gradient (or None) per input, in the broadcast shape of the forward
computation. The base class sums each one back to its input's shape (unbroadcasting happens here,
once, not in every op) and casts it to the input's dtype.
"""

import numpy as np

from .tensor import Config, Tensor


def sum_to(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``g`` over the axes that broadcasting added or stretched, giving ``shape``."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    return g.sum(axis=axes, keepdims=True).reshape(shape)


class Function:
    """One differentiable operation. ``f(*inputs)`` runs ``forward`` on the inputs' data and, when
    a graph is being recorded and an input requires grad, links the outputs to ``f``."""

    inputs = ()  # the input Tensors (leaves) and Edges while recorded; None once backward freed it
    n_outputs = 1

    def __call__(self, *inputs):
        xs = [x if isinstance(x, Tensor) else _lift(x, inputs) for x in inputs]
        ys = self.forward(*[x.data for x in xs])
        if Config.enable_grad and _any_requires_grad(xs):
            self.inputs = [x if x.creator is None else Edge(x) for x in xs]
            if type(ys) is not tuple:
                return _output(ys, self, 0)
            self.n_outputs = len(ys)
            self.out_meta = [(y.shape, y.dtype) for y in ys]
            return tuple(_output(y, self, i) for i, y in enumerate(ys))
        if type(ys) is not tuple:
            return _constant(ys)
        return tuple(_constant(y) for y in ys)

    def forward(self, *xs):
        raise NotImplementedError

    def backward(self, *gys):
        raise NotImplementedError

    def input_grads(self, gys: list) -> list:
        """[(input, gradient)] for the inputs that require grad, summed back to their shapes."""
        if self.n_outputs > 1:  # an output nobody used has a zero gradient
            gys = [
                np.zeros(s, d) if g is None else g
                for g, (s, d) in zip(gys, self.out_meta, strict=True)
            ]
        gxs = self.backward(*gys)
        if type(gxs) is not tuple:
            gxs = (gxs,)
        pairs = []
        for x, gx in zip(self.inputs, gxs, strict=True):
            if gx is None or not x.requires_grad:
                continue
            shape, dtype = x.shape, x.dtype
            if type(gx) is not np.ndarray:
                gx = np.asarray(gx)
            if gx.shape != shape:
                gx = sum_to(gx, shape)
            if gx.dtype != dtype:
                gx = gx.astype(dtype)
            pairs.append((x, gx))
        return pairs

    def release(self) -> None:
        """Free what forward saved and the links to the inputs (after backward)."""
        self.__dict__.clear()
        self.inputs = None


# ---- the memory and speed machinery: a first reading may skip it --------------------------------
# Function.__call__ above is the whole idea; these helpers make it cheap. Outputs skip Tensor's
# input checks (their data came from NumPy), python numbers take their Tensor's dtype, and a
# recorded intermediate input is kept as an Edge, not a Tensor, so its data can be freed.


def _output(y: np.ndarray, creator, index: int) -> Tensor:
    if type(y) is not np.ndarray:  # NumPy gives scalars for 0-d results: keep ndarrays
        y = np.asarray(y)
    t = Tensor.__new__(Tensor)  # skips the input checks of Tensor(...): y came from NumPy
    t.data, t._grad, t.requires_grad, t.creator, t.index = y, None, True, creator, index
    return t


def _constant(y: np.ndarray) -> Tensor:
    if type(y) is not np.ndarray:
        y = np.asarray(y)
    t = Tensor.__new__(Tensor)
    t.data, t._grad, t.requires_grad, t.creator, t.index = y, None, False, None, 0
    return t


_NUMBERS = (int, float, bool)


def _lift(value, inputs) -> Tensor:
    """A constant input as a Tensor; a python number takes the dtype of the first Tensor input
    (so ``x * 0.1`` stays float32 for float32 ``x`` and is exact for float64 ``x``)."""
    if type(value) in _NUMBERS:  # exactly python's: a NumPy scalar keeps its own dtype
        for x in inputs:
            if isinstance(x, Tensor):
                dtype = x.data.dtype
                if type(value) is float and dtype.kind != "f":  # int tensor * 0.5: float32
                    dtype = np.float32
                return _constant(np.asarray(value, dtype))
    return Tensor(value)


def _any_requires_grad(xs: list) -> bool:
    for x in xs:  # a plain loop: cheaper than any() over a generator on the hot path
        if x.requires_grad:
            return True
    return False


class Edge:
    """What the graph needs of an intermediate input: its creator and place, not its data.

    A Function keeps leaves (which receive ``.grad``) as Tensors and every other input as an Edge,
    so an activation that backward does not need is freed as soon as nothing else holds it (the
    input of a ReLU, of a concat or of an add), as in PyTorch."""

    __slots__ = ("creator", "index", "requires_grad", "shape", "dtype")

    def __init__(self, x: Tensor):
        self.creator, self.index, self.requires_grad = x.creator, x.index, True
        self.shape, self.dtype = x.data.shape, x.data.dtype
