"""Data workspace: pick a source, set preprocessing, and inspect the dataset card."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from kerastui.core.data import sources as registry
from kerastui.core.errors import KerasTUIError
from kerastui.core.text import visible
from kerastui.ui.latest import Requests
from kerastui.ui.messages import DatasetFailed, DatasetLoaded
from kerastui.ui.safe import markup, plain
from kerastui.ui.screens.base import Workspace
from kerastui.ui.widgets.footer import KeyFooter
from kerastui.ui.widgets.pictures import bar_chart, image_strip
from kerastui.ui.widgets.status_line import StatusLine
from kerastui.ui.widgets.tabs import WorkspaceTabs

if TYPE_CHECKING:
    from kerastui.core.model.specs import DataSpec

FILE_SCHEMES = ("npz", "npy", "csv", "images")


def _source_options() -> list[Option]:
    """The sources, ✓ or ↓ as the Keras cache holds them now: plain text (no markup to parse, the
    list is in the first frame)."""
    options = [(f"{'✓' if registry.keras_cached(name) else '↓'} keras:{name}", f"keras:{name}")
               for name in registry.KERAS_DATASETS]
    options += [(f"✓ sklearn:{name}", f"sklearn:{name}") for name in registry.SKLEARN_DATASETS]
    options += [(f"✓ synthetic:{name}", f"synthetic:{name}") for name in registry.SYNTHETIC]
    options += [(f"… {scheme}:PATH", f"{scheme}:") for scheme in FILE_SCHEMES]
    return [Option(Content(prompt), id=key) for prompt, key in options]


class SourceList(OptionList):
    """Every data source the engine has; ✓ works offline now, ↓ needs a download, … needs a path."""

    BORDER_TITLE = "Source"  # in its top border: a label above it was a widget more in the first frame

    HELP = ("Data sources. ✓ loads offline right now, ↓ needs a download (not in the Keras cache), "
            "… takes a path (npz, csv, an image folder). Enter loads the highlighted source.")


class DatasetCard(VerticalScroll):
    """Shapes, dtypes, classes, class balance, load time and a few samples of the loaded data."""

    HELP = "The dataset card: splits, shapes, dtypes, class balance and samples of the loaded dataset."
    PARTS = ("error", "summary", "balance", "samples")
    DEFAULT_CSS = """
    DatasetCard > Static {
        height: auto;
        margin-bottom: 1;
    }
    DatasetCard > #card-error {
        margin-bottom: 0;
    }
    """

    def part(self, name: str) -> Static:
        """One of the card's parts (``PARTS``).  They are empty until a load: the card is mounted
        without them (four fewer widgets to style and draw in the first frame) and they are mounted
        at the first use, just after the first frame or by a load asked for before it."""
        if not self.children:
            self.mount_all(Static(id=f"card-{part}") for part in self.PARTS)
        return self.query_one(f"#card-{name}", Static)


class DataScreen(Workspace):
    """Data workspace."""

    HELP = "## Data workspace\nPick a source on the left, set options, press l (or enter on a source) to load."
    BINDINGS = [
        Binding("l", "load", "Load", tooltip="Load the selected source with these options", id="data.load"),
        Binding("ctrl+l", "focus_sources", "Sources", tooltip="Focus the list of sources", id="data.sources",
                show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._loads = Requests()  # dataset loads: the latest wins
        self._options_mounted = False

    def compose(self) -> ComposeResult:
        # The screen lays the side and the card out side by side, the tabs docked above and the status line
        # and footer below (app.tcss): no container around the two, one widget fewer to style and draw in
        # the first frame (as the list's title in its border is one fewer than a label above it).
        yield WorkspaceTabs("data")
        yield StatusLine(id="status")
        yield KeyFooter()
        with Vertical(id="data-side"):
            yield SourceList(*_source_options(), id="sources")  # (given here: no second layout)
        yield DatasetCard(id="card")

    def on_mount(self) -> None:
        self.query_one(SourceList).focus()
        self.app.after_first_frame(self._mount_options)

    async def _mount_options(self) -> None:
        """The card's parts, the path field and the options form, the preset's source, then the
        preset's dataset (once the first frame is on screen: the preset may be loaded only then)."""
        from kerastui.ui.screens.data_options import DataOptions  # its widgets: not before the first frame

        self.query_one(DatasetCard).part("error")
        await self.query_one("#data-side", Vertical).mount(DataOptions(id="data-options"))
        self._options_mounted = True
        self._select_source()
        self._show_options(self.app.session.preset.data)
        self.call_after_refresh(self.query_one(SourceList).scroll_to_highlight)  # the list got shorter
        preview = self.app.session.dataset_preview
        if preview is not None:
            self._show(preview)
        else:
            self.load(self.app.session.preset.data)

    @property
    def options_ready(self) -> bool:
        """The path field and the options are mounted, their fields composed (just after the first frame)."""
        return self._options_mounted

    def preset_opened(self) -> None:
        self._fill_sources()
        self._select_source()
        if self.options_ready:  # otherwise the form shows the new preset when it is mounted
            self._show_options(self.app.session.preset.data)
            self.load(self.app.session.preset.data)

    # ------------------------------------------------------------------ the form

    def _fill_sources(self) -> None:
        sources = self.query_one(SourceList)
        sources.clear_options()
        sources.add_options(_source_options())

    def _select_source(self) -> None:
        """Highlight the preset's source (and show its path, for a file source)."""
        sources = self.query_one(SourceList)
        current = self.app.session.preset.data.source
        scheme = current.partition(":")[0]
        target = current if scheme not in FILE_SCHEMES else f"{scheme}:"
        for index in range(sources.option_count):
            if sources.get_option_at_index(index).id == target:
                sources.highlighted = index
        if scheme in FILE_SCHEMES and self.options_ready:  # (else it is shown when they are mounted)
            self.query_one("#data-path", Input).value = current.partition(":")[2]

    def _show_options(self, spec: DataSpec) -> None:
        from kerastui.ui.screens.data_options import DataOptions

        self.query_one(DataOptions).show(spec)

    def spec_from_form(self, source: str) -> DataSpec:
        """The preset's data spec with this form's source and options; ValueError names the field."""
        base = copy.deepcopy(self.app.session.preset.data)
        if not self.options_ready:
            return replace(base, source=source)
        from kerastui.ui.screens.data_options import DataOptions

        return self.query_one(DataOptions).spec(base, source)

    def _selected_source(self) -> str | None:
        sources = self.query_one(SourceList)
        if sources.highlighted is None:
            return None
        source = str(sources.get_option_at_index(sources.highlighted).id)  # every option has one
        if source.endswith(":"):
            if not self.options_ready:  # the path field comes just after the first frame
                return None
            path = self.query_one("#data-path", Input).value.strip()
            if not path:
                self.query_one("#data-path", Input).focus()
                self._error(f"{source}PATH needs a path: type it below the list")
                return None
            source += path
        return source

    @on(OptionList.OptionSelected, "#sources")
    def _source_chosen(self) -> None:
        self.action_load()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_load()

    def action_focus_sources(self) -> None:
        self.query_one(SourceList).focus()

    def action_load(self) -> None:
        source = self._selected_source()
        if source is None:
            return
        try:
            spec = self.spec_from_form(source)
        except ValueError as error:
            self._error(str(error))
            return
        self.load(spec)

    # ------------------------------------------------------------------ loading

    def load(self, spec: DataSpec) -> None:
        self.query_one(DatasetCard).part("error").update(markup("[dim]loading $source…[/dim]", source=spec.source))
        preset = self.app.session.preset
        self._load(self._loads.new(), spec, preset.compile.loss_name, preset.base_dir)

    @work(thread=True, exclusive=True, group="data", exit_on_error=False)
    def _load(self, ticket: int, spec: DataSpec, loss: str, base_dir: Path) -> None:
        from kerastui.core.data import datasets  # NumPy: imported after the first frame

        try:
            preview = datasets.preview(spec, loss=loss, base_dir=base_dir)
        except KerasTUIError as error:
            self.post_message(DatasetFailed(ticket, spec, str(error)))
            return
        self.post_message(DatasetLoaded(ticket, spec, preview))

    @on(DatasetFailed)
    def _failed(self, message: DatasetFailed) -> None:
        if self._loads.is_latest(message.ticket):  # a newer load replaced this one
            self._error(message.error)

    def _error(self, text: str) -> None:
        session = self.app.session
        kept = f" — still showing {session.preset.data.source}" if session.dataset_preview is not None else ""
        self.query_one(DatasetCard).part("error").update(plain(f"✗ {text}{kept}", "bold red", one_line=False))

    @on(DatasetLoaded)
    def _loaded(self, message: DatasetLoaded) -> None:
        if not self._loads.is_latest(message.ticket):  # a newer load replaced this one
            return
        self.app.dataset_loaded(message.spec, message.preview, by=self)
        self._show(message.preview)

    def _show(self, preview) -> None:
        s = preview.summary
        total = s["train"] + s["val"] + s["test"]
        self.query_one(DatasetCard).part("error").update("")
        table = Table.grid(padding=(0, 2))
        table.add_column(style="dim")
        table.add_column()
        # The source, file and class and feature names are the data set's or its folder's: plain text.
        table.add_row("source", Text.assemble(plain(s["source"], "bold"), f" ({s['kind']}, {s['task']})"))
        table.add_row("samples", f"{total:,}  (train {s['train']:,} · val {s['val']:,} · test {s['test']:,})")
        shape = s["input_shape"]
        if len(shape) == 1:
            table.add_row("features", str(shape[0]))
        else:
            table.add_row("shape", str(tuple(shape)))
        table.add_row("dtype", f"{s['dtype']} (raw {s['dtype_raw']})")
        if "classes" in s:
            table.add_row("classes", f"{s['classes']}  labels {s['label_mode']}")
        if s.get("streamed"):
            table.add_row("feeding", "streamed (tf.data): decoded batch by batch")
        corrupt = s.get("corrupt") or []
        if corrupt:
            names = ", ".join(corrupt[:3]) + (f", … (+{len(corrupt) - 3})" if len(corrupt) > 3 else "")
            table.add_row("corrupt", plain(f"{len(corrupt)} file(s) skipped: {names}", "yellow"))
        if not self.app.deterministic:
            table.add_row("load time", f"{s['total_seconds']:.3f} s (source {s['load_seconds']:.3f} s)")
        self.query_one(DatasetCard).part("summary").update(table)
        if preview.class_counts:
            names = s.get("class_names", [])
            width = max(8, min(40, self.query_one(DatasetCard).size.width - 30))
            self.query_one(DatasetCard).part("balance").update(
                Text("class balance (train)\n", style="bold") + bar_chart(names, preview.class_counts, width))
        else:
            self.query_one(DatasetCard).part("balance").update("")
        self.query_one(DatasetCard).part("samples").update(self._samples(preview, s))
        classes = f", {s['classes']} classes" if "classes" in s else ""
        self.app.data_label = visible(f"{s['source']} {total:,}×{tuple(shape)}{classes}", one_line=True)

    def _samples(self, preview, summary):
        if summary["kind"] == "sequence":
            return self._sequences(preview)
        if summary["kind"] == "image":
            return Text("samples\n", style="bold") + image_strip(preview.samples, preview.sample_labels, max_width=100)
        table = Table(title="samples", title_justify="left", show_edge=False, pad_edge=False, box=None)
        names = preview.feature_names or [f"x{i}" for i in range(preview.samples.shape[1])]
        room = max(2, (self.query_one(DatasetCard).size.width - 14) // 9)
        shown = names[: min(8, room)]
        for name in shown:
            table.add_column(plain(name[:12]), justify="right", no_wrap=True, max_width=12)
        if len(names) > len(shown):
            table.add_column(f"+{len(names) - len(shown)}")
        table.add_column("label", no_wrap=True)
        for row, label in zip(preview.samples, preview.sample_labels, strict=False):
            cells = [f"{v:.3g}" for v in row[: len(shown)]]
            if len(names) > len(shown):
                cells.append("…")
            table.add_row(*cells, plain(label))
        return table

    def _sequences(self, preview) -> Text:
        """A few sequences as a small line plot of their first feature (plotext)."""
        import plotext as plt

        width = max(30, min(90, self.query_one(DatasetCard).size.width - 4))
        plt.clear_figure()
        plt.plotsize(width, 12)
        plt.theme("clear")
        for sample, label in list(zip(preview.samples, preview.sample_labels, strict=False))[:3]:
            series = sample.reshape(len(sample), -1)[:, 0]
            plt.plot([float(v) for v in series], label=visible(label, one_line=True)[:12])
        plt.title("samples (feature 0 over time)")
        chart = plt.build()
        plt.clear_figure()
        return Text.from_ansi(chart)

    def system_commands(self) -> Iterator[SystemCommand]:
        yield SystemCommand("Data: load", "Load the selected source (l)", self.action_load)
