"""``scratch vae train|sample|eval``: step 7, the book's VAE on MNIST (Adam 3e-4, batch 32, 30
epochs, hidden 200, latent 20); ``--likelihood bernoulli`` trains on binarised MNIST in nats."""

from scratch.models.vae import VAE

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
    return run(VAE, "vae", __doc__, lr=3e-4, hidden_dim=200, loop=loop, argv=argv)
