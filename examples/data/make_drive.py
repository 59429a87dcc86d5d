"""Writes examples/data/drive.npy (float64 [1000, 10], nA) without numpy."""
import math, struct, pathlib

T, N, dt = 1000, 10, 0.1e-3
rows = []
for n in range(T):
    t = n * dt
    for i in range(N):
        v = 0.0 if t < 20e-3 else 1.4 + 0.1 * i + 0.2 * math.sin(2 * math.pi * 50 * t)
        rows.append(v)
header = "{'descr': '<f8', 'fortran_order': False, 'shape': (%d, %d), }" % (T, N)
pad = 64 - (10 + len(header) + 1) % 64
header = header + " " * pad + "\n"
out = pathlib.Path(__file__).with_name("drive.npy")
out.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()
                + struct.pack("<%dd" % len(rows), *rows))
