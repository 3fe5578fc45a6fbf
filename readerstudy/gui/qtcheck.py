"""What Qt sees on this machine (screens, DPI, OpenGL), for ``readerstudy doctor``.

Run in a child process by the doctor: a Qt platform plugin that cannot load (a missing
``libxcb-cursor0``, say) aborts the process it loads in, and the doctor must report that
instead of dying of it.
"""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication, QOffscreenSurface, QOpenGLContext

GL_VENDOR, GL_RENDERER = 0x1F00, 0x1F01


def qt_report() -> dict:
    """Platform, screens (pixels, scale, DPI) and the OpenGL context Qt can make."""
    running = QGuiApplication.instance()
    app = (
        running if isinstance(running, QGuiApplication) else QGuiApplication(["readerstudy-doctor"])
    )
    screens = []
    for screen in app.screens():
        size = screen.size()
        ratio = screen.devicePixelRatio()
        screens.append(
            {
                "name": screen.name(),
                "logical": [size.width(), size.height()],
                "pixels": [round(size.width() * ratio), round(size.height() * ratio)],
                "scale": ratio,
                "logical_dpi": screen.logicalDotsPerInch(),
                "physical_dpi": screen.physicalDotsPerInch(),
                "primary": screen == app.primaryScreen(),
            }
        )
    return {"platform": app.platformName(), "screens": screens, "opengl": _opengl()}


def _opengl() -> dict:
    context = QOpenGLContext()
    if not context.create():
        return {"available": False}
    surface = QOffscreenSurface()
    surface.setFormat(context.format())
    surface.create()
    found = context.format()
    result = {"available": True, "version": f"{found.majorVersion()}.{found.minorVersion()}"}
    if surface.isValid() and context.makeCurrent(surface):
        functions = context.functions()
        result["vendor"] = functions.glGetString(GL_VENDOR)
        result["renderer"] = functions.glGetString(GL_RENDERER)
        context.doneCurrent()
    return result
