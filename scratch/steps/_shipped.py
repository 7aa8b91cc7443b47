"""The shipped models (scratch.pretrained) as the demo shows them: loaded, and named in titles."""

from scratch import pretrained


def available(name: str) -> bool:
    """True when model ``name`` ships with this copy of scratch."""
    return name in pretrained.names()


def note(name: str) -> str:
    """'shipped model: vae, 30 epochs' (or '..., 8000 steps' for a model trained in steps), read
    from the model's manifest."""
    manifest = pretrained.info(name)
    epochs = manifest.get("history", {}).get("history", {}).get("epoch")
    if epochs:
        return f"shipped model: {name}, {len(epochs)} epochs"
    return f"shipped model: {name}, {manifest['run_config']['steps']} steps"


def missing_note(name: str) -> str:
    """What the demo prints when ``name`` does not ship (yet)."""
    return (
        f"[shipped] no shipped {name!r} model in this copy of scratch: showing the quick run only"
    )
