"""Small value types both sides pass around.

Images are numpy arrays in OpenCV's convention: H x W x 3, uint8, BGR (greyscale inputs are converted
at the boundary). Embeddings are float32, L2-normalised, so cosine similarity is a dot product.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
Vector = npt.NDArray[np.float32]
