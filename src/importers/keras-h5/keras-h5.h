// Keras .h5 importer: a model saved by Keras 2.x `model.save("x.h5")` (HDF5: the JSON
// `model_config` attribute plus `model_weights/<layer>/<weight>` datasets) -> Graph, through
// the same Keras layer converter as TF.js layers models (importers/tfjs/layers.cpp).
//
// libhdf5 is not hardened against hostile files: import .h5 files you trust. The importer
// checks what it reads (attribute types and sizes, dataset ranks, dims and types, weight
// names), and reads the file in a forked child process so that a crash or hang inside libhdf5
// on a damaged file becomes an INVALID_MODEL error instead of taking the caller down.
#pragma once

#include <string>

#include "importers/tfjs/tfjs.h"

namespace morsel::keras_h5 {

// kind = "keras-h5". Every unsupported layer is listed in one UNSUPPORTED error.
Result<tfjs::ImportResult> import_model(const std::string& path);

}  // namespace morsel::keras_h5
