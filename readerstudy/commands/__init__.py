"""CLI sub-commands, one module per noun; each exposes ``register(app)``.

Modules here import only typer and the standard library at top level; the backend is
imported inside each command so that ``readerstudy --help`` never loads heavy packages.
"""
