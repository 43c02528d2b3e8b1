"""sepconv: Keras's convolution layers as exact, fast PyTorch modules.

``import sepconv as keras`` gives the parts of the Keras API that this
package implements, with Keras's names.
"""

from sepconv import config, utils
from sepconv.variables import Variable

__version__ = "0.1.0"
