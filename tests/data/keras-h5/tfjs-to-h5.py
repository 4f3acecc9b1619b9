#!/usr/bin/python3
# Writes a TF.js layers model (model.json + shards) as a Keras 2.x .h5 file, in the exact
# on-disk layout Keras 2 `model.save()` produces (Debian's python3-h5py; run with
# /usr/bin/python3):
#
#   /usr/bin/python3 tests/data/keras-h5/tfjs-to-h5.py MODEL_DIR OUT.h5
#
#   /                      attrs keras_version, backend, model_config (JSON bytes),
#                          training_config (if the model has one)
#   /model_weights         attrs layer_names (bytes array; split into layer_names0, 1, ...
#                          above HDF5's 64512-byte object header limit), backend, keras_version
#   /model_weights/<layer> attrs weight_names (b"<layer>/kernel:0", ...; an empty float array
#                          for layers without weights), datasets at <layer>/<weight name>
#
# Weights are decoded as TF.js does (float32 as is; uint8/uint16 affine-quantized as
# q * scale + min computed in float64, stored as float32; float16 widened). Keras orders a
# layer's weights kernel/bias, gamma/beta/moving_mean/moving_variance, ...: that order is used
# here (TF.js manifests may list them otherwise). The tests generate the file at test time from
# models/nsfwjs/mobilenet_v2 and from the committed TF.js fixtures.
import json
import os
import sys

import h5py
import numpy as np

HDF5_OBJECT_HEADER_LIMIT = 64512
KERAS_ORDER = ["kernel", "depthwise_kernel", "pointwise_kernel", "bias", "gamma", "beta",
               "moving_mean", "moving_variance"]


def read_tfjs(model_dir):
    with open(os.path.join(model_dir, "model.json")) as f:
        mj = json.load(f)
    specs, shards = [], []
    for group in mj.get("weightsManifest", []):
        specs += group["weights"]
        for p in group["paths"]:
            with open(os.path.join(model_dir, p), "rb") as f:
                shards.append(f.read())
    data = b"".join(shards)
    weights, off = {}, 0
    for s in specs:
        shape = s["shape"]
        n = int(np.prod(shape)) if shape else 1
        q = s.get("quantization")
        if q:
            qdt = {"uint8": np.uint8, "uint16": np.uint16, "float16": np.float16}[q["dtype"]]
            raw = np.frombuffer(data, qdt, n, off)
            off += n * np.dtype(qdt).itemsize
            if q["dtype"] == "float16":
                arr = raw.astype(np.float32)
            else:
                arr = (raw.astype(np.float64) * q["scale"] + q["min"]).astype(np.float32)
        else:
            dt = {"float32": np.float32, "int32": np.int32}[s["dtype"]]
            arr = np.frombuffer(data, dt, n, off).copy()
            off += n * 4
        weights[s["name"]] = arr.reshape(shape)
    return mj, weights


def save_attributes_to_hdf5_group(group, name, data):
    # As Keras 2 does: chunk the list when one attribute would exceed the header limit.
    data_npy = np.asarray(data)
    num_chunks = 1
    chunked = np.array_split(data_npy, num_chunks)
    while any(x.nbytes > HDF5_OBJECT_HEADER_LIMIT for x in chunked):
        num_chunks += 1
        chunked = np.array_split(data_npy, num_chunks)
    if num_chunks > 1:
        for i, chunk in enumerate(chunked):
            group.attrs["%s%d" % (name, i)] = chunk
    else:
        group.attrs[name] = data


def layer_list(config):
    cfg = config["config"]
    return cfg if isinstance(cfg, list) else cfg["layers"]


def weights_of(layer_name, weights):
    prefix = layer_name + "/"
    mine = [k for k in weights if k.startswith(prefix)]
    rank = {k: (KERAS_ORDER.index(k[len(prefix):]) if k[len(prefix):] in KERAS_ORDER else 99, k)
            for k in mine}
    return sorted(mine, key=lambda k: rank[k])


def nested_names(layer):
    if layer["class_name"] in ("Model", "Functional", "Sequential"):
        return [n for sub in layer_list(layer) for n in nested_names(sub)]
    return [layer["config"]["name"] if "name" not in layer else layer["name"]]


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: /usr/bin/python3 tests/data/keras-h5/tfjs-to-h5.py MODEL_DIR OUT.h5")
    model_dir, out = sys.argv[1], sys.argv[2]
    mj, weights = read_tfjs(model_dir)
    topo = mj["modelTopology"]
    config = topo.get("model_config", topo)
    keras_version = topo.get("keras_version", "2.2.4")
    backend = topo.get("backend", "tensorflow")
    tmp = out + ".tmp"
    with h5py.File(tmp, "w") as f:
        f.attrs["keras_version"] = str(keras_version).encode("utf8")
        f.attrs["backend"] = backend.encode("utf8")
        f.attrs["model_config"] = json.dumps(config).encode("utf8")
        if topo.get("training_config"):
            f.attrs["training_config"] = json.dumps(topo["training_config"]).encode("utf8")
        mw = f.create_group("model_weights")
        names = [l["config"]["name"] if "name" not in l else l["name"] for l in layer_list(config)]
        save_attributes_to_hdf5_group(mw, "layer_names", [n.encode("utf8") for n in names])
        mw.attrs["backend"] = backend.encode("utf8")
        mw.attrs["keras_version"] = str(keras_version).encode("utf8")
        used = set()
        for layer, name in zip(layer_list(config), names):
            g = mw.create_group(name)
            # A nested model's group holds the weights of all its layers (as Keras 2 does).
            ws = [w for n in nested_names(layer) for w in weights_of(n, weights)]
            used.update(ws)
            save_attributes_to_hdf5_group(g, "weight_names", [(w + ":0").encode("utf8") for w in ws])
            for w in ws:
                val = weights[w]
                d = g.create_dataset(w + ":0", val.shape, dtype=val.dtype)
                if not val.shape:
                    d[()] = val
                else:
                    d[:] = val
        left = sorted(set(weights) - used)
        if left:
            sys.exit("weights that belong to no top-level layer: %s" % ", ".join(left[:5]))
    os.replace(tmp, out)
    print("wrote", out)


if __name__ == "__main__":
    main()
