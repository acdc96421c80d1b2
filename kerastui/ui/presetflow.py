"""Opening and saving presets from the TUI: the presets dialog, a path (the palette), the question
before unsaved edits are replaced, and ctrl+s.  A helper of the app (the shell), as RunLink is for
runs: it asks with dialogs and hands the preset to the app, which tells the workspaces."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kerastui.core.errors import KerasTUIError

if TYPE_CHECKING:
    from kerastui.ui.app import KerasTUI


class PresetFlow:
    """The app's ways to open and save a preset, each asking what it must first."""

    def __init__(self, app: KerasTUI) -> None:
        self.app = app

    def open(self) -> None:
        """The presets dialog; the preset picked is opened (over unsaved edits, once the user says so)."""
        from kerastui.ui.screens.dialogs import PresetsDialog

        def opened(path: Path | None) -> None:
            if path is not None:
                self.open_path(path)

        self.app.push_screen(PresetsDialog(), opened)

    def open_path(self, path: str | Path) -> None:
        """Open the preset file at ``path`` (the presets dialog, the palette): over unsaved edits, once the
        user says so."""
        from kerastui.core.model import presets as preset_files

        app = self.app
        try:
            preset = preset_files.load(path)
        except KerasTUIError as error:
            app.notify(str(error), title="preset", severity="error", timeout=8)
            return

        def proceed() -> None:
            app.open_preset(preset)
            app.notify(f"opened {preset.name}: {preset.title}", title="preset")

        self.unless_unsaved(f"Open preset {preset.name}", proceed)

    def unless_unsaved(self, what: str, proceed: Callable[[], object]) -> None:
        """Call ``proceed``, which replaces the session's preset (``what`` says how: "Open preset ex2"),
        at once when the workspace holds no unsaved edits; else only after the user says y to a question
        (n, enter or escape keep the edits: a stray enter never throws them away)."""
        app = self.app
        session = app.session
        if not session.unsaved:
            proceed()
            return
        from kerastui.ui.screens.dialogs import RiskDialog

        def answered(yes: bool | None) -> None:
            if yes:
                proceed()
            else:
                app.notify(f"kept your edits to {session.name} (ctrl+s saves them as a preset)", title="preset")

        app.push_screen(RiskDialog(
            f"{session.name} has unsaved edits (settings, layers or data changed since it was opened or "
            f"saved).\n\n{what} and throw them away? (ctrl+s saves them as a preset first)"), answered)

    def save(self) -> None:
        """ctrl+s: the workspace's preset saved where the user says."""
        from kerastui.core.run.directory import absolute_refs
        from kerastui.ui.screens.dialogs import SavePresetDialog

        app = self.app

        def saved(path: Path | None) -> None:
            if path is not None:
                app.session.preset_saved(path)  # its file references made absolute
                app.label_preset()
                app.notify(f"saved {path}", title="preset")

        # Saved elsewhere than the original, its file.py:Class and data paths must stay reachable.
        app.push_screen(SavePresetDialog(absolute_refs(app.session.current_preset())), saved)
