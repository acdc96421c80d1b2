"""The custom-metric panel of the Experiments workspace: a user's ``keras.metrics.Metric`` trained
beside the built-in metric it mirrors (exercise 4).

Load a class from a ``.py`` file (or pick a shipped example), see the check of it (a Metric
subclass with ``update_state``, ``result``, ``reset_state``; a warning naming the line when it
only has Keras 2's ``reset_states``), train the app's preset with it, and read per epoch, for
train and validation, the built-in value, the custom value and their difference; a chart
overlays both and a verdict names the largest difference.  An exception inside the metric is
shown with its file and line.

One widget per module: ``panel`` (MetricPanel), ``source`` (the metric file field's completion and
check), ``table`` (the comparison table), ``chart`` (the overlay chart).
"""

from kerastui.ui.panels.metric.chart import MetricOverlay
from kerastui.ui.panels.metric.panel import MetricPanel
from kerastui.ui.panels.metric.source import (
    EXAMPLES,
    MetricFileSuggester,
    MetricFileValidator,
    ref_problem,
    shipped_examples,
    split_ref,
)
from kerastui.ui.panels.metric.table import COLUMNS, WIDTHS, MetricTable

__all__ = ["COLUMNS", "EXAMPLES", "WIDTHS", "MetricFileSuggester", "MetricFileValidator", "MetricOverlay",
           "MetricPanel", "MetricTable", "ref_problem", "shipped_examples", "split_ref"]
