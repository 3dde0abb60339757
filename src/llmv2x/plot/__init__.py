"""Pictures of an allocation (docs/plotting.md): a map, per-vehicle time and energy bars.

``plot_result(instance, result)`` returns a matplotlib Figure; ``save_figure`` writes it.
The panels can be drawn one at a time into your own axes with ``draw_map``,
``draw_time_bars`` and ``draw_energy_bars``. Importing this package imports matplotlib;
the rest of llmv2x does not.
"""

from llmv2x.plot.bars import draw_energy_bars, draw_time_bars
from llmv2x.plot.breakdown import VehicleBreakdown, rsu_usage, vehicle_breakdown
from llmv2x.plot.figure import FORMATS, PlotError, plot_result, save_figure, title_text
from llmv2x.plot.map import AGGREGATE_ABOVE, candidate_links, draw_map

__all__ = [
    "AGGREGATE_ABOVE",
    "FORMATS",
    "PlotError",
    "VehicleBreakdown",
    "candidate_links",
    "draw_energy_bars",
    "draw_map",
    "draw_time_bars",
    "plot_result",
    "rsu_usage",
    "save_figure",
    "title_text",
    "vehicle_breakdown",
]
