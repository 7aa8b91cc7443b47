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

    def step(self) -> None:
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:
                continue
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

    def step(self) -> None:
        b1, b2 = self.betas
        hyper = (self.lr, b1, b2, self.eps, self.weight_decay)
        for flat in self.groups:
            todo = []
            for i, p in enumerate(flat.params):
                if p.data is not flat.views[i]:  # someone replaced p.data: take the new values
                    flat.attach(i)
                if p.grad is not None:
                    flat.g[flat.slot(i)] = p.grad.ravel()
                    flat.steps[i] += 1
                    todo.append(i)
            if len(todo) == len(flat.params) and len(set(flat.steps)) == 1:
                adam_step(flat.p, flat.g, flat.m, flat.v, *hyper, flat.steps[0])
            else:  # some parameters got no gradient: update the others one by one
                for i in todo:
                    s = flat.slot(i)
                    adam_step(flat.p[s], flat.g[s], flat.m[s], flat.v[s], *hyper, flat.steps[i])
