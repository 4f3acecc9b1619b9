#!/usr/bin/python3
# Regenerates the ONNX fuzz seed corpus (tests/fuzz/corpus/onnx, committed; each file small):
# ONNX backend node tests from Debian's libonnx-testdata with their weight-like inputs turned
# into initializers (as the conformance runner does, so seeds reach the converters), and the
# small layout graphs from tests/data/onnx/export-models.py.
#
#   /usr/bin/python3 tests/fuzz/make-onnx-seeds.py
import os
import shutil
import sys
import tempfile

import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "onnx")
NODE = "/usr/share/libonnx-testdata/data/node"
CASES = ["test_conv_with_strides_and_asymmetric_padding", "test_conv_with_autopad_same",
         "test_gemm_all_attributes", "test_matmul_2d", "test_batchnorm_example",
         "test_maxpool_2d_ceil", "test_averagepool_2d_same_lower", "test_constant_pad",
         "test_reshape_negative_extended_dims", "test_flatten_axis2", "test_softmax_axis_1",
         "test_unsqueeze_two_axes", "test_squeeze_negative_axes", "test_transpose_all_permutations_3",
         "test_clip_splitbounds", "test_concat_3d_axis_negative_2", "test_hardsigmoid_example",
         "test_add_bcast", "test_globalaveragepool"]
PARAMS = {"Conv": [1, 2], "Gemm": [1, 2], "MatMul": [1], "BatchNormalization": [1, 2, 3, 4],
          "Reshape": [1], "Pad": [1, 2], "Clip": [1, 2], "Squeeze": [1], "Unsqueeze": [1]}


def freeze(case):
    d = os.path.join(NODE, case)
    m = onnx.load(os.path.join(d, "model.onnx"))
    params = {n.input[i] for n in m.graph.node for i in PARAMS.get(n.op_type, [])
              if i < len(n.input) and n.input[i]}
    keep = []
    for i, inp in enumerate(m.graph.input):
        if inp.name in params:
            t = onnx.TensorProto()
            with open(os.path.join(d, "test_data_set_0", "input_%d.pb" % i), "rb") as f:
                t.ParseFromString(f.read())
            t.name = inp.name
            m.graph.initializer.append(t)
        else:
            keep.append(inp)
    del m.graph.input[:]
    m.graph.input.extend(keep)
    return m


def main():
    os.makedirs(OUT, exist_ok=True)
    for case in CASES:
        onnx.save(freeze(case), os.path.join(OUT, case[len("test_"):] + ".onnx"))
    sys.path.insert(0, os.path.join(HERE, "..", "data", "onnx"))
    import importlib
    em = importlib.import_module("export-models")
    tmp = tempfile.mkdtemp()
    em.export_layout(tmp)
    for name in ("layout_reshapes", "layout_branches"):
        shutil.copy(os.path.join(tmp, name + ".onnx"), os.path.join(OUT, name + ".onnx"))
    shutil.rmtree(tmp)
    print("wrote", len(os.listdir(OUT)), "seeds to", OUT)


if __name__ == "__main__":
    main()
