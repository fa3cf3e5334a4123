"""A Hydra callback for bench/overhead.py: writes the sweeper process's peak RSS (VmHWM, MB)
to $PEAK_MEMORY_FILE when the multirun ends."""
import os

from hydra.experimental.callback import Callback


class PeakMemory(Callback):
    def on_multirun_end(self, config, **kwargs) -> None:
        path = os.environ.get("PEAK_MEMORY_FILE")
        if not path:
            return
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                with open(path, "w") as handle:
                    handle.write(str(int(line.split()[1]) / 1024))
