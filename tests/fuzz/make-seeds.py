#!/usr/bin/python3
# Regenerates the seed corpora of the image decoder and HTTP request fuzz targets
# (tests/fuzz/corpus/{jpeg,png,webp,http}, committed; every file small): tiny images in the
# variants each decoder handles (subsampling, progressive, grayscale, CMYK, palette, alpha,
# 16-bit, 1-bit, lossy / lossless, EXIF orientation), and raw HTTP/1.1 requests for every
# route of `morsel serve` against the fuzz target's tiny model ("tiny": 8x8 RGB, input "image",
# output "probs"), with bodies in each accepted form. Uses Debian's python3-pil.
#
#   /usr/bin/python3 tests/fuzz/make-seeds.py
import io
import json
import os
import shutil
import struct

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")


def gradient(w, h, mode="RGB"):
    img = Image.new("RGB", (w, h))
    img.putdata([((x * 255) // max(1, w - 1), (y * 255) // max(1, h - 1), (x * y) % 256)
                 for y in range(h) for x in range(w)])
    return img.convert(mode)


def exif(orientation):
    # A little-endian TIFF header with one IFD entry: Orientation (0x0112), SHORT, 1 value.
    return (b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1) +
            struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack("<I", 0))


def encode(img, fmt, **kw):
    b = io.BytesIO()
    img.save(b, fmt, **kw)
    return b.getvalue()


def images():
    g = gradient(16, 12)
    jpeg = {
        "baseline-420.jpg": encode(g, "JPEG", quality=75, subsampling=2),
        "baseline-444.jpg": encode(gradient(9, 7), "JPEG", quality=90, subsampling=0),
        "progressive.jpg": encode(g, "JPEG", quality=60, progressive=True),
        "gray.jpg": encode(gradient(8, 8, "L"), "JPEG", quality=80),
        "cmyk.jpg": encode(gradient(8, 8, "CMYK"), "JPEG", quality=80),
        "exif-orientation-6.jpg": encode(gradient(12, 8), "JPEG", quality=70,
                                         exif=b"Exif\x00\x00" + exif(6)),
        "restart-interval.jpg": encode(g, "JPEG", quality=70, restart_marker_blocks=1),
    }
    pal = gradient(10, 6).convert("P", palette=Image.ADAPTIVE, colors=16)
    pal.info["transparency"] = 3
    png = {
        "rgb.png": encode(g, "PNG"),
        "rgba.png": encode(gradient(7, 5, "RGBA"), "PNG"),
        "palette-trns.png": encode(pal, "PNG"),
        "gray16.png": encode(gradient(6, 6, "L").convert("I;16"), "PNG"),
        "gray-alpha.png": encode(gradient(5, 9, "LA"), "PNG"),
        "optimized.png": encode(g, "PNG", optimize=True),
        "1bit.png": encode(gradient(9, 3, "1"), "PNG"),
        "exif-orientation-8.png": encode(gradient(6, 4), "PNG", exif=exif(8)),
    }
    webp = {
        "lossy.webp": encode(g, "WEBP", quality=60),
        "lossless.webp": encode(g, "WEBP", lossless=True),
        "alpha.webp": encode(gradient(8, 8, "RGBA"), "WEBP", quality=70),
        "alpha-lossless.webp": encode(gradient(6, 5, "RGBA"), "WEBP", lossless=True),
        "exif-orientation-3.webp": encode(gradient(8, 6), "WEBP", quality=60, exif=exif(3)),
    }
    return {"jpeg": jpeg, "png": png, "webp": webp}


