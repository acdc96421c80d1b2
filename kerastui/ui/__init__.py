"""The Textual workbench. Imports textual only: TensorFlow loads in a worker after the first frame."""
