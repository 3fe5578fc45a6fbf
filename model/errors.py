"""The model's one exception family: callers (the app, the CLI) map :class:`ModelError` once."""

from __future__ import annotations

import numpy as np


class ModelError(ValueError):
    """The model cannot serve a request; the message says why and names the input."""


class RegistrationError(ModelError):
    """The scan cannot be registered to the template; the message says why.

    ``quicklook`` is an optional RGB uint8 image ``(H, W, 3)`` of the failed alignment (the
    scan's mid-slices with the best attempt's template outline), for the coordinator to look at.
    """

    def __init__(self, message: str, *, quicklook: np.ndarray | None = None) -> None:
        super().__init__(message)
        self.quicklook = quicklook


class CalibrationError(ModelError):
    """The calibration file or training data is unusable; the message says why."""


class MethodError(ModelError):
    """A method cannot be made (unknown name, bad device or weights) or broke its contract."""


class ScanError(ModelError):
    """The scan is not a head CT volume in HU the model can read; the message says why."""


class PhantomError(ModelError):
    """A phantom cannot be made with the requested settings; the message says why."""
