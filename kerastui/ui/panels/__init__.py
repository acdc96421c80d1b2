"""Panels: self-contained parts of a workspace (each owns its widgets, bindings and redraw)."""
