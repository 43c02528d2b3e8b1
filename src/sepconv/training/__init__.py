"""Training and inference loops' helpers."""
