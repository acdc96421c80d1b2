"""Data: sources and their registry, in-memory datasets, tf.data pipelines, image folders, TFDS.
"""
