"""Optimizers with PyTorch's update rules: SGD (momentum, dampening, weight decay) and Adam."""

import numpy as np

from scratch.kernels.adam import COMPILED, adam_step


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


class Adam(Optimizer):
    """Adam (Kingma & Ba) exactly as torch.optim.Adam (L2 weight decay added to the gradient).
    For each parameter p with gradient g, at its t-th step:

    m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2,
    m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t),  p <- p - lr m_hat / (sqrt(v_hat) + eps)

    ``fused=True`` (the default where Numba is there) runs the same rule as one compiled pass
    over each parameter's memory (``scratch.kernels.adam.adam_step``) instead of NumPy's ten.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, fused=None):
        super().__init__(params, lr)
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"betas must lie in [0, 1), got {betas}")
        if eps < 0 or weight_decay < 0:
            raise ValueError(f"eps and weight_decay must be >= 0, got {eps}, {weight_decay}")
        self.betas, self.eps, self.weight_decay = tuple(betas), eps, weight_decay
        self.fused = COMPILED if fused is None else bool(fused)
        self.exp_avg = [np.zeros_like(p.data) for p in self.params]  # m, one per parameter
        self.exp_avg_sq = [np.zeros_like(p.data) for p in self.params]  # v
        self.steps = [0] * len(self.params)  # t, counted per parameter as PyTorch does

    state_names = ("exp_avg", "exp_avg_sq", "step")

    def param_state(self, i: int) -> dict[str, np.ndarray]:
        return {
            "exp_avg": self.exp_avg[i],
            "exp_avg_sq": self.exp_avg_sq[i],
            "step": np.array(self.steps[i], dtype=np.int64),
        }

    def set_param_state(self, i: int, name: str, value: np.ndarray) -> None:
        if name == "step":
            self.steps[i] = int(value)
        else:
            super().set_param_state(i, name, value)

    def step(self) -> None:
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            self.steps[i] += 1
            g, m, v, t = p.grad.data, self.exp_avg[i], self.exp_avg_sq[i], self.steps[i]
            # the one place the path is chosen: the kernel needs p's memory in one piece
            update = self.update_fused if self.fused and p.data.flags.c_contiguous else self.update
            update(p.data, g, m, v, t)

    def update(self, p, g, m, v, t: int) -> None:
        """The rule for one parameter's array ``p`` at step ``t``, in place (the readable path)."""
        b1, b2 = self.betas
        if self.weight_decay:
            g = g + self.weight_decay * p
        m[...] = b1 * m + (1 - b1) * g  # first moment
        v[...] = b2 * v + (1 - b2) * g**2  # second moment
        m_hat = m / (1 - b1**t)  # bias corrections: m and v start at 0
        v_hat = v / (1 - b2**t)
        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)

    def update_fused(self, p, g, m, v, t: int) -> None:
        """The same rule as one compiled pass over the memory instead of NumPy's ten passes."""
        g = np.ascontiguousarray(g, p.dtype).reshape(-1)
        hyper = (self.lr, *self.betas, self.eps, self.weight_decay, t)
        adam_step(p.reshape(-1), g, m.reshape(-1), v.reshape(-1), *hyper)
