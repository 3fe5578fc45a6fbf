"""The workstation's look: a calm dark theme for dim reading rooms, legible from 60 cm.

Grey surfaces keep the screen from glowing around the CT image; one muted blue marks focus
and selection, one muted amber marks a call of "abnormal". Sizes are in points, so Qt scales
them with the screen's DPI (high-DPI rounding is set to pass through before the app starts).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLayout, QWidget


@dataclass(frozen=True)
class Colors:
    """The palette; also used by the viewer's overlays and readouts."""

    background: str = "#0e1013"
    surface: str = "#171a1f"
    raised: str = "#20242b"
    border: str = "#2c313a"
    text: str = "#d5dae1"
    muted: str = "#8b95a1"
    accent: str = "#5b9bd5"
    abnormal: str = "#e0a04a"
    abnormal_text: str = "#1a1206"
    ai: str = "#c77dd8"
    warning: str = "#d9b44a"
    error: str = "#e06c6c"


COLORS = Colors()
BASE_POINT_SIZE = 13
"""Body text: about 4.5 mm high at 96 dpi, readable from 60 cm."""


def configure_high_dpi() -> None:
    """Call before the QApplication exists: fractional scale factors render at true size."""
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )


def _palette() -> QPalette:
    c = COLORS
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: c.background,
        QPalette.ColorRole.WindowText: c.text,
        QPalette.ColorRole.Base: c.surface,
        QPalette.ColorRole.AlternateBase: c.raised,
        QPalette.ColorRole.Text: c.text,
        QPalette.ColorRole.Button: c.raised,
        QPalette.ColorRole.ButtonText: c.text,
        QPalette.ColorRole.Highlight: c.accent,
        QPalette.ColorRole.HighlightedText: c.background,
        QPalette.ColorRole.ToolTipBase: c.raised,
        QPalette.ColorRole.ToolTipText: c.text,
        QPalette.ColorRole.PlaceholderText: c.muted,
    }
    for role, color in roles.items():
        palette.setColor(role, QColor(color))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(c.muted))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(c.muted))
    return palette


STYLESHEET = f"""
QWidget {{ background: {COLORS.background}; color: {COLORS.text}; }}
QLabel {{ background: transparent; }}
QLabel[role="title"] {{ font-size: 20pt; font-weight: 600; }}
QLabel[role="subtitle"] {{ color: {COLORS.muted}; font-size: 13pt; }}
QLabel[role="muted"] {{ color: {COLORS.muted}; }}
QLabel[role="error"] {{ color: {COLORS.error}; }}
QLabel[role="notice"] {{
    background: #2a2415; color: {COLORS.warning}; border: 1px solid #4a3f1e;
    border-radius: 6px; padding: 8px 12px;
}}
QLabel[role="confirm"] {{
    background: #14263a; color: {COLORS.text}; border: 1px solid {COLORS.accent};
    border-radius: 6px; padding: 12px 14px; font-size: 15pt;
}}
QLabel[role="refusal"] {{
    background: #2e1717; color: {COLORS.text}; border: 1px solid {COLORS.error};
    border-radius: 6px; padding: 12px 14px; font-size: 15pt;
}}
QFrame[role="panel"] {{
    background: {COLORS.surface}; border: 1px solid {COLORS.border}; border-radius: 8px;
}}
QFrame[role="panel"] QWidget {{ background: transparent; }}
QFrame[role="panel"] QPushButton {{ background: {COLORS.raised}; }}
QListWidget {{
    background: {COLORS.surface}; border: 1px solid {COLORS.border}; border-radius: 6px;
    padding: 4px; font-size: 15pt; outline: none;
}}
QListWidget::item {{ padding: 10px 12px; border-radius: 4px; }}
QListWidget::item:selected {{ background: {COLORS.accent}; color: {COLORS.background}; }}
QListWidget::item:disabled {{ color: {COLORS.muted}; }}
QLineEdit {{
    background: {COLORS.surface}; border: 1px solid {COLORS.border}; border-radius: 6px;
    padding: 8px 10px; font-size: 16pt; selection-background-color: {COLORS.accent};
}}
QLineEdit:focus {{ border-color: {COLORS.accent}; }}
QPushButton {{
    background: {COLORS.raised}; border: 1px solid {COLORS.border}; border-radius: 6px;
    padding: 8px 16px;
}}
QPushButton:focus {{ border-color: {COLORS.accent}; }}
QPushButton:disabled {{ color: {COLORS.muted}; }}
QPushButton[role="unit"] {{ padding: 6px 4px; font-size: 14pt; font-weight: 600; }}
QPushButton[role="unit"]:checked {{
    background: {COLORS.abnormal}; color: {COLORS.abnormal_text}; border-color: {COLORS.abnormal};
}}
QPushButton[role="unit"][active="true"] {{ border: 2px solid {COLORS.accent}; }}
QPushButton[role="rating"] {{ padding: 1px 0px; min-width: 17px; font-size: 10pt; }}
QPushButton[role="rating"]:checked {{
    background: {COLORS.accent}; color: {COLORS.background}; border-color: {COLORS.accent};
}}
QSpinBox {{
    background: {COLORS.surface}; border: 1px solid {COLORS.border}; border-radius: 4px;
    padding: 2px 4px;
}}
QToolTip {{ background: {COLORS.raised}; color: {COLORS.text}; border: 1px solid {COLORS.border}; }}
"""


