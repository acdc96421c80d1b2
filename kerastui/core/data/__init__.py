"""Data: sources and their registry, the types every source shares (base), in-memory datasets,
tf.data pipelines, image folders, TFDS.
"""
