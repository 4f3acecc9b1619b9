#!/usr/bin/python3
"""Writes N images of an IDX dataset (e.g. Fashion-MNIST) as PNG files, evenly spaced over the
file, for `morsel convert --quantize int8 --calibrate DIR` (calibration wants a folder of images).
  bench/quant/idx-sample.py IMAGES_IDX[.gz] OUT_DIR [N=200]"""
import gzip, os, struct, sys, zlib

def png_gray(path, w, h, pixels):
    raw = b''.join(b'\x00' + pixels[y * w:(y + 1) * w] for y in range(h))
    def chunk(t, d):
        return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0)) +
                chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b''))

src, out = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 200
data = (gzip.open if src.endswith('.gz') else open)(src, 'rb').read()
magic, count, rows, cols = struct.unpack('>IIII', data[:16])
assert magic == 0x803, 'not an IDX3 unsigned-byte file'
os.makedirs(out, exist_ok=True)
for k in range(n):
    i = k * count // n
    off = 16 + i * rows * cols
    png_gray(os.path.join(out, '%05d.png' % i), cols, rows, data[off:off + rows * cols])
print('%s: %d images' % (out, n))
