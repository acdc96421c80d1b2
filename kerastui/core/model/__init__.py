"""Models: the preset's specs and files, the layer catalogue, Keras objects, the parts models are
assembled from, the builder, custom metrics and metric names, transfer learning, user code files.
"""
