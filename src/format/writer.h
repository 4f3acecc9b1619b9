// .morsel writer (morsel_convert): serializes a Model to the layout in docs/model-format.md.
// The writer checks the model first and re-reads what it wrote, so it never produces a file
// that model_load_* would reject.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "format/model.h"

namespace morsel {

// Serializes `model`. Empty provenance.converter / provenance.created are filled in with
// kConverterName and the current UTC time; everything else is written exactly as given, so
// setting `created` makes the output byte-for-byte reproducible.
// Errors: INVALID_ARGUMENT when the model is inconsistent (graph.validate() fails, a constant's
// tensor disagrees with its value's dtype/shape, labels contradict the output shape, a string
// is not UTF-8, ...).
Result<std::vector<uint8_t>> model_save_buffer(const Model& model);

// Writes the file atomically: a temporary file in the same directory, fsync, then rename over
// `path`, so a crash leaves either the old file or the complete new one. IO_ERROR on failure.
Status model_save_file(const Model& model, const std::string& path);

// The current time as ISO-8601 UTC, "2024-05-01T12:00:00Z".
std::string iso8601_utc_now();

}  // namespace morsel
