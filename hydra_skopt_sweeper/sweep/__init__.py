"""One sweep, in the sweeper's process: the loop (:mod:`.loop`), when trials are launched and on
which device (:mod:`.scheduler`), how each returned trial is recorded (:mod:`.recording`),
resume and warm start (:mod:`.resume`), and the lock on its sweep dir (:mod:`.lock`).
"""
