"""A Hydra callback for bench/overhead.py: writes the sweeper process's peak RSS (MB) to
$PEAK_MEMORY_FILE when the multirun ends."""
import os

from common import peak_rss_mb  # bench/, which objective.py puts on sys.path
from hydra.experimental.callback import Callback


class PeakMemory(Callback):
    def on_multirun_end(self, config, **kwargs) -> None:
        path = os.environ.get("PEAK_MEMORY_FILE")
        if path:
            with open(path, "w") as handle:
                handle.write(str(peak_rss_mb()))
