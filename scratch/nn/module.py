"""Module and Parameter: PyTorch's way of holding a model's weights.

Assigning a ``Parameter``, a ``Module`` or (through ``register_buffer``) an ndarray to an attribute
registers it under that name; names nest with dots (``encoder.linear.weight``), so a state_dict
saved from the book's PyTorch model loads without renaming.
"""

from collections.abc import Iterator, Mapping

import numpy as np

from scratch.autograd import Tensor
from scratch.autograd.dtypes import check_device, is_dtype, to_numpy


class Parameter(Tensor):
    """A Tensor that a Module trains: ``requires_grad`` is True."""

    __slots__ = ()

    def __init__(self, data):
        super().__init__(data, requires_grad=True)

    def __repr__(self) -> str:
        return "Parameter" + super().__repr__()[len("Tensor") :]


class Module:
    """Base class of layers and models: subclasses set attributes in ``__init__`` and write
    ``forward``; ``module(x)`` calls it."""

    def __init__(self):
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"call super().__init__() in {type(self).__name__}.__init__ first")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._buffers.pop(name, None)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._buffers.pop(name, None)
            self._modules[name] = value
        elif name in self._buffers:  # a buffer given a new array stays a buffer
            self._buffers[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name: str, value: np.ndarray) -> None:
        """Keep ``value`` (an ndarray, e.g. a running mean) in the state_dict, not trained."""
        self._buffers[name] = value
        object.__setattr__(self, name, value)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ---- walking the tree ----------------------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def children(self) -> Iterator["Module"]:
        yield from self._modules.values()

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        seen = set()
        for prefix, m in self.named_modules():
            for name, p in m._parameters.items():
                if id(p) not in seen:  # a shared parameter is listed once
                    seen.add(id(p))
                    yield (f"{prefix}.{name}" if prefix else name), p

    def parameters(self) -> Iterator[Parameter]:
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        for prefix, m in self.named_modules():
            for name, b in m._buffers.items():
                yield (f"{prefix}.{name}" if prefix else name), b

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def to(self, target) -> "Module":
        """torch.nn.Module.to: a device (only the CPU: unchanged) or a floating dtype, to which
        the parameters and floating buffers are cast in place."""
        if not is_dtype(target):
            check_device(target)
            return self
        dtype = to_numpy(target)
        if dtype.kind != "f":
            raise ValueError(f"Module.to() takes a floating dtype, got {dtype}")
        for p in self.parameters():
            p.data, p.grad = p.data.astype(dtype), None
        for m in self.modules():
            for name, b in list(m._buffers.items()):
                if b.dtype.kind == "f":
                    setattr(m, name, b.astype(dtype))
        return self

    def train(self, mode: bool = True) -> "Module":
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    # ---- state -----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """name -> array (parameters and buffers), the arrays themselves (not copies)."""
        state = {name: p.data for name, p in self.named_parameters()}
        state.update(self.named_buffers())
        return state

    def load_state_dict(self, state: dict, strict: bool = True) -> tuple[list, list]:
        """Copy the arrays of ``state`` into this module's parameters and buffers (in place, so
        whoever holds these arrays sees the new values). Returns (missing, unexpected) keys;
        with ``strict`` any missing key, unexpected key or shape mismatch raises a ValueError
        listing them all."""
        if not isinstance(state, Mapping):
            raise TypeError(
                f"load_state_dict expects a mapping of names to arrays (a state_dict), got "
                f"{type(state).__name__}"
            )
        own = dict(self.named_parameters())
        buffers = dict(self.named_buffers())
        missing = [k for k in [*own, *buffers] if k not in state]
        unexpected = [k for k in state if k not in own and k not in buffers]
        mismatched = [
            f"{k}: checkpoint {np.shape(state[k])}, model {np.shape(v.data if k in own else v)}"
            for k, v in {**own, **buffers}.items()
            if k in state and np.shape(state[k]) != np.shape(v.data if k in own else v)
        ]
        if mismatched or (strict and (missing or unexpected)):
            problems = [
                f"{what}: {', '.join(keys)}"
                for what, keys in (
                    ("missing keys", missing),
                    ("unexpected keys", unexpected),
                    ("shape mismatches", mismatched),
                )
                if keys
            ]
            raise ValueError(
                f"cannot load state_dict into {type(self).__name__}; " + "; ".join(problems)
            )
        for k, p in own.items():
            if k in state:
                p.data[...] = state[k]
        for prefix, m in self.named_modules():
            for name in list(m._buffers):
                key = f"{prefix}.{name}" if prefix else name
                if key in state and isinstance(m._buffers[name], np.ndarray):
                    m._buffers[name][...] = state[key]
                elif key in state:  # e.g. a buffer still None
                    setattr(m, name, np.array(state[key]))
        return missing, unexpected

    def __repr__(self) -> str:
        lines = [
            f"  ({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()
        ]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"

    def extra_repr(self) -> str:
        return ""
