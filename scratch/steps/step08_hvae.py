"""``scratch hvae train|sample|eval``: step 8, the book's hierarchical VAE on MNIST (Adam 1e-3,
batch 32, 30 epochs, hidden 100, latent 20 + 20); ``--likelihood bernoulli`` as for the VAE."""

from scratch.models.hvae import HVAE

from ._vae_commands import run


def loop(model, optimizer, trainer) -> None:
    """The book's training loop; the trainer skips what a resumed run has done and checkpoints."""
    for _epoch in trainer.epochs():
        for (x,) in trainer.batches():
            optimizer.zero_grad()
            loss = model.get_loss(x)
            loss.backward()
            optimizer.step()
            trainer.log(loss)


def main(argv=None) -> dict:
    return run(HVAE, "hvae", __doc__, lr=1e-3, hidden_dim=100, loop=loop, argv=argv)
