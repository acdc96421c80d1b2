"""Headless domain of kerastui: specs, presets, data, models, training, saving.

Nothing here imports textual, rich, plotext or kerastui.ui; TensorFlow and Keras are imported
lazily through :func:`kerastui.core.tfenv.load_keras`.
"""