def request(method, target, body=b"", headers=None, chunked=False):
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        out, rest = b"", body
        while rest:
            part, rest = rest[:50], rest[50:]
            out += b"%x\r\n" % len(part) + part + b"\r\n"
        body = out + b"0\r\n\r\n"
    elif body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def http_seeds(imgs):
    png = imgs["png"]["rgb.png"]
    jpg = imgs["jpeg"]["baseline-420.jpg"]
    webp = imgs["webp"]["lossy.webp"]
    fp32 = {"id": "seed", "inputs": [{"name": "image", "shape": [1, 8, 8, 3], "datatype": "FP32",
                                      "data": [0.5] * 192}]}
    u8 = {"inputs": [{"name": "image", "shape": [1, 2, 3, 3], "datatype": "UINT8",
                      "data": [[[[0, 0, 255]] * 3] * 2]}],
          "outputs": [{"name": "probs", "parameters": {"classification": 2}}]}
    binhead = {"inputs": [{"name": "image", "shape": [2], "datatype": "BYTES",
                           "parameters": {"binary_data_size": 8 + len(png) + len(jpg)}}],
               "outputs": [{"name": "probs", "parameters": {"binary_data": True}}]}
    binbody = struct.pack("<I", len(png)) + png + struct.pack("<I", len(jpg)) + jpg
    h = json.dumps(binhead).encode()
    boundary = "seedboundary"
    multipart = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                 f"filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n").encode() + png + \
        f"\r\n--{boundary}--\r\n".encode()
    return {
        "health-live.http": request("GET", "/v2/health/live"),
        "health-ready.http": request("GET", "/v2/health/ready"),
        "server-meta.http": request("GET", "/v2"),
        "model-meta.http": request("GET", "/v2/models/tiny"),
        "model-version-ready.http": request("GET", "/v2/models/tiny/versions/1/ready"),
        "models.http": request("GET", "/api/models"),
        "openapi.http": request("GET", "/openapi.json"),
        "metrics.http": request("GET", "/metrics"),
        "download-range.http": request("GET", "/v1/models/tiny/versions/1/model.morsel",
                                       headers={"Range": "bytes=0-99"}),
        "infer-fp32.http": request("POST", "/v2/models/tiny/infer", json.dumps(fp32).encode(),
                                   {"Content-Type": "application/json"}),
        "infer-uint8-classification.http": request("POST", "/v2/models/tiny/versions/1/infer",
                                                   json.dumps(u8).encode(),
                                                   {"Content-Type": "application/json"}),
        "infer-binary.http": request("POST", "/v2/models/tiny/infer", h + binbody,
                                     {"Content-Type": "application/octet-stream",
                                      "Inference-Header-Content-Length": str(len(h))}),
        "classify-png.http": request("POST", "/v1/models/tiny:classify?top_k=2", png,
                                     {"Content-Type": "image/png", "X-Request-ID": "seed-1"}),
        "classify-jpeg-chunked.http": request("POST", "/api/classify", jpg,
                                              {"Content-Type": "image/jpeg"}, chunked=True),
        "classify-webp.http": request("POST", "/v1/models/tiny/versions/1:classify", webp,
                                      {"Content-Type": "image/webp"}),
        "classify-multipart.http": request("POST", "/v1/models/tiny:classify?top_k=3", multipart,
                                           {"Content-Type": f"multipart/form-data; boundary={boundary}"}),
        "expect-continue.http": request("POST", "/api/classify", png,
                                        {"Content-Type": "image/png", "Expect": "100-continue"}),
        "unknown-model.http": request("GET", "/v2/models/nope/versions/7"),
        "options-cors.http": request("OPTIONS", "/v2/models/tiny/infer",
                                     headers={"Origin": "http://example.test",
                                              "Access-Control-Request-Method": "POST"}),
        "deep-json.http": request("POST", "/v2/models/tiny/infer", b"[" * 40 + b"]" * 40,
                                  {"Content-Type": "application/json"}),
        "percent-encoded.http": request("GET", "/v2/models/t%69ny/ready?x=%20y"),
    }


def main():
    imgs = images()
    sets = dict(imgs)
    sets["http"] = http_seeds(imgs)
    for name, files in sets.items():
        d = os.path.join(OUT, name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for fname, data in files.items():
            with open(os.path.join(d, fname), "wb") as f:
                f.write(data)
        print(f"{d}: {len(files)} files, {sum(len(v) for v in files.values())} bytes")


if __name__ == "__main__":
    main()
