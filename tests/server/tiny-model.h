// An 8x8 RGB classifier for the server tests and the request fuzz target (no GoogleTest here):
// mean colour -> Dense -> Softmax over {"red", "green", "blue", "other"} (with `label_suffix`
// appended to each label). A pure red image is "red" with high confidence.
#pragma once

#include <string>

#include "format/model.h"

namespace morsel::test {

Model tiny_model(const std::string& label_suffix = "", const std::string& name = "tiny");

}  // namespace morsel::test
