// Helpers shared by the test suites: fixture paths, seeded random tensors, .npy files.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace morsel::test {

// Absolute path of a file in the source tree (tests/data/..., models/...).
std::string source_path(const std::string& rel);
bool file_exists(const std::string& path);
std::vector<uint8_t> read_file_bytes(const std::string& path);

// Uniform random f32 tensor in [lo, hi), seeded.
Tensor random_tensor(Shape shape, uint32_t seed, float lo = -1.f, float hi = 1.f);

// Reads a little-endian .npy file (f4, i4, u1 dtypes, C order) into a tensor.
Result<Tensor> read_npy(const std::string& path);
Status write_npy(const std::string& path, const Tensor& t);

// Runs a shell command; returns its stdout, and its exit status in *rc (-1 if it cannot start).
std::string run_command(const std::string& cmd, int* rc);
// Paths of `count` real food photos from scripts/photos.js (deterministic order); empty if the
// script fails (run scripts/setup).
std::vector<std::string> photo_paths(int count);

// max |a-b| over all elements; +inf on shape mismatch.
double max_abs_diff(const Tensor& a, const Tensor& b);

}  // namespace morsel::test
