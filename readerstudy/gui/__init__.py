"""The PySide6 + pyqtgraph workstation: views over ``readerstudy.study`` objects only.

Never imports ``readerstudy.store`` or ``model`` (an import-linter contract checks this).
"""
