"""Weights as a PyTorch ``state_dict`` in a ``.safetensors`` file (the
``safetensors`` package, installed with ``pip install sepconv[safetensors]``).

Keys are the module's ``state_dict`` keys, which stay stable for a given
model definition (layer names for functional and Sequential models).
"""

from __future__ import annotations

from sepconv.saving.atomic import atomic_write


def _safetensors_torch():
    try:
        import safetensors.torch
    except ImportError:
        raise ImportError(
            "Saving or loading `.safetensors` needs the safetensors package: "
            "pip install 'sepconv[safetensors]'"
        ) from None
    return safetensors.torch


def save_safetensors(model, path, overwrite=True):
    """Write ``model.state_dict()`` to ``path`` atomically."""
    st = _safetensors_torch()
    state = {key: value.detach().cpu().contiguous() for key, value in model.state_dict().items()}
    data = st.save(state, metadata={"format": "pt", "writer": "sepconv"})
    with atomic_write(path, overwrite=overwrite) as handle:
        handle.write(data)


def load_safetensors(model, path, skip_mismatch=False):
    """Load a ``.safetensors`` state dict into ``model`` (every key and shape
    must match unless ``skip_mismatch``)."""
    st = _safetensors_torch()
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        state = st.load(data)
    except Exception as error:  # noqa: BLE001 - the library's parse errors vary
        raise ValueError(f"{path} is not a readable .safetensors file ({error}).") from None
    own = model.state_dict()
    if skip_mismatch:
        state = {k: v for k, v in state.items() if k in own and v.shape == own[k].shape}
    else:
        wrong = [f"{k}: {tuple(v.shape)} vs {tuple(own[k].shape)}"
                 for k, v in state.items() if k in own and v.shape != own[k].shape]
        missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
        if wrong or missing or unexpected:
            raise ValueError(
                f"{path} does not fit the model: missing keys {missing}, unexpected keys "
                f"{unexpected}, shape mismatches {wrong}. Pass skip_mismatch=True to load "
                "what fits."
            )
    model.load_state_dict(state, strict=False)
