"""The workspace tabs: one line at the top of every workspace naming them all, each with its key,
the current one marked.  The keys shown are those that work now: the letters, or — while a text
field has the focus and would type them — the function keys."""

from __future__ import annotations

from textual import events
from textual.content import Content
from textual.style import Style
from textual.widget import Widget

from kerastui.core.text import visible
from kerastui.ui.widgets.formscreen import repaint_after_frame, types_text

# mode: (letter, function key, label, what it is for).  The function keys work from every widget,
# text fields included (a text field types letters); the letters everywhere else.
WORKSPACES = {
    "data": ("d", "f2", "Data", "Data workspace: pick a dataset, preprocess it, see shapes, balance and samples"),
    "model": ("m", "f3", "Model", "Model workspace: edit the layer stack, with live shapes and parameter counts"),
    "train": ("t", "f4", "Train", "Train workspace: compile and fit settings, live charts, stop, evaluation"),
    "saveload": ("v", "f5", "Save/Load", "Save/Load workspace: save in every format, prove reloads predict the "
                 "same, open a saved model, predict, export a script"),
    "experiments": ("p", "f6", "Experiments", "Experiments: a custom metric beside the built-in one; transfer "
                    "learning with the freeze boundary"),
    "runs": ("h", "f7", "Runs", "Runs: every run on disk, sortable and filterable; overlay curves, diff configs, "
             "export CSV, reopen"),
    "sweeps": ("k", "f8", "Sweeps", "Sweeps: a sweep's live trials, its charts and parameter importances; follow "
               "a trial, make the best the working model, start a sweep from the preset"),
}


class WorkspaceTabs(Widget):
    """Data · Model · Train · Save/Load · Experiments · Runs, the current one marked; click one to go."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"workspace-tabs--key", "workspace-tabs--current", "workspace-tabs--title"}
    DEFAULT_CSS = """
    WorkspaceTabs {
        dock: top;
        height: 1;
        text-wrap: nowrap;  /* one line: never wrapped (wrapping measures every character) */
        background: $panel;
        color: $text-muted;
        .workspace-tabs--key {
            color: $accent;
            text-style: bold;
        }
        .workspace-tabs--current {
            background: $primary;
            color: $text;
            text-style: bold;
        }
        .workspace-tabs--title {
            color: $text-muted;
        }
    }
    """
    HELP = ("The workspaces, each with its key (d m t v p h k; F2–F8 work from text fields too); the current one is "
            "highlighted. Click a tab to go there.")

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current
        self.function_keys = False  # a text field has the focus: show the keys that work there
        self._spans: list[tuple[int, int, str]] = []

    def on_mount(self) -> None:
        self.watch(self.screen, "focused", self._focus_changed)
        # A form drawn as one widget types letters on some fields only: it refreshes the bindings.
        self.screen.bindings_updated_signal.subscribe(self, lambda screen: self._focus_changed(screen.focused))
        self.watch(self.app, "preset_label", self._title_changed, init=False)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _title_changed(self) -> None:
        self.refresh()

    def _focus_changed(self, focused: Widget | None) -> None:
        in_field = types_text(focused)
        if in_field != self.function_keys:
            self.function_keys = in_field
            repaint_after_frame(self)

    def render(self) -> Content:
        # Textual's own Content and styles (see KeyFooter.render): redrawn when the focus moves
        # into or out of a text field.
        key_style = self.get_visual_style("workspace-tabs--key")
        current_style = self.get_visual_style("workspace-tabs--current")
        parts: list[str | tuple[str, Style]] = []
        self._spans = []
        length = 0
        for mode, (letter, fkey, label, _tip) in WORKSPACES.items():
            key = fkey.upper() if self.function_keys else letter
            start = length
            if mode == self.current:
                parts.append((f" {key} {label} ", current_style))
            else:
                parts += [" ", (key, key_style), f" {label} "]
            length += len(key) + len(label) + 3  # " key label "
            self._spans.append((start, length, mode))
        title = self._title()
        room = self.size.width - length - 2
        if title and room >= 8:
            parts.append(" " * max(room - len(title), 1))
            parts.append((title[:room], self.get_visual_style("workspace-tabs--title")))
        return Content.assemble(*parts).truncate(self.size.width, ellipsis=True)

    def _title(self) -> str:
        name = visible(getattr(self.app, "preset_label", ""), one_line=True)  # (a file's name)
        return f"kerastui · {name}" if name and name != "no preset" else "kerastui"

    async def _on_click(self, event: events.Click) -> None:
        for start, end, mode in self._spans:
            if start <= event.x < end:
                await self.app.run_action(f"switch_workspace('{mode}')")
                event.stop()
                return
