#!/usr/bin/env python3
"""Generates the Teams app icons (the source of truth for color.png and outline.png).

    python3 appPackage/make-icons.py            # rewrites appPackage/color.png and outline.png
    python3 appPackage/make-icons.py --out DIR  # writes them into DIR instead

color.png   192x192, a white bell on a solid ilert-blue background (full bleed; Teams rounds corners).
outline.png  32x32,  the same bell in white on a transparent background. Every pixel is either
                     fully transparent or pure white (antialiased edges vary only the alpha).

Standard library only: the bell is drawn geometrically in unit coordinates, supersampled for
antialiasing, and written as an 8-bit RGBA PNG with zlib + struct.
"""
import argparse
import os
import struct
import zlib

BRAND = (0x1F, 0x4F, 0xE0)  # keep in sync with "accentColor" in manifest.json
WHITE = (0xFF, 0xFF, 0xFF)
SUPERSAMPLE = 4  # 4x4 samples per pixel


def in_bell(x, y):
    """True if the unit-square point (x, y) (y grows downwards) lies on the bell glyph."""
    cx = 0.5
    dx = x - cx
    # knob on top of the dome
    if dx * dx + (y - 0.115) ** 2 <= 0.055 ** 2:
        return True
    # dome: upper half of a circle centred at (0.5, 0.36), radius 0.24
    if y <= 0.36:
        return dx * dx + (y - 0.36) ** 2 <= 0.24 ** 2
    # flaring body down to the rim
    if y <= 0.70:
        t = (y - 0.36) / 0.34
        return abs(dx) <= 0.24 + 0.12 * t * t
    # rim: a rounded bar across the mouth of the bell
    if y <= 0.77:
        left, right, top, bottom, r = 0.11, 0.89, 0.68, 0.77, 0.035
        qx = min(max(x, left + r), right - r)
        qy = min(max(y, top + r), bottom - r)
        return (x - qx) ** 2 + (y - qy) ** 2 <= r * r
    # clapper: lower half of a small disc, with a gap below the rim
    if y >= 0.81:
        return dx * dx + (y - 0.81) ** 2 <= 0.105 ** 2
    return False


def coverage(size, box_offset, box_size):
    """Per-pixel glyph coverage in [0, 1] for a size x size image, glyph mapped to a square box."""
    n = SUPERSAMPLE
    rows = []
    for py in range(size):
        row = []
        for px in range(size):
            hits = 0
            for sy in range(n):
                gy = (py + (sy + 0.5) / n - box_offset) / box_size
                for sx in range(n):
                    gx = (px + (sx + 0.5) / n - box_offset) / box_size
                    if 0.0 <= gx <= 1.0 and 0.0 <= gy <= 1.0 and in_bell(gx, gy):
                        hits += 1
            row.append(hits / (n * n))
        rows.append(row)
    return rows


def png(width, height, pixels):
    """pixels: rows of (r, g, b, a) tuples -> PNG bytes (8-bit RGBA, no interlace)."""
    raw = bytearray()
    for row in pixels:
        raw.append(0)  # filter type: None
        for r, g, b, a in row:
            raw += bytes((r, g, b, a))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b""))


def color_icon():
    size = 192
    cov = coverage(size, box_offset=36, box_size=120)  # glyph inside the central 120x120
    mix = lambda c, w, k: round(c * (1 - k) + w * k)
    return png(size, size, [[tuple(mix(c, w, k) for c, w in zip(BRAND, WHITE)) + (255,) for k in row]
                            for row in cov])


def outline_icon():
    size = 32
    cov = coverage(size, box_offset=1, box_size=30)
    return png(size, size, [[WHITE + (round(255 * k),) if k > 0 else (0, 0, 0, 0) for k in row]
                            for row in cov])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)),
                        help="directory to write color.png and outline.png into (default: appPackage/)")
    out = parser.parse_args().out
    os.makedirs(out, exist_ok=True)
    for name, data in (("color.png", color_icon()), ("outline.png", outline_icon())):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print(f"wrote {os.path.join(out, name)} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
