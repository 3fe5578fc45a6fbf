"""The axial slice viewer: a bare ``pg.ImageItem`` with fixed levels, overlays and readouts.

``pg.ImageView`` recomputes a histogram on every frame (19-21 ms for a 512x512 slice); a bare
``ImageItem`` given fixed levels repaints in a few milliseconds, so that is what is used. The
viewer shows HU in display orientation as the study layer hands it over (row 0 anterior at the
top, column 0 on screen left) and draws in millimetres, so non-square pixels keep their shape.

The slice is one 32-bit RGB image with the AI overlay blended in (see ``_composite``).

Mouse: left drag = window/level (right/left width, up/down level), wheel = slice,
Ctrl+wheel or right drag = zoom, middle or Shift+left drag = pan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGridLayout, QHBoxLayout, QLabel, QWidget

from readerstudy.gui.theme import COLORS
from readerstudy.study.workstation import DisplayVolume


@dataclass(frozen=True)
class WindowPreset:
    name: str
    center: float
    width: float


PRESETS = {
    "brain": WindowPreset("Brain", 40.0, 80.0),
    "stroke": WindowPreset("Stroke", 40.0, 40.0),
    "narrow": WindowPreset("Narrow", 32.0, 8.0),
}
MIN_WIDTH = 1.0
PAGE_STEP = 5
OPACITY_STEP = 0.05
ZOOM_STEP = 1.25


HEAT_FLOOR = 0.2
"""Likelihoods below this are not drawn."""


def heat_lut() -> np.ndarray:
    """RGBA lookup table of the AI heat map: transparent below 0.2, red-orange-yellow above."""
    x = np.linspace(0.0, 1.0, 256)
    lut = np.zeros((256, 4), dtype=np.ubyte)
    lut[:, 0] = 255
    lut[:, 1] = np.clip((x - 0.35) / 0.65, 0, 1) * 220
    lut[:, 2] = np.clip((x - 0.8) / 0.2, 0, 1) * 120
    lut[:, 3] = np.clip((x - 0.2) / 0.4, 0, 1) * 255
    return lut


OUTLINE_COLOR = "#96bee6"
"""Outlines and names of the regions the model does not call abnormal."""


def outline_lut() -> np.ndarray:
    """0 transparent, 1 a region outline, 2 the outline of a unit the model calls positive."""
    lut = np.zeros((3, 4), dtype=np.ubyte)
    plain = QColor(OUTLINE_COLOR)
    lut[1] = (plain.red(), plain.green(), plain.blue(), 150)
    ai = QColor(COLORS.ai)
    lut[2] = (ai.red(), ai.green(), ai.blue(), 255)
    return lut


def outline_image(labels: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """Region boundaries of one label slice: 1 at a label change, 2 where the label is positive.

    ``positive`` is a lookup (label value -> bool). A pixel is a boundary when its label differs
    from the pixel below or to the right, so each border is one pixel wide.
    """
    edge = np.zeros(labels.shape, dtype=bool)
    edge[:-1, :] |= labels[:-1, :] != labels[1:, :]
    edge[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    edge &= labels > 0
    out = edge.astype(np.ubyte)
    out[edge & positive[labels]] = 2
    return out


def region_centers(labels: np.ndarray, step: int = 4) -> dict[int, tuple[float, float]]:
    """(row, col) centre of each label in a slice, from every ``step``-th pixel (cheap enough
    for every slice change)."""
    sample = labels[::step, ::step]
    flat = sample.ravel().astype(np.intp)
    counts = np.bincount(flat, minlength=256)
    rows, cols = np.indices(sample.shape)
    row_sum = np.bincount(flat, weights=rows.ravel(), minlength=256)
    col_sum = np.bincount(flat, weights=cols.ravel(), minlength=256)
    return {
        int(label): (row_sum[label] / counts[label] * step, col_sum[label] / counts[label] * step)
        for label in np.flatnonzero(counts[1:] >= 3) + 1
    }


class _Layer:
    """An overlay volume (None when absent) with per-slice results cached: a slice's pixels
    are worked out on its first visit, and later visits only blend them in."""

    def __init__(self, volume: np.ndarray | None) -> None:
        self.data = volume
        self.cache: dict[int, tuple] = {}


class SliceImage(QGraphicsItem):
    """The shown slice: a 32-bit RGB buffer painted as one QImage.

    Qt paints ``Format_RGB32`` without converting it, so the slice (with or without the AI
    overlay blended in) costs one plain image draw per frame.
    """

    def __init__(self) -> None:
        super().__init__()
        self._buffer: np.ndarray | None = None
        self._image = QImage()

    def set_buffer(self, buffer: np.ndarray) -> None:
        """``buffer``: (rows, cols) uint32 pixels 0xFFRRGGBB; kept alive while shown."""
        if self._buffer is None or self._buffer.shape != buffer.shape:
            self.prepareGeometryChange()
        self._buffer = np.ascontiguousarray(buffer)
        rows, cols = self._buffer.shape
        self._image = QImage(self._buffer.data, cols, rows, cols * 4, QImage.Format.Format_RGB32)
        self.update()

    def clear(self) -> None:
        self.prepareGeometryChange()
        self._buffer = None
        self._image = QImage()

    @property
    def buffer(self) -> np.ndarray | None:
        return self._buffer

    def boundingRect(self) -> QRectF:
        if self._buffer is None:
            return QRectF()
        rows, cols = self._buffer.shape
        return QRectF(0, 0, cols, rows)

    def paint(self, painter, option, widget=None) -> None:
        if self._buffer is not None:
            painter.drawImage(self.boundingRect(), self._image)


class RegionNames(QGraphicsItem):
    """The names of the atlas regions at their centres, drawn at screen size in one paint."""

    def __init__(self) -> None:
        super().__init__()
        self._names: list[tuple[QPointF, str, str]] = []
        self._rect = QRectF()
        self.setZValue(2)

    def set_names(self, names: list[tuple[QPointF, str, str]], rect: QRectF) -> None:
        """(position in mm, text, colour) of each name; ``rect`` bounds the positions."""
        self.prepareGeometryChange()
        self._names = names
        self._rect = rect.adjusted(-20, -20, 20, 20)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter, option, widget=None) -> None:
        if not self._names:
            return
        to_screen = painter.transform()
        painter.save()
        painter.resetTransform()
        font = QFont(painter.font())
        font.setPointSize(11)
        font.setBold(True)
        painter.setFont(font)
        metrics = QFontMetrics(font)
        for position, text, color in self._names:
            at = to_screen.map(position)
            width, height = metrics.horizontalAdvance(text) + 8, metrics.height() + 2
            box = QRectF(at.x() - width / 2, at.y() - height / 2, width, height)
            painter.fillRect(box, QColor(14, 16, 19, 170))
            painter.setPen(QColor(color))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()


class _SliceViewBox(pg.ViewBox):
    """A ViewBox whose wheel steps slices and whose left drag sets window/level."""

    def __init__(self, viewer: SliceViewer) -> None:
        super().__init__(lockAspect=True, invertY=True, enableMenu=False)
        self._viewer = viewer
        self._drag_origin: tuple[float, float] | None = None

    def wheelEvent(self, ev, axis=None) -> None:
        if ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
            super().wheelEvent(ev, axis)
            self._viewer.interacted.emit()
            return
        steps = ev.delta() / 120
        if steps:
            self._viewer.step_slice(1 if steps > 0 else -1)
        ev.accept()

    def mouseDragEvent(self, ev, axis=None) -> None:
        plain_left = (
            ev.button() == Qt.MouseButton.LeftButton
            and not ev.modifiers() & Qt.KeyboardModifier.ShiftModifier
        )
        if not plain_left:
            super().mouseDragEvent(ev, axis)
            self._viewer.interacted.emit()
            return
        ev.accept()
        if ev.isStart():
            self._drag_origin = self._viewer.window
        if self._drag_origin is None:
            return
        center, width = self._drag_origin
        delta = ev.screenPos() - ev.buttonDownScreenPos()
        scale = max(width, 8.0) / 250.0
        self._viewer.set_window(
            center - delta.y() * scale, width + delta.x() * scale, final=ev.isFinish()
        )
        if ev.isFinish():
            self._drag_origin = None


class SliceViewer(QWidget):
    """Shows one case's volume; emits what the reader did so the session can record it."""

    slice_changed = Signal(int)
    window_changed = Signal(float, float)
    """(center, width) once a change is final: a preset, or the end of a drag."""
    interacted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._volume: DisplayVolume | None = None
        self._index = 0
        self._window = (PRESETS["brain"].center, PRESETS["brain"].width)
        self._default_window = self._window
        self._overlay_visible = False
        self._outlines_visible = True
        self._opacity = 0.5
        self._positive_lookup = np.zeros(256, dtype=bool)
        self._heat = self._atlas = _Layer(None)
        self._gray_cache: tuple[tuple[float, float] | None, np.ndarray | None] = (None, None)

        self.view = pg.GraphicsView(background=COLORS.background)
        self.view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.box = _SliceViewBox(self)
        self.view.setCentralItem(self.box)
        self.image = SliceImage()
        self.box.addItem(self.image)
        self._heat_lut = heat_lut().astype(np.float32)
        self._outline_lut = outline_lut()
        self.heat_shown = False
        self.outlines_shown = False
        self._names = RegionNames()
        self.box.addItem(self._names)

        # Readouts sit around the image, not over it: nothing covers the picture, and a
        # slice change repaints only the image.
        self._left_marker = self._label(size=22, bold=True)
        self._right_marker = self._label(size=22, bold=True)
        self._position = self._label(size=14)
        self._window_readout = self._label(size=14)
        self._overlay_readout = self._label(size=13, color=COLORS.ai)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(4)
        grid.addWidget(self._overlay_readout, 0, 1, Qt.AlignmentFlag.AlignRight)
        grid.addWidget(self._left_marker, 1, 0, Qt.AlignmentFlag.AlignCenter)
        grid.addWidget(self.view, 1, 1)
        grid.addWidget(self._right_marker, 1, 2, Qt.AlignmentFlag.AlignCenter)
        bottom = QHBoxLayout()
        bottom.addWidget(self._position)
        bottom.addStretch(1)
        bottom.addWidget(self._window_readout)
        grid.addLayout(bottom, 2, 1)
        grid.setRowStretch(1, 1)
        grid.setColumnStretch(1, 1)
        self._clear()

    @staticmethod
    def _label(*, size: int, bold: bool = False, color: str = "") -> QLabel:
        label = QLabel()
        weight = "700" if bold else "500"
        label.setStyleSheet(
            f"color: {color or COLORS.text}; font-size: {size}pt; font-weight: {weight};"
            "padding: 2px 6px;"
        )
        label.setMinimumWidth(40 if bold else 0)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        return label

    # -- state -------------------------------------------------------------------------
    @property
    def volume(self) -> DisplayVolume | None:
        return self._volume

    @property
    def index(self) -> int:
        return self._index

    @property  # the HU window, shadowing QWidget.window() (nothing here asks for the top level)
    def window(self) -> tuple[float, float]:  # type: ignore[override]
        """(center, width) in HU."""
        return self._window

    @property
    def opacity(self) -> float:
        return self._opacity

    @property
    def overlay_visible(self) -> bool:
        return self._overlay_visible

    @property
    def outlines_visible(self) -> bool:
        return self._outlines_visible

    @property
    def zoom(self) -> float:
        """Screen pixels per mm relative to a view that just fits the slice (1 after reset,
        less the reset's 2% margin)."""
        if self._volume is None:
            return 1.0
        fitted = self._fitted_rect()
        size = self.box.size()
        fit_scale = min(size.width() / fitted.width(), size.height() / fitted.height())
        return size.width() / self.box.viewRect().width() / fit_scale

    def _clear(self) -> None:
        self._volume = None
        self.image.clear()
        self.image.setVisible(False)
        self.heat_shown = self.outlines_shown = False
        self._names.set_names([], QRectF())
        for label in (self._left_marker, self._right_marker, self._position, self._overlay_readout):
            label.setText("")
            label.setVisible(False)
        self._window_readout.setVisible(False)

    def clear(self) -> None:
        """Show nothing (between sessions, on pause, after the last case)."""
        self._clear()

    def show_volume(
        self,
        volume: DisplayVolume,
        *,
        positive_units: Sequence[str] = (),
        overlay_visible: bool = False,
    ) -> None:
        """Display a new case at its middle slice with the study's default window."""
        self._volume = volume
        n = volume.hu.shape[0]
        self._index = n // 2
        self._default_window = (float(volume.window[0]), float(volume.window[1]))
        self._window = self._default_window
        # Pixels are drawn in mm: one transform per case, whatever the slice shows.
        scale = QTransform.fromScale(volume.spacing[2], volume.spacing[1])
        lookup = np.zeros(256, dtype=bool)
        for label, unit in volume.region_units.items():
            lookup[int(label)] = unit in set(positive_units)
        self._positive_lookup = lookup
        self.image.setTransform(scale)
        self._heat = _Layer(volume.ai_mask)
        self._atlas = _Layer(volume.regions)
        self.image.setVisible(True)
        has_ai = volume.ai_mask is not None or volume.regions is not None
        self._overlay_visible = overlay_visible and has_ai
        right = "L" if volume.screen_left == "R" else "R"
        self._left_marker.setText(volume.screen_left)
        self._right_marker.setText(right)
        for marker in (self._left_marker, self._right_marker, self._position):
            marker.setVisible(True)
        self._window_readout.setVisible(True)
        self._render()
        self.reset_view()

    # -- rendering ---------------------------------------------------------------------
    def _levels(self) -> tuple[float, float]:
        center, width = self._window
        return center - width / 2, center + width / 2

    def _render(self) -> None:
        volume = self._volume
        if volume is None:
            return
        plane = volume.hu[self._index]
        show = self._overlay_visible
        self.heat_shown = show and self._heat.data is not None
        self.outlines_shown = show and self._outlines_visible and self._atlas.data is not None
        self.image.set_buffer(self._composite(plane))
        centers = self._atlas_slice()[1] if self.outlines_shown else {}
        self._place_region_labels(centers)
        has_ai = volume.ai_mask is not None or volume.regions is not None
        self._overlay_readout.setVisible(has_ai)
        state = f"AI overlay {self._opacity:.2f}" if show else "AI overlay hidden"
        self._overlay_readout.setText(state)
        self._update_readouts()

    def _atlas_slice(self) -> tuple[tuple[np.ndarray, np.ndarray], dict]:
        """Pixels of the plain and the AI-positive outlines, and the region centres, of the
        current slice (cached per slice)."""
        cached = self._atlas.cache.get(self._index)
        if cached is None:
            atlas = self._atlas.data
            if atlas is None:
                raise LookupError("this case has no atlas overlay to outline")
            labels = atlas[self._index]
            outline = outline_image(labels, self._positive_lookup)
            pixels = (np.flatnonzero(outline == 1), np.flatnonzero(outline == 2))
            cached = (pixels, region_centers(labels))
            self._atlas.cache[self._index] = cached
        return cached

    def _heat_slice(self) -> tuple[np.ndarray, np.ndarray]:
        """Pixels of the current slice where the heat map shows, and their RGBA colours."""
        cached = self._heat.cache.get(self._index)
        if cached is None:
            heat = self._heat.data
            if heat is None:
                raise LookupError("this case has no AI heat map")
            values = heat[self._index].ravel()
            where = np.flatnonzero(values >= HEAT_FLOOR)
            levels = (np.clip(values[where], 0, 1) * 255).astype(np.ubyte)
            cached = (where, self._heat_lut[levels])
            self._heat.cache[self._index] = cached
        return cached

    def _gray_lut(self) -> np.ndarray:
        """The 0xFFRRGGBB grey of every int16 value in the current window."""
        window, lut = self._gray_cache
        if lut is None or window != self._window:
            values = np.arange(65536, dtype=np.uint16).view(np.int16).astype(np.float32)
            low, high = self._levels()
            gray = np.clip((values - low) * (255.0 / (high - low)), 0, 255).astype(np.uint32)
            lut = gray * 0x010101 | 0xFF000000
            self._gray_cache = (self._window, lut)
        return lut

    @staticmethod
    def _blend(bgra: np.ndarray, where: np.ndarray, colors: np.ndarray, alpha) -> None:
        under = bgra.reshape(-1, 4)[where, :3].astype(np.float32)
        bgra.reshape(-1, 4)[where, :3] = under * (1 - alpha) + colors * alpha

    def _composite(self, plane: np.ndarray) -> np.ndarray:
        """The slice in the window as 0xFFRRGGBB pixels, the heat map and outlines blended in.

        One image is painted instead of three layers (a transparent full-size layer costs as
        much to paint as the CT itself); the overlays touch only their own pixels. In memory
        a pixel's bytes are B, G, R, 0xFF, so colours are written in that order.
        """
        if plane.dtype == np.int16:
            packed = np.take(self._gray_lut(), plane.view(np.uint16))
        else:
            low, high = self._levels()
            gray = np.clip((plane - low) * (255.0 / (high - low)), 0, 255).astype(np.uint32)
            packed = gray * 0x010101 | 0xFF000000
        bgra = packed.view(np.ubyte).reshape(*plane.shape, 4)
        if self.heat_shown:
            where, colors = self._heat_slice()
            alpha = colors[:, 3:] * (self._opacity / 255.0)
            self._blend(bgra, where, colors[:, 2::-1], alpha)
        if self.outlines_shown:
            plain, positive = self._atlas_slice()[0]
            normal, ai = self._outline_lut[1], self._outline_lut[2]
            self._blend(bgra, plain, normal[2::-1].astype(np.float32), normal[3] / 255.0)
            bgra.reshape(-1, 4)[positive, :3] = ai[2::-1]
        return packed

    def _place_region_labels(self, centers: dict[int, tuple[float, float]]) -> None:
        """Region names at their centres (``centers`` in pixels of the slice)."""
        volume = self._volume
        if volume is None:
            return
        row_mm, col_mm = volume.spacing[1], volume.spacing[2]
        names = []
        for label, (row, col) in centers.items():
            unit = volume.region_units.get(label, "")
            color = COLORS.ai if self._positive_lookup[label] else OUTLINE_COLOR
            names.append((QPointF(col * col_mm, row * row_mm), unit.rpartition("_")[0], color))
        self._names.set_names(names, self._fitted_rect())

    def _update_readouts(self) -> None:
        volume = self._volume
        if volume is None:
            return
        n = volume.hu.shape[0]
        self._position.setText(
            f"Slice {self._index + 1} / {n}   z {volume.z_mm[self._index]:+.1f} mm"
        )
        center, width = self._window
        preset = next(
            (p.name for p in PRESETS.values() if (p.center, p.width) == (center, width)), ""
        )
        self._window_readout.setText(
            f"W {width:.0f}  L {center:.0f}" + (f"  {preset}" if preset else "")
        )

    # -- slices ------------------------------------------------------------------------
    def set_slice(self, index: int) -> None:
        volume = self._volume
        if volume is None:
            return
        index = int(np.clip(index, 0, volume.hu.shape[0] - 1))
        if index == self._index:
            return
        self._index = index
        self._render()
        self.slice_changed.emit(index)

    def step_slice(self, steps: int) -> None:
        """Up (positive) is superior: slice 0 is the most inferior."""
        self.set_slice(self._index + steps)

    def jump_to_level(self, level: str) -> bool:
        """Go to a named level (``ganglionic``) when the study supplies it; False otherwise."""
        levels = self._volume.levels if self._volume is not None else None
        if not levels or level not in levels:
            return False
        self.set_slice(levels[level])
        return True

    # -- window/level ------------------------------------------------------------------
    def set_window(self, center: float, width: float, *, final: bool = True) -> None:
        self._window = (round(float(center), 1), round(max(MIN_WIDTH, float(width)), 1))
        if self._volume is not None:
            self._render()
        if final:
            self.window_changed.emit(*self._window)

    def apply_preset(self, name: str) -> None:
        preset = PRESETS[name]
        self.set_window(preset.center, preset.width)

    # -- zoom and pan --------------------------------------------------------------------
    def _fitted_rect(self) -> QRectF:
        volume = self._volume
        if volume is None:
            return QRectF()
        rows, cols = volume.hu.shape[1:]
        return QRectF(0, 0, cols * volume.spacing[2], rows * volume.spacing[1])

    def reset_view(self) -> None:
        """Fit the slice into the view (zoom 1, centered); the window stays as it is."""
        if self._volume is not None:
            self.box.setRange(self._fitted_rect(), padding=0.02)

    def zoom_by(self, factor: float) -> None:
        if self._volume is not None:
            center = self.box.viewRect().center()
            self.box.scaleBy((1 / factor, 1 / factor), center=QPointF(center))
            self.interacted.emit()

    # -- AI overlay --------------------------------------------------------------------
    def set_overlay_visible(self, visible: bool) -> None:
        if bool(visible) is not self._overlay_visible:
            self._overlay_visible = bool(visible)
            self._render()

    def set_outlines_visible(self, visible: bool) -> None:
        self._outlines_visible = bool(visible)
        self._render()

    def set_opacity(self, opacity: float) -> float:
        """Clamp to 0-1 in 0.05 steps; returns the opacity now shown."""
        self._opacity = round(min(1.0, max(0.0, round(opacity / OPACITY_STEP) * OPACITY_STEP)), 2)
        self._render()
        return self._opacity
