"""``scratch hvae train|sample|eval``: step 8, the book's hierarchical VAE on MNIST (Adam 1e-3,
batch 32, 30 epochs, hidden 100, latent 20 + 20); ``--likelihood bernoulli`` as for the VAE."""

from scratch.models.hvae import HVAE

from ._latent import run


def main(argv=None) -> dict:
    return run(HVAE, "hvae", __doc__, lr=1e-3, hidden_dim=100, argv=argv)
