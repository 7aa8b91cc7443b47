"""``scratch regression``: step 6, gradient descent with the autograd. First a linear regression
y = x W + b fitted to y = 5 + 2x + U(0, 1); then the sin curve y = sin(2 pi x) + U(0, 1) fitted by a
1-10-1 MLP with a sigmoid hidden layer, SGD lr 0.2, 10000 iterations (the book's settings)."""

import matplotlib.pyplot as plt
import numpy as np

from scratch import Tensor, nn, no_grad
from scratch.nn import functional as F
from scratch.optim import SGD
from scratch.viz import save

from ._common import integer, make_parser, parse, quick_defaults, write_json


class Model(nn.Module):
    """The book's MLP: linear1 -> sigmoid -> linear2."""

    def __init__(self, input_size: int = 1, hidden_size: int = 10, output_size: int = 1):
        super().__init__()
        self.linear1 = nn.Linear(input_size, hidden_size)
        self.linear2 = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        y = self.linear1(x)
        y = F.sigmoid(y)
        y = self.linear2(y)
        return y


def linear_regression(x: np.ndarray, y: np.ndarray, lr: float = 0.1, iters: int = 100):
    """Fit y = x W + b by plain gradient descent on the mean squared error, as in the book:
    W <- W - lr dL/dW, b <- b - lr dL/db. x, y: (N, 1). Returns W (1, 1), b (1,), losses."""
    W = Tensor(np.zeros((1, 1), np.float32), requires_grad=True)
    b = Tensor(np.zeros(1, np.float32), requires_grad=True)
    losses = []
    for i in range(iters):
        y_hat = x @ W + b  # (N, 1)
        loss = F.mse_loss(y_hat, y)
        loss.backward()
        W.data -= lr * W.grad
        b.data -= lr * b.grad
        W.grad = b.grad = None
        losses.append(loss.item())
        if i % 10 == 0:
            print(f"  linear regression  iter {i:5d}  loss {losses[-1]:.6f}")
    return W.data, b.data, losses


def fit_sin(x: np.ndarray, y: np.ndarray, lr: float = 0.2, iters: int = 10000):
    """Fit the book's 1-10-1 sigmoid MLP to (x, y) with SGD; print the loss every 1000 steps."""
    model = Model()
    optimizer = SGD(model.parameters(), lr=lr)
    x_t = Tensor(x)
    losses = []
    for i in range(iters):
        y_pred = model(x_t)
        loss = F.mse_loss(y_pred, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if i % 1000 == 0:
            print(f"  sin fit            iter {i:5d}  loss {losses[-1]:.6f}")
    return model, losses


def main(argv=None) -> dict:
    parser = make_parser("regression", __doc__)
    parser.add_argument(
        "--iters", type=integer(1), help="sin-fit iterations (default 10000, --quick too)"
    )
    args = parse(parser, argv)
    # --quick as well: SGD leaves the straight line only after about 5000 iterations (5 s)
    quick_defaults(args, iters=(10000, 10000))
    iters = args.iters
    rng = np.random.default_rng(args.seed)
    nn.init.manual_seed(args.seed)

    # linear regression on y = 5 + 2x + U(0, 1)
    x = rng.random((100, 1)).astype(np.float32)  # (100, 1)
    y = (5 + 2 * x + rng.random((100, 1))).astype(np.float32)
    W, b, lin_losses = linear_regression(x, y)
    print(f"linear regression: W = {W[0, 0]:.4f}, b = {b[0]:.4f}, loss {lin_losses[-1]:.6f}")
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4))
    ax0.scatter(x[:, 0], y[:, 0], s=10)
    grid = np.array([[0.0], [1.0]], np.float32)
    ax0.plot(grid[:, 0], (grid @ W + b)[:, 0], "r", label=f"y = {W[0, 0]:.2f} x + {b[0]:.2f}")
    ax0.set(xlabel="x", ylabel="y", title="linear regression by gradient descent")
    ax0.legend()
    ax1.plot(lin_losses)
    ax1.set(xlabel="iteration", ylabel="mean squared error", yscale="log", title="loss")
    linear_png = save(fig, args.out / "linear_regression.png")

    # the sin curve with the 1-10-1 sigmoid MLP
    x = rng.random((100, 1)).astype(np.float32)
    y = (np.sin(2 * np.pi * x) + rng.random((100, 1))).astype(np.float32)
    model, sin_losses = fit_sin(x, y, iters=iters)
    print(f"sin fit: {iters} iterations, final loss {sin_losses[-1]:.6f}")
    grid = np.linspace(0, 1, 200, dtype=np.float32)[:, None]  # (200, 1)
    with no_grad():
        fitted = model(Tensor(grid)).data
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4))
    ax0.scatter(x[:, 0], y[:, 0], s=10, label="data")
    ax0.plot(grid[:, 0], fitted[:, 0], "r", label="MLP 1-10-1")
    ax0.plot(grid[:, 0], np.sin(2 * np.pi * grid[:, 0]) + 0.5, "k:", label="sin(2 pi x) + 0.5")
    ax0.set(xlabel="x", ylabel="y", title=f"sin fit, SGD lr 0.2, {iters} iterations")
    ax0.legend()
    ax1.plot(sin_losses)
    ax1.set(xlabel="iteration", ylabel="mean squared error", yscale="log", title="loss")
    fig.subplots_adjust(wspace=0.3)
    sin_png = save(fig, args.out / "sin_fit.png")
    print(f"figures: {linear_png}, {sin_png}")

    result = {
        "linear_W": round(float(W[0, 0]), 4),
        "linear_b": round(float(b[0]), 4),
        "linear_loss": round(lin_losses[-1], 6),
        "sin_iters": iters,
        "sin_loss": round(sin_losses[-1], 6),
    }
    write_json(args.out / "regression.json", result)
    return result
