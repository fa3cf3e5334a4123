"""The errors the sweeper raises on purpose, short enough for Hydra to print without a traceback.

Both derive from Hydra's ``CompactHydraException``: Hydra prints such an error as its message
alone (``HYDRA_FULL_ERROR=1`` still shows the stack).
"""
from hydra.errors import CompactHydraException


class SweeperConfigError(CompactHydraException, ValueError):
    """Bad sweeper input, found before any trial is launched.

    The message names the field, the bad value and what is allowed, e.g.
    ``hydra.sweeper.n_calls=0: must be an integer >= 1``.
    """


class SweepStoppedError(CompactHydraException, RuntimeError):
    """The sweep stopped on failed trials (``on_failure: raise`` or ``max_failures``).

    The only way a sweep exits non-zero after trials have run: every finished trial is
    already in the journal, and rerunning the same command resumes.
    """
