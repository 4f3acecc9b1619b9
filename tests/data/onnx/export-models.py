#!/usr/bin/python3
# Writes the ONNX models morsel's importer tests run against onnxruntime-node (Debian's
# python3-torch, python3-torchvision and python3-onnx; run with /usr/bin/python3):
#
#   /usr/bin/python3 tests/data/onnx/export-models.py OUT_DIR
#
#   mobilenet_v2.onnx, resnet50.onnx  torchvision models, random init (seeded, no download),
#                                     batch norm statistics calibrated on seeded noise so the
#                                     activations stay in a realistic range; opset 13, dynamic
#                                     batch, input [N,3,224,224], output logits [N,1000]
#   layout_*.onnx                     small graphs mixing layout-sensitive ops (concat on
#                                     channels, pad, ceil-mode pooling, softmax on axis 1,
#                                     transposes, reshapes and flattens of spatial tensors ...)
#
# Files already present with the same version stamp are kept (the tests cache OUT_DIR in the
# build directory), so the export runs once per build tree.
import os
import sys

VERSION = "4"  # bump when the models below change


def stamp_ok(path):
    return os.path.exists(path) and os.path.exists(path + ".stamp") and \
        open(path + ".stamp").read() == VERSION


def write_stamp(path):
    with open(path + ".stamp", "w") as f:
        f.write(VERSION)


def export_torchvision(out_dir):
    import torch
    import torchvision

    for name, ctor in (("mobilenet_v2", torchvision.models.mobilenet_v2),
                       ("resnet50", torchvision.models.resnet50)):
        path = os.path.join(out_dir, name + ".onnx")
        if stamp_ok(path):
            continue
        torch.manual_seed(0)
        model = ctor(weights=None)
        # Calibrate batch-norm running statistics on seeded noise (cumulative average), so
        # the random network's activations neither vanish nor explode.
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = None
                m.reset_running_stats()
        model.train()
        g = torch.Generator().manual_seed(1)
        with torch.no_grad():
            for _ in range(4):
                model(torch.randn(4, 3, 224, 224, generator=g))
        model.eval()
        x = torch.randn(1, 3, 224, 224, generator=g)
        torch.onnx.export(model, x, path, opset_version=13, input_names=["input"],
                          output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                          do_constant_folding=True)
        write_stamp(path)
        print("wrote", path)


def export_layout(out_dir):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(7)

    def init(name, *shape):
        return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32) * 0.5, name)

    def ints(name, values):
        return numpy_helper.from_array(np.array(values, dtype=np.int64), name)

    def save(name, nodes, inits, in_shape, out_names, opset=13):
        path = os.path.join(out_dir, name + ".onnx")
        if stamp_ok(path):
            return
        g = helper.make_graph(
            nodes, name,
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
            [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in out_names],
            inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
        m.ir_version = 7
        # onnxruntime validates the model when the tests load it
        onnx.save(m, path)
        write_stamp(path)
        print("wrote", path)

    N = helper.make_node
    # Branches on channels, padding, pooling, activations and a classifier-style head.
    save("layout_branches", [
        N("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], strides=[2, 2]),
        N("Relu", ["c1"], ["r1"]),
        N("Conv", ["x", "w2"], ["c2"], kernel_shape=[1, 1], strides=[2, 2]),
        N("Sigmoid", ["c2"], ["s2"]),
        N("Concat", ["r1", "s2"], ["cat"], axis=1),
        N("Mul", ["cat", "chscale"], ["scaled"]),            # [C,1,1] broadcast on channels
        N("Add", ["scaled", "cat"], ["sum"]),               # two NHWC tensors
        N("Pad", ["sum", "pads", "padval"], ["padded"], mode="constant"),
        N("MaxPool", ["padded"], ["mp"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
        N("AveragePool", ["mp"], ["ap"], kernel_shape=[2, 2], pads=[1, 0, 0, 1]),
        N("Conv", ["ap", "wdw"], ["dw"], group=12, pads=[1, 1, 1, 1]),   # depthwise, M=2
        N("Clip", ["dw", "lo", "hi"], ["clip"]),
        N("Softmax", ["clip"], ["sm"], axis=1),             # over channels
        N("Flatten", ["sm"], ["flat"], axis=1),             # spatial flatten: NCHW order
        N("Gemm", ["flat", "wfc", "bfc"], ["fc"], transB=1, alpha=0.5, beta=2.0),
        N("ReduceMean", ["clip"], ["rm"], axes=[2, 3], keepdims=0),
        N("Concat", ["fc", "rm"], ["out"], axis=1),
    ], [
        init("w1", 6, 3, 3, 3), init("b1", 6), init("w2", 4, 3, 1, 1),
        init("chscale", 10, 1, 1), ints("pads", [0, 1, 1, 0, 0, 1, 0, 2]),
        numpy_helper.from_array(np.array(0.25, dtype=np.float32), "padval"),
        init("wdw", 24, 1, 3, 3),
        numpy_helper.from_array(np.array(-0.5, dtype=np.float32), "lo"),
        numpy_helper.from_array(np.array(0.8, dtype=np.float32), "hi"),
        init("wfc", 7, 24 * 5 * 5), init("bfc", 7),
    ], ["N", 3, 17, 15], ["out"])
    # Transposes, reshapes, squeeze/unsqueeze and MatMul after spatial tensors.
    save("layout_reshapes", [
        N("Conv", ["x", "w"], ["c"], pads=[0, 0, 0, 0]),
        N("Transpose", ["c"], ["t"], perm=[0, 2, 3, 1]),     # to NHWC explicitly
        N("Reshape", ["t", "shape"], ["r"]),                # [N, H*W, C]
        N("MatMul", ["r", "wm"], ["mm"]),
        N("Tanh", ["mm"], ["th"]),
        N("Unsqueeze", ["th", "uaxes"], ["u"]),              # [N, 1, H*W, 5]
        N("Transpose", ["u"], ["u2"], perm=[0, 3, 1, 2]),    # [N, 5, 1, H*W]
        N("LeakyRelu", ["u2"], ["lr"], alpha=0.2),
        N("GlobalAveragePool", ["lr"], ["gap"]),             # [N, 5, 1, 1]
        N("Squeeze", ["gap", "saxes"], ["sq"]),               # [N, 5]
        N("Conv", ["c", "w3"], ["c3"], strides=[2, 2], auto_pad="SAME_LOWER"),
        N("HardSigmoid", ["c3"], ["hs"], alpha=0.3, beta=0.4),
        N("GlobalMaxPool", ["hs"], ["gmp"]),
        N("Flatten", ["gmp"], ["gflat"]),
        N("Concat", ["sq", "gflat"], ["out"], axis=-1),
        N("HardSwish", ["c3"], ["hsw"]),
        N("Reshape", ["hsw", "shape2"], ["out2"]),
    ], [
        init("w", 6, 3, 3, 3), ints("shape", [0, -1, 6]), init("wm", 6, 5),
        ints("uaxes", [1]), ints("saxes", [2, 3]), init("w3", 4, 6, 3, 3),
        ints("shape2", [0, 4, -1]),
    ], ["N", 3, 11, 9], ["out", "out2"], opset=14)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: /usr/bin/python3 tests/data/onnx/export-models.py OUT_DIR")
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    export_layout(out_dir)
    export_torchvision(out_dir)


if __name__ == "__main__":
    main()
