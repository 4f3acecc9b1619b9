#!/usr/bin/python3
"""Exports torchvision classifiers to ONNX for the side-by-side benchmarks.

Run with Debian's /usr/bin/python3 (python3-torch, python3-torchvision). Weights are random
(seeded): nothing is downloaded, and timing does not depend on the weight values.

  /usr/bin/python3 bench/compare/export-onnx.py OUT_DIR [mobilenet_v2 resnet50 inception_v3]
"""
import os
import sys

import torch
import torchvision

SIZES = {"mobilenet_v2": 224, "resnet50": 224, "inception_v3": 299}


def build(name):
    torch.manual_seed(0)
    if name == "inception_v3":
        # No auxiliary head at inference; init_weights avoids scipy's truncated normal.
        return torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False)
    return getattr(torchvision.models, name)(weights=None)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    out_dir = sys.argv[1]
    names = sys.argv[2:] or list(SIZES)
    os.makedirs(out_dir, exist_ok=True)
    for name in names:
        path = os.path.join(out_dir, name + ".onnx")
        if os.path.exists(path):
            print(f"{path}: exists")
            continue
        model = build(name).eval()
        size = SIZES[name]
        x = torch.rand(1, 3, size, size)
        tmp = path + ".tmp"
        torch.onnx.export(model, x, tmp, opset_version=13, input_names=["input"],
                          output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                          do_constant_folding=True)
        os.replace(tmp, path)
        print(f"{path}: {name} {size}x{size}, {os.path.getsize(path) / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
