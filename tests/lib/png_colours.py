#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""png_colours.py FILE.png MIN RRGGBB...: count the pixels of each colour
(within a small tolerance, for antialiasing) in a PNG; print the counts;
exit 0 when every colour has at least MIN pixels, 1 when one has fewer,
2 when the file is not a PNG this reads (8-bit RGB/RGBA, not interlaced).
The standard library only: zlib and the five PNG filters."""
import struct
import sys
import zlib

TOL = 24


def pixels(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError("depth %d colour type %d interlace %d" % (depth, ctype, interlace))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def main():
    path, need, colours = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    try:
        w, h, bpp, rows = pixels(path)
    except (OSError, ValueError, zlib.error, struct.error, TypeError) as e:
        print("%s: %s" % (path, e))
        return 2
    want = [tuple(int(c[i:i + 2], 16) for i in (0, 2, 4)) for c in colours]
    counts = [0] * len(want)
    for row in rows:
        for x in range(0, w * bpp, bpp):
            r, g, b = row[x], row[x + 1], row[x + 2]
            for k, (cr, cg, cb) in enumerate(want):
                if abs(r - cr) <= TOL and abs(g - cg) <= TOL and abs(b - cb) <= TOL:
                    counts[k] += 1
    print("%s %dx%d: " % (path, w, h) +
          " ".join("#%s=%d" % (c, n) for c, n in zip(colours, counts)))
    return 0 if all(n >= need for n in counts) else 1


if __name__ == "__main__":
    sys.exit(main())
