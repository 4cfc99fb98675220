"""The autograd engine: Function, backward, grad, grad modes, anomaly mode,
gradcheck, functional (jacobian/hessian) and the profiler."""
from .grad_mode import no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled
from .function import Function, once_differentiable
from .engine import backward, grad
from .anomaly_mode import detect_anomaly, set_detect_anomaly, is_anomaly_enabled
from .variable import Variable
from . import profiler, function, grad_mode

from .gradcheck import gradcheck, gradgradcheck
from . import functional

__all__ = ["Function", "backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
           "detect_anomaly", "set_detect_anomaly", "Variable", "gradcheck", "gradgradcheck", "functional",
           "profiler", "once_differentiable"]
