"""Domain exceptions: messages a coordinator can act on, turned into exit status 2 by the CLI."""


class ReaderStudyError(Exception):
    """Base class for every error caused by bad input, configuration or study state.

    The CLI prints the message on one line and exits with status 2 (``--debug`` shows the
    traceback). Messages name the object, the rule and the bad value, e.g.
    ``case 17: 3 slices missing between z=40 and z=55 mm``.
    """
