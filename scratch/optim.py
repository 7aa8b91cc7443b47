"""Optimizers with PyTorch's update rules: SGD (momentum, dampening, weight decay) and Adam."""

import numpy as np

from scratch.kernels.adam import adam_step


class Optimizer:
    """Holds the parameters; ``zero_grad()`` clears their gradients, ``step()`` updates them."""

    def __init__(self, params, lr: float):
        self.params = list(params)
        if not self.params:
            raise ValueError("the optimizer got an empty list of parameters")
        if not lr > 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        self.lr = lr

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        raise NotImplementedError

    # ---- state, for checkpoints: flat name -> array, named as PyTorch's (state.<i>.<name>) ----
    def param_state(self, i: int) -> dict[str, np.ndarray]:
        """The state of parameter i (arrays to read and to copy into)."""
        raise NotImplementedError

    def set_param_state(self, i: int, name: str, value: np.ndarray) -> None:
        self.param_state(i)[name][...] = value

    def state_dict(self) -> dict[str, np.ndarray]:
        """{'state.<i>.<name>': array} for the i-th parameter, e.g. ``state.0.exp_avg``."""
        return {
            f"state.{i}.{name}": value
            for i in range(len(self.params))
            for name, value in self.param_state(i).items()
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a ``state_dict()``; a key that fits no parameter or a shape that differs
        raises a ValueError listing them."""
        problems = []
        for key, value in state.items():
            _, i, name = (key.split(".") + ["", ""])[:3]
            if not (key.startswith("state.") and i.isdigit() and int(i) < len(self.params)):
                problems.append(f"unexpected key {key}")
                continue
            own = self.param_state(int(i))
            shape = np.shape(own[name]) if name in own else self.params[int(i)].shape
            if name not in self.state_names or np.shape(value) != shape:
                problems.append(f"{key} with shape {np.shape(value)}")
        if problems:
            raise ValueError(f"cannot load {type(self).__name__} state: " + "; ".join(problems))
        for key, value in state.items():
            _, i, name = key.split(".")
            self.set_param_state(int(i), name, value)


class SGD(Optimizer):
    """g <- g + wd p;  b <- momentum b + (1 - dampening) g (b = g at the first step);
    p <- p - lr b (p <- p - lr g without momentum)."""

    def __init__(self, params, lr: float = 1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0):
        super().__init__(params, lr)
        if momentum < 0 or weight_decay < 0:
            raise ValueError(
                f"momentum and weight_decay must be >= 0, got {momentum}, {weight_decay}"
            )
        self.momentum, self.dampening, self.weight_decay = momentum, dampening, weight_decay
        self.buffers = [None] * len(self.params)

    state_names = ("momentum_buffer",)

    def param_state(self, i: int) -> dict[str, np.ndarray]:
        return {} if self.buffers[i] is None else {"momentum_buffer": self.buffers[i]}

    def set_param_state(self, i: int, name: str, value: np.ndarray) -> None:
        self.buffers[i] = np.array(value, dtype=self.params[i].dtype)

    def step(self) -> None:
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad.data
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            if self.momentum:
                b = self.buffers[i]
                if b is None:
                    b = self.buffers[i] = np.array(g, dtype=p.data.dtype)
                else:
                    b *= self.momentum
                    b += (1 - self.dampening) * g
                g = b
            p.data -= self.lr * g


class _Flat:
    """Parameters of one dtype in one flat buffer; each ``p.data`` becomes a view of its slice,
    so Adam updates them all with one kernel call. ``m``, ``v`` and ``g`` are flat too."""

    def __init__(self, params: list, dtype):
        self.params = params
        sizes = [p.data.size for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        n = self.offsets[-1]
        self.p, self.g = np.empty(n, dtype), np.empty(n, dtype)
        self.m, self.v = np.zeros(n, dtype), np.zeros(n, dtype)
        self.steps = [0] * len(params)
        self.views = [None] * len(params)
        for i in range(len(params)):
            self.attach(i)

    def attach(self, i: int) -> None:
        """Copy parameter i into its slice and make its data a view of it."""
        p, lo, hi = self.params[i], self.offsets[i], self.offsets[i + 1]
        self.p[lo:hi] = p.data.ravel()
        p.data = self.views[i] = self.p[lo:hi].reshape(p.data.shape)

    def slot(self, i: int) -> slice:
        return slice(self.offsets[i], self.offsets[i + 1])


class Adam(Optimizer):
    """Adam (Kingma & Ba) exactly as torch.optim.Adam (L2 weight decay added to the gradient):

    m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2,
    p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"betas must lie in [0, 1), got {betas}")
        if eps < 0 or weight_decay < 0:
            raise ValueError(f"eps and weight_decay must be >= 0, got {eps}, {weight_decay}")
        self.betas, self.eps, self.weight_decay = tuple(betas), eps, weight_decay
        groups = {}
        for p in self.params:
            groups.setdefault(p.data.dtype, []).append(p)
        self.groups = [_Flat(ps, dtype) for dtype, ps in groups.items()]
        where = {id(p): (flat, j) for flat in self.groups for j, p in enumerate(flat.params)}
        self.where = [where[id(p)] for p in self.params]  # parameter i -> (its group, its slot)

    state_names = ("exp_avg", "exp_avg_sq", "step")

    def param_state(self, i: int) -> dict[str, np.ndarray]:
        flat, j = self.where[i]
        s, shape = flat.slot(j), self.params[i].shape
        return {
            "exp_avg": flat.m[s].reshape(shape),
            "exp_avg_sq": flat.v[s].reshape(shape),
            "step": np.array(flat.steps[j], dtype=np.int64),
        }

    def set_param_state(self, i: int, name: str, value: np.ndarray) -> None:
        if name == "step":
            flat, j = self.where[i]
            flat.steps[j] = int(value)
        else:
            super().set_param_state(i, name, value)

    def step(self) -> None:
        b1, b2 = self.betas
        hyper = (self.lr, b1, b2, self.eps, self.weight_decay)
        for flat in self.groups:
            todo = []
            for i, p in enumerate(flat.params):
                if p.data is not flat.views[i]:  # someone replaced p.data: take the new values
                    flat.attach(i)
                if p.grad is not None:
                    flat.g[flat.slot(i)] = p.grad.data.ravel()
                    flat.steps[i] += 1
                    todo.append(i)
            if len(todo) == len(flat.params) and len(set(flat.steps)) == 1:
                adam_step(flat.p, flat.g, flat.m, flat.v, *hyper, flat.steps[0])
            else:  # some parameters got no gradient: update the others one by one
                for i in todo:
                    s = flat.slot(i)
                    adam_step(flat.p[s], flat.g[s], flat.m[s], flat.v[s], *hyper, flat.steps[i])
