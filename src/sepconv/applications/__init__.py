"""Model architectures of ``keras.applications``, built from sepconv layers
with Keras's layer names, order and configs (random initialization; sepconv
downloads no pretrained weights).

>>> import sepconv
>>> sepconv.applications.MobileNet(input_shape=(32, 32, 3), alpha=0.25,
...                                include_top=False).count_params()
218544
"""

from sepconv.applications.mobilenet import MobileNet
from sepconv.applications.xception import Xception

__all__ = ["MobileNet", "Xception"]
