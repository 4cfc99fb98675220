"""The layers of ``tinygrad_cn.nn``."""
from .module import Module
from .container import Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict
from .linear import Bilinear, Identity, Linear
from .flatten import Flatten, Unflatten
from .activation import (ReLU, ReLU6, LeakyReLU, ELU, GELU, SiLU, Sigmoid, Tanh, Softplus, Softmax, LogSoftmax,
                         Hardtanh, LogSigmoid, PReLU, Mish, Softsign, Tanhshrink)

__all__ = ["Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict", "Identity",
           "Linear", "Bilinear", "Flatten", "Unflatten", "ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh",
           "Softplus", "Softmax", "LogSoftmax", "Hardtanh", "LogSigmoid", "PReLU", "Mish", "Softsign",
           "Tanhshrink"]
