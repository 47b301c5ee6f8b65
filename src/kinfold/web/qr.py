"""qr.py — a QR code drawn on the server as SVG (the ``qrcode`` package), so no image service ever sees what it
encodes: an authenticator app's key (staff enrolment), a parent's one-time screening link."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg


def qr_svg(data: str) -> str:
    """``data`` as an inline ``<svg>`` element (no XML declaration)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode("utf-8")
    return svg[svg.index("<svg") :]
