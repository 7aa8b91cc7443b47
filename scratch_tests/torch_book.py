"""The book's PyTorch VAE and HVAE (step07/vae.py, step08/hvae.py), written again with the same
names, shapes and loss: the peer for the torch-parity test and for benchmarks/bench_vae.py."""


def book_model(torch, hvae: bool = False):
    """The book's VAE (784-200-20) or, with ``hvae``, its two-level VAE (hidden 100)."""
    tnn, tF = torch.nn, torch.nn.functional

    class Encoder(tnn.Module):
        def __init__(self, input_dim, hidden_dim, latent_dim):
            super().__init__()
            self.linear = tnn.Linear(input_dim, hidden_dim)
            self.linear_mu = tnn.Linear(hidden_dim, latent_dim)
            self.linear_logvar = tnn.Linear(hidden_dim, latent_dim)

        def forward(self, x):
            h = tF.relu(self.linear(x))
            return self.linear_mu(h), torch.exp(0.5 * self.linear_logvar(h))

    class Decoder(tnn.Module):
        def __init__(self, latent_dim, hidden_dim, output_dim, use_sigmoid=True):
            super().__init__()
            self.linear1 = tnn.Linear(latent_dim, hidden_dim)
            self.linear2 = tnn.Linear(hidden_dim, output_dim)
            self.use_sigmoid = use_sigmoid

        def forward(self, z):
            h = self.linear2(tF.relu(self.linear1(z)))
            return torch.sigmoid(h) if self.use_sigmoid else h

    class VAE(tnn.Module):
        def __init__(self):
            super().__init__()
            self.encoder, self.decoder = Encoder(784, 200, 20), Decoder(20, 200, 784)

        def get_loss(self, x):
            mu, sigma = self.encoder(x)
            x_hat = self.decoder(mu + torch.randn_like(sigma) * sigma)
            L1 = tF.mse_loss(x_hat, x, reduction="sum")
            L2 = -torch.sum(1 + torch.log(sigma**2) - mu**2 - sigma**2)
            return (L1 + L2) / len(x)

    class HVAE(tnn.Module):
        def __init__(self):
            super().__init__()
            self.encoder1, self.encoder2 = Encoder(784, 100, 20), Encoder(20, 100, 20)
            self.decoder1, self.decoder2 = Decoder(20, 100, 784), Decoder(20, 100, 20, False)

    return HVAE() if hvae else VAE()
