"""What runs inside a trial's process: the wrapper around the app's task function
(:mod:`.task`), ``report()`` and the pruning rules (:mod:`.pruning`), and the Lightning callback
(:mod:`.lightning`, the only module that imports Lightning).

It reads the sweep dir's formats (:mod:`..records`) and nothing of the loop.
"""
