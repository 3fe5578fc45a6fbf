"""Coordinator workflows: import, AI precompute, phantoms, simulation, export, analysis, demo.

Each module runs one job over the protocol model (:mod:`readerstudy.study`), the imaging
layer and the model; :mod:`readerstudy.workflows.coordinator` is the console's façade over them.
"""
