"""nn.functional: conv (see tinygrad_cn/nn/functional.py)."""
__all__ = []
