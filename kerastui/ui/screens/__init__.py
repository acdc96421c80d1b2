"""Workspaces (one Screen per MODE) and modal dialogs."""
