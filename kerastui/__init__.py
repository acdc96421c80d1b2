"""kerastui: a terminal workbench for Keras.

Importing this package loads neither Textual nor TensorFlow.
"""

__version__ = "0.1.0"
