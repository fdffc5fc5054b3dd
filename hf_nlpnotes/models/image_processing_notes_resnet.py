"""Image processor of hf_nlpnotes' ResNet: the classic ImageNet evaluation transform.

RGB conversion (grayscale, palette and RGBA images; transparency is composited onto white), resize of the shorter
side to 256, center crop 224×224, rescale to [0, 1], normalisation with the ImageNet mean and std. Accepts PIL
images, numpy arrays and tensors, single or batched; returns `pixel_values` [batch, 3, H, W]. For the CIFAR-style
networks pass smaller sizes, e.g. `NotesResNetImageProcessor(size={"shortest_edge": 32},
crop_size={"height": 32, "width": 32})`.
"""

import numpy as np
from transformers.image_processing_backends import PilBackend
from transformers.image_utils import PILImageResampling

from .notes_model_card import NotesModelCardMixin

# the ImageNet statistics torchvision and timm use (transformers' IMAGENET_DEFAULT_*)
IMAGENET_DEFAULT_MEAN = [0.485, 0.456, 0.406]
IMAGENET_DEFAULT_STD = [0.229, 0.224, 0.225]


class NotesResNetImageProcessor(NotesModelCardMixin, PilBackend):
    """Resize (shorter side) → center crop → rescale → normalise, on the portable PIL/NumPy backend."""

    model_input_names = ["pixel_values"]
    notes_model_type = "notes_resnet"
    resample = PILImageResampling.BILINEAR
    size = {"shortest_edge": 256}
    default_to_square = False
    crop_size = {"height": 224, "width": 224}
    image_mean = IMAGENET_DEFAULT_MEAN
    image_std = IMAGENET_DEFAULT_STD
    do_resize = True
    do_center_crop = True
    do_rescale = True
    do_normalize = True
    do_convert_rgb = True

    def _prepare_images_structure(self, images, expected_ndims: int = 3):
        # a 2-D array or tensor is one grayscale image: give it a trailing channel axis (RGB conversion repeats it)
        if isinstance(images, (list, tuple)):
            images = [_with_channel_axis(image) for image in images]
        else:
            images = _with_channel_axis(images)
        return super()._prepare_images_structure(images, expected_ndims=expected_ndims)


def _with_channel_axis(image):
    if getattr(image, "ndim", None) == 2 and not hasattr(image, "getbands"):
        return np.asarray(image)[..., None]
    return image


# saved folders carry this file and an auto_map entry, so they load without hf_nlpnotes (trust_remote_code=True)
NotesResNetImageProcessor.register_for_auto_class("AutoImageProcessor")

__all__ = ["NotesResNetImageProcessor", "IMAGENET_DEFAULT_MEAN", "IMAGENET_DEFAULT_STD"]
