"""A custom ``autograd.Function``: the Legendre polynomial fit of PyTorch's tutorial.

``LegendrePolynomial3`` computes ``P3(x) = (5x^3 - 3x) / 2`` in ``forward`` and
its derivative ``P3'(x) = 1.5 (5x^2 - 1)`` in ``backward``, by hand, as in
PyTorch's "Defining new autograd functions" tutorial. The model
``y = a + b * P3(c + d x)`` is fitted to ``sin(x)`` on [-pi, pi] by gradient
descent on the summed squared error, with four scalar tensors as parameters.

``gradcheck`` then compares the hand-written backward with central finite
differences in float64: if the derivative were wrong (try ``1.5 * 5 * x ** 2``)
it would say so.

Run::

    python examples/custom_function.py           # 2,000 steps, about a second
    python examples/custom_function.py --quick

Figures: ``figures/custom_function.png`` (fit and loss).
"""
from __future__ import annotations

import math
from typing import List, Optional

from _common import parse_args, plt, save_figure

import tinygrad_cn as torch
from tinygrad_cn.autograd import Function, gradcheck


class LegendrePolynomial3(Function):
    """P3(x) = (5x^3 - 3x) / 2 with a hand-written backward.

    Example::

        >>> x = torch.tensor([0.5], requires_grad=True)
        >>> LegendrePolynomial3.apply(x).sum().backward()
        >>> x.grad  # 1.5 * (5 * 0.25 - 1)
        tensor([0.3750])
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)  # backward needs the input, not the output
        return 0.5 * (5 * x ** 3 - 3 * x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * x ** 2 - 1)


def fit(steps: int, lr: float = 5e-6):
    """The tutorial's loop: manual updates of a, b, c, d under no_grad."""
    x = torch.linspace(-math.pi, math.pi, 2000, dtype=torch.float64)
    y = torch.sin(x)
    # start close enough for the fit to converge, as the tutorial does
    a, b, c, d = (torch.full((), v, dtype=torch.float64, requires_grad=True) for v in (0.0, -1.0, 0.0, 0.3))
    losses = []
    for step in range(steps):
        y_pred = a + b * LegendrePolynomial3.apply(c + d * x)
        loss = ((y_pred - y) ** 2).sum()
        losses.append(loss.item())
        if step % max(1, steps // 10) == steps // 10 - 1:
            print(f"step {step + 1:5d}  loss {loss.item():.3f}")
        loss.backward()
        with torch.no_grad():
            for p in (a, b, c, d):
                p -= lr * p.grad
                p.grad = None
    return x, y, (a.item(), b.item(), c.item(), d.item()), losses


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    steps = 500 if args.quick else 2000
    x, y, (a, b, c, d), losses = fit(steps)
    print(f"Result: y = {a:.3g} + {b:.3f} * P3({c:.3g} + {d:.3f} x)")

    probe = torch.randn(20, dtype=torch.float64, requires_grad=True)
    ok = gradcheck(LegendrePolynomial3.apply, (probe,), eps=1e-6, atol=1e-4)
    print(f"gradcheck of LegendrePolynomial3's hand-written backward: {ok}")

    with torch.no_grad():
        fitted = a + b * LegendrePolynomial3.apply(c + d * x)
    fig, (ax_fit, ax_loss) = plt.subplots(1, 2, figsize=(8, 3.2))
    ax_fit.plot(x.numpy(), y.numpy(), "k--", label="sin(x)")
    ax_fit.plot(x.numpy(), fitted.numpy(), "C3", label=f"{a:.2f} + {b:.2f}·P3({c:.2f} + {d:.2f}x)")
    ax_fit.set(xlabel="x", title="fit with a custom Function")
    ax_fit.legend(fontsize=7)
    ax_loss.plot(losses)
    ax_loss.set(xlabel="step", ylabel="sum of squared errors", yscale="log", title="loss")
    figure = save_figure(fig, args.outdir, "custom_function.png")
    return {"coefficients": (a, b, c, d), "losses": losses, "final_loss": losses[-1], "gradcheck": ok,
            "figures": [figure]}


if __name__ == "__main__":
    main()
