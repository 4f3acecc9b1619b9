// Tensor shapes: a list of dimensions, row-major, NHWC for images. -1 marks a dimension that is
// only known at prepare time (the batch).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace morsel {

using Shape = std::vector<int64_t>;

// Product of dims; -1 if any dim is negative; 0 if any dim is 0. Saturates at INT64_MAX.
int64_t shape_numel(const Shape& s);
// "[1,224,224,3]"
std::string shape_str(const Shape& s);
bool shape_is_static(const Shape& s);

}  // namespace morsel
