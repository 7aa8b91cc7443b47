"""Averaged weights for sampling: an exponential moving average (EMA) of the parameters, the
BatchNorm statistics recomputed for the averaged weights, and an optimizer wrapper that keeps
both in the training checkpoint.

    ema = EMA(model, decay=0.999)
    ...; optimizer.step(); ema.update(model)        # after every step
    with ema.applied_to(model):                     # sample with the averages
        update_batchnorm(model, batches)            # (their own BatchNorm statistics)
"""

from contextlib import contextmanager

import numpy as np

from scratch.autograd import no_grad
from scratch.nn import BatchNorm2d, Module


class UncorrectedEMA(ValueError):
    """An EMA saved before the average was bias-corrected (no ``num_updates``)."""


class EMA:
    """An exponential moving average of weights, bias-corrected as Adam's moments:

        shadow_n = decay shadow_{n-1} + (1 - decay) param_n,   shadow_0 = 0,
        average_n = shadow_n / (1 - decay^n)   (weights (1 - decay) decay^(n-k) / (1 - decay^n)).

    Starting from zero rather than from the initial weights keeps the random initialisation out of
    the average (with shadow_0 = param_0 it would keep the weight decay^n: 10% after 2,300 steps).
    ``params`` is a mapping name -> array (or anything with a ``.data`` array, like a Parameter),
    or a Module (its ``named_parameters()``). Sample with the averages via :meth:`applied_to`.
    """

    def __init__(self, params, decay: float = 0.999):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must lie in [0, 1), got {decay}")
        self.decay, self.num_updates = decay, 0
        self.shadow = {name: np.zeros_like(a) for name, a in _arrays(params).items()}

    def update(self, params) -> None:
        arrays = _arrays(params)
        if arrays.keys() != self.shadow.keys():
            raise ValueError("EMA.update: the parameter names differ from those it was built with")
        for name, a in arrays.items():
            self.shadow[name] += (1.0 - self.decay) * (a - self.shadow[name])
        self.num_updates += 1

    def averages(self) -> dict:
        """name -> average_n = shadow_n / (1 - decay^n)."""
        if self.num_updates == 0:
            raise ValueError("EMA.averages: no update yet, so there is nothing to average")
        correction = 1.0 - self.decay**self.num_updates
        return {name: (a / correction).astype(a.dtype) for name, a in self.shadow.items()}

    def state_dict(self) -> dict:
        """The shadows by name, and ``num_updates`` (n)."""
        state = {name: a.copy() for name, a in self.shadow.items()}
        return {**state, "num_updates": np.array(self.num_updates, dtype=np.int64)}

    def load_state_dict(self, state: dict) -> None:
        if "num_updates" not in state:
            raise UncorrectedEMA(
                "EMA.load_state_dict: no num_updates entry (an EMA saved before the average was "
                "bias-corrected, whose shadow started at the initial weights); sample with the "
                "last weights instead"
            )
        shadow = {name: a for name, a in state.items() if name != "num_updates"}
        if shadow.keys() != self.shadow.keys():
            raise ValueError("EMA.load_state_dict: the names differ from the EMA's parameters")
        self.shadow = {
            name: np.array(a, dtype=self.shadow[name].dtype) for name, a in shadow.items()
        }
        self.num_updates = int(state["num_updates"])

    def copy_to(self, params) -> None:
        """Write the averages into ``params`` in place."""
        averages = self.averages()
        for name, a in _arrays(params).items():
            a[...] = averages[name]

    @contextmanager
    def applied_to(self, params):
        """Temporarily swap the averages into ``params`` (e.g. to sample), then restore them."""
        backup = {name: a.copy() for name, a in _arrays(params).items()}
        self.copy_to(params)
        try:
            yield
        finally:
            for name, a in _arrays(params).items():
                a[...] = backup[name]


def _arrays(params) -> dict:
    """name -> the underlying ndarray (a view, so in-place writes reach the parameter)."""
    if hasattr(params, "named_parameters"):
        params = dict(params.named_parameters())
    return {name: np.asarray(getattr(p, "data", p)) for name, p in params.items()}


def update_batchnorm(model: Module, batches) -> None:
    """Recompute the running statistics of every BatchNorm2d in ``model`` as the plain mean over
    ``batches`` (each a tuple of the model's arguments), run in training mode without gradients,
    as ``torch.optim.swa_utils.update_bn``. Averaged weights (an EMA) need the statistics of their
    own activations: those kept while training belong to the last weights."""
    norms = [m for m in model.modules() if isinstance(m, BatchNorm2d)]
    momenta, training = [m.momentum for m in norms], model.training
    for m in norms:
        m.running_mean[...], m.running_var[...], m.num_batches_tracked[...] = 0, 1, 0
        m.momentum = None
    model.train()
    try:
        with no_grad():
            for args in batches:
                model(*args)
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        model.train(training)


class WithEMA:
    """An optimizer whose ``step()`` is followed by ``ema.update(model)``. Its state_dict holds the
    optimizer's entries, the EMA's as ``ema.<name>`` and, as ``ema_buffers.<name>``, the
    BatchNorm statistics of the averaged weights, recomputed on ``batches()`` (tuples of model
    arguments); so the shared loop checkpoints and resumes all of it, and the checkpoint holds a
    complete averaged model to sample with."""

    def __init__(self, optimizer, model, batches, decay: float = 0.999):
        self.optimizer, self.model, self.batches = optimizer, model, batches
        self.ema = EMA(model, decay)

    def zero_grad(self) -> None:
        self.optimizer.zero_grad()

    def step(self) -> None:
        self.optimizer.step()
        self.ema.update(self.model)

    def averaged_buffers(self) -> dict:
        """The BatchNorm statistics that the averaged weights give; the model keeps its own."""
        own = {name: b.copy() for name, b in self.model.named_buffers()}
        with self.ema.applied_to(self.model):
            update_batchnorm(self.model, self.batches())
            averaged = {name: b.copy() for name, b in self.model.named_buffers()}
        for name, b in self.model.named_buffers():
            b[...] = own[name]
        return averaged

    def state_dict(self) -> dict:
        ema = {f"ema.{k}": v for k, v in self.ema.state_dict().items()}
        buffers = {f"ema_buffers.{k}": v for k, v in self.averaged_buffers().items()}
        return {**self.optimizer.state_dict(), **ema, **buffers}

    def load_state_dict(self, state: dict) -> None:
        ema, _, rest = split_ema(state)  # the buffers are recomputed at every save
        self.optimizer.load_state_dict(rest)
        self.ema.load_state_dict(ema)


def split_ema(optimizer_state: dict) -> tuple[dict, dict, dict]:
    """A checkpoint's optimizer entries as (EMA state, averaged BatchNorm buffers, the rest)."""
    parts = {"ema.": {}, "ema_buffers.": {}, "": {}}
    for k, v in optimizer_state.items():
        prefix = next(p for p in parts if k.startswith(p))
        parts[prefix][k[len(prefix) :]] = v
    return parts["ema."], parts["ema_buffers."], parts[""]
