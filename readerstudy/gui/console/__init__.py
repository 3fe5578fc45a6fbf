"""The coordinator's console: set up, prepare, watch and close a study from one window.

A thin view over :mod:`readerstudy.workflows.coordinator`, the functions the ``readerstudy study``
commands call; long work runs on worker threads (:mod:`.tasks`) so the window never freezes.
"""
