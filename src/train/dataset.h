// Labelled image datasets for training and evaluation (library morsel_train, native only):
//   - an image folder: root/<class>/*.jpg|jpeg|png|webp (classes sorted by name);
//   - the Food-101 layout: root/images/<class>/<id>.jpg with root/meta/classes.txt and
//     root/meta/{train,test}.txt (lines "<class>/<id>");
//   - IDX files (MNIST / Fashion-MNIST): <prefix>-images-idx3-ubyte[.gz] and
//     <prefix>-labels-idx1-ubyte[.gz] in one directory, prefix "train" or "t10k".
// A Dataset lists samples; pixels are decoded on demand by load(), so unreadable files are found
// (and skipped with a report) when features are computed, never fatal.
// Splits and folds are stratified and seeded (core/random.h), so a run is reproducible.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "image/preprocess.h"

namespace morsel::train {

enum class DatasetFormat { AUTO, FOLDER, FOOD101, IDX };
const char* dataset_format_name(DatasetFormat f);  // "auto", "folder", "food101", "idx"
bool dataset_format_from_name(const std::string& s, DatasetFormat* out);

struct DatasetOptions {
  DatasetFormat format = DatasetFormat::AUTO;
  // Food-101 and IDX: which split to read ("train" or "test"). Image folders have one split.
  std::string split = "train";
  // Class names, one per line, replacing IDX's numeric names ("0".."9") or checked against
  // the folder / Food-101 classes. Empty: none.
  std::string labels_file;
  // Drop samples whose file content repeats an earlier sample's (by XXH64 of the bytes); the
  // first in listing order is kept. Reads every file at load.
  bool dedup = false;
  // Drop classes with fewer samples than this (after dedup).
  int min_per_class = 1;
  // Keep at most this many samples per class (0 = all), the first ones in listing order.
  int max_per_class = 0;
};

// Pixels of an IDX dataset: count images of rows x cols, 8-bit grey.
struct IdxImages {
  int64_t count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels;
};

struct Sample {
  std::string path;       // file path (folders, Food-101); "<idx file>#<n>" for IDX
  int64_t idx_index = -1;  // image number in Dataset::idx, or -1
  int label = 0;           // index into Dataset::classes
};

struct Dataset {
  std::string root;
  DatasetFormat format = DatasetFormat::FOLDER;
  std::vector<std::string> classes;
  std::vector<Sample> samples;
  std::shared_ptr<const IdxImages> idx;  // IDX only

  // Decodes sample i into RGB (IDX grey is replicated to 3 channels). Errors name the file.
  Result<Image> load(size_t i) const;
  // The bytes that identify sample i's content (file bytes, or the IDX pixels), for hashing.
  Result<std::vector<uint8_t>> read_bytes(size_t i) const;
  std::vector<int> labels() const;
  std::vector<int64_t> class_counts() const;
};

// Reads the listing (and, for IDX, the pixels). Errors: missing/empty root, a Food-101 meta file
// naming an unknown class, a malformed IDX header, labels file with the wrong class count.
Result<Dataset> load_dataset(const std::string& root, const DatasetOptions& options);

// A subset of `d` (samples in the order of `indices`), sharing IDX pixels.
Dataset dataset_subset(const Dataset& d, const std::vector<size_t>& indices);

// Stratified split: per class, round(count * fraction) samples (at least 1 when the class has 2
// or more) go to the second list. Both lists are in ascending order.
void stratified_split(const std::vector<int>& labels, double fraction, uint64_t seed,
                      std::vector<size_t>* first, std::vector<size_t>* second);

// Stratified k-fold: fold number (0..k-1) of every sample; each class is dealt round-robin
// over the folds after a seeded shuffle, so fold sizes per class differ by at most one.
std::vector<int> stratified_folds(const std::vector<int>& labels, int k, uint64_t seed);

// Reads a whole file (gzip-compressed when the name ends in .gz). Limit in bytes.
Result<std::vector<uint8_t>> read_file_bytes(const std::string& path, size_t limit = size_t{1} << 30);

}  // namespace morsel::train
