"""Shipped presets (TOML) and the Python files they reference; installed as kerastui.presets."""
