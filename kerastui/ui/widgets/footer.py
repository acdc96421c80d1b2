"""The footer: Textual's, recomposed only when the keys it shows change."""

from __future__ import annotations

from textual.widgets import Footer


class KeyFooter(Footer):
    """Textual's Footer rebuilds all its key widgets whenever the focus moves (a screen's
    bindings are re-announced), which costs tens of milliseconds per Tab press in a busy
    workspace.  Most moves leave the shown keys as they were: then nothing is rebuilt."""

    _shown: tuple | None = None

    def bindings_changed(self, screen) -> None:
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            shown = tuple(
                (key, binding.action, binding.description, enabled)
                for key, (_node, binding, enabled, _tooltip) in screen.active_bindings.items()
                if binding.show
            )
            if shown == self._shown:
                self._bindings_ready = True
                return
            self._shown = shown
        super().bindings_changed(screen)
