// Source format dispatch for the CLI (see import-source.h).
#include "importers/import-source.h"

#include "importers/keras-h5/keras-h5.h"
#include "importers/onnx/onnx.h"

namespace morsel {

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

Result<tfjs::ImportResult> import_source(const std::string& path, const SourceImportOptions& options) {
  if (ends_with(path, ".onnx")) {
    onnx_import::ImportOptions o;
    o.nhwc_inputs = options.onnx_nhwc_inputs;
    MORSEL_ASSIGN_OR_RETURN(onnx_import::ImportResult r, onnx_import::import_model(path, o));
    tfjs::ImportResult out;
    out.graph = std::move(r.graph);
    out.kind = r.kind;
    out.model_name = r.model_name;
    out.notes = std::move(r.notes);
    if (o.nhwc_inputs)
      for (int id : out.graph.inputs)
        if (out.graph.values[static_cast<size_t>(id)].shape.size() == 4) {
          out.notes.push_back("the ONNX input [N,C,H,W] is stored as NHWC [N,H,W,C]: morsel feeds "
                              "images NHWC, and the leading transpose is gone");
          break;
        }
    return out;
  }
  if (ends_with(path, ".h5") || ends_with(path, ".hdf5")) return keras_h5::import_model(path);
  if (ends_with(path, ".keras"))
    return MORSEL_ERROR(UNSUPPORTED, "%s: the Keras 3 .keras (zip) format is not supported; save "
                        "with model.save(\"model.h5\") (Keras 2 HDF5 format) instead", path.c_str());
  tfjs::ImportOptions o;
  o.keep_compact_weights = options.keep_compact_weights;
  return tfjs::import_model(path, o);
}

}  // namespace morsel
