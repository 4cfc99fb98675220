"""nn.functional: normalisation, losses, attention and interpolation (see tinygrad_cn/nn/functional.py)."""
from ..ops.linalg import cosine_similarity
from ..ops.losses import (binary_cross_entropy, binary_cross_entropy_with_logits, cosine_embedding_loss,
                          gaussian_nll_loss, hinge_embedding_loss, huber_loss, kl_div, l1_loss, margin_ranking_loss,
                          mse_loss, multi_margin_loss, multilabel_soft_margin_loss, pairwise_distance,
                          poisson_nll_loss, smooth_l1_loss, soft_margin_loss, triplet_margin_loss)
from ..ops.normalization import (batch_norm, group_norm, instance_norm, interpolate, layer_norm,
                                 local_response_norm, normalize, rms_norm, scaled_dot_product_attention,
                                 upsample)

__all__ = ["batch_norm", "instance_norm", "layer_norm", "rms_norm", "group_norm", "normalize", "local_response_norm",
           "cosine_similarity", "scaled_dot_product_attention", "interpolate", "upsample",
           "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "kl_div", "margin_ranking_loss", "hinge_embedding_loss",
           "soft_margin_loss", "cosine_embedding_loss", "poisson_nll_loss", "gaussian_nll_loss",
           "pairwise_distance", "triplet_margin_loss", "multi_margin_loss", "multilabel_soft_margin_loss"]
