"""Models: the preset's specs and files, the layer catalogue, Keras objects, the builder,
custom metrics and metric names, transfer learning, user code files.
"""
