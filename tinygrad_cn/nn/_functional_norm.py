"""nn.functional: norm (see tinygrad_cn/nn/functional.py)."""
__all__ = []
