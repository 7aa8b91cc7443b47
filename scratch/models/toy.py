"""The 2-D toy diffusion model of step 9: eps_theta(x_t, t) as an MLP on [x_t, pos_encoding(t)]."""

import numpy as np

from scratch import nn

from .unet import pos_encoding


class ToyDenoiser(nn.Module):
    """eps_theta(x_t, t): an MLP on [x_t, pos_encoding(t)], (N, 2 + time_dim) -> (N, 2)."""

    def __init__(self, hidden: int = 256, time_dim: int = 32):
        super().__init__()
        self.time_dim = time_dim
        self.mlp = nn.Sequential(
            nn.Linear(2 + time_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 2),
        )

    def forward(self, x, t):
        v = pos_encoding(t, self.time_dim)  # (N, time_dim)
        return self.mlp(np.concatenate([np.asarray(x, dtype=np.float32), v], axis=1))  # (N, 2)