CONSOLE_STYLESHEET = f"""
QLineEdit, QComboBox {{
    background: {COLORS.surface}; border: 1px solid {COLORS.border}; border-radius: 5px;
    padding: 5px 8px; font-size: 13pt; selection-background-color: {COLORS.accent};
}}
QSpinBox, QDoubleSpinBox {{
    background: {COLORS.surface}; border: 1px solid {COLORS.border}; border-radius: 5px;
    padding: 4px; font-size: 13pt; selection-background-color: {COLORS.accent};
}}
QLineEdit:focus, QComboBox:focus, QSpinBox:focus, QDoubleSpinBox:focus {{
    border-color: {COLORS.accent};
}}
QComboBox QAbstractItemView {{
    background: {COLORS.surface}; selection-background-color: {COLORS.accent};
}}
QPlainTextEdit {{
    background: {COLORS.surface}; border: 1px solid {COLORS.border}; border-radius: 6px;
    padding: 6px; font-family: monospace; font-size: 12pt;
}}
QTableWidget {{
    background: {COLORS.surface}; alternate-background-color: {COLORS.raised};
    border: 1px solid {COLORS.border}; border-radius: 6px; gridline-color: {COLORS.border};
    font-size: 12pt;
}}
QTableWidget::item {{ padding: 2px 6px; }}
QTableWidget::item:selected {{ background: #24405e; color: {COLORS.text}; }}
QHeaderView::section {{
    background: {COLORS.raised}; color: {COLORS.muted}; border: none;
    border-bottom: 1px solid {COLORS.border}; padding: 5px 6px; font-size: 11pt;
}}
QTabWidget::pane {{ border: none; }}
QTabBar::tab {{
    background: transparent; color: {COLORS.muted}; padding: 8px 18px; font-size: 14pt;
    border-bottom: 2px solid transparent;
}}
QTabBar::tab:selected {{ color: {COLORS.text}; border-bottom: 2px solid {COLORS.accent}; }}
QProgressBar {{
    background: {COLORS.surface}; border: 1px solid {COLORS.border}; border-radius: 5px;
    text-align: center; min-height: 20px; font-size: 11pt;
}}
QProgressBar::chunk {{ background: {COLORS.accent}; border-radius: 4px; }}
QListWidget[role="steps"] {{ font-size: 13pt; }}
QListWidget[role="steps"]::item {{ padding: 8px 10px; }}
QListWidget[role="steps"]::item:selected {{ background: {COLORS.raised}; color: {COLORS.text}; }}
QLabel[role="section"] {{ font-size: 15pt; font-weight: 600; }}
QLabel[role="ok"] {{ color: #7fbf7f; }}
QLabel[role="code"] {{
    background: {COLORS.surface}; border: 1px solid {COLORS.border}; border-radius: 6px;
    padding: 8px; font-family: monospace; font-size: 11pt;
}}
QPushButton[role="primary"] {{
    background: {COLORS.accent}; color: {COLORS.background}; border-color: {COLORS.accent};
    font-weight: 600;
}}
QPushButton[role="primary"]:disabled {{ background: {COLORS.raised}; color: {COLORS.muted}; }}
QScrollArea {{ border: none; }}
QCheckBox, QRadioButton {{ spacing: 8px; }}
QCheckBox::indicator, QRadioButton::indicator {{
    width: 14px; height: 14px; border: 2px solid {COLORS.muted}; background: {COLORS.surface};
}}
QCheckBox::indicator {{ border-radius: 3px; }}
QRadioButton::indicator {{ border-radius: 9px; }}
QCheckBox::indicator:checked, QRadioButton::indicator:checked {{
    background: {COLORS.accent}; border-color: {COLORS.accent};
}}
QCheckBox::indicator:disabled, QRadioButton::indicator:disabled {{ border-color: {COLORS.border}; }}
QListWidget[role="gallery"] {{ font-size: 12pt; padding: 8px; }}
QListWidget[role="gallery"]::item {{ padding: 0px; border: 1px solid transparent; }}
QListWidget[role="gallery"]::item:selected {{
    background: {COLORS.raised}; color: {COLORS.text}; border: 1px solid {COLORS.accent};
}}
"""
"""The coordinator's console on top of :data:`STYLESHEET`: denser forms, tables and tabs (a
coordinator works at a desk, close to the screen, with many fields on it)."""


def apply_theme(app: QApplication) -> None:
    """Dark Fusion style, the palette above and a body font legible from 60 cm."""
    app.setStyle("Fusion")
    app.setPalette(_palette())
    font = QFont(app.font())
    font.setPointSize(BASE_POINT_SIZE)
    app.setFont(font)
    app.setStyleSheet(STYLESHEET)


def centre_card(screen: QWidget, card: QLayout, width: int) -> None:
    """Lay ``card`` out as a column of ``width`` points, centred on ``screen``."""
    box = QWidget()
    box.setLayout(card)
    box.setFixedWidth(width)
    outer = QHBoxLayout(screen)
    outer.addStretch(1)
    outer.addWidget(box, 0, Qt.AlignmentFlag.AlignVCenter)
    outer.addStretch(1)
