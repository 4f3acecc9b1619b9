// Dataset listing and loading: image folders, the Food-101 layout and IDX files (dataset.h).
#include "train/dataset.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <unordered_set>

#include "core/random.h"
#include "format/model.h"
#include "image/decode/decode.h"

namespace morsel::train {

namespace fs = std::filesystem;

const char* dataset_format_name(DatasetFormat f) {
  switch (f) {
    case DatasetFormat::AUTO: return "auto";
    case DatasetFormat::FOLDER: return "folder";
    case DatasetFormat::FOOD101: return "food101";
    case DatasetFormat::IDX: return "idx";
  }
  return "?";
}

bool dataset_format_from_name(const std::string& s, DatasetFormat* out) {
  for (DatasetFormat f : {DatasetFormat::AUTO, DatasetFormat::FOLDER, DatasetFormat::FOOD101,
                          DatasetFormat::IDX}) {
    if (s == dataset_format_name(f)) {
      *out = f;
      return true;
    }
  }
  return false;
}

Result<std::vector<uint8_t>> read_file_bytes(const std::string& path, size_t limit) {
  std::vector<uint8_t> out;
  const bool gz = path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  if (gz) {
    gzFile f = gzopen(path.c_str(), "rb");
    if (!f) return MORSEL_ERROR(IO_ERROR, "cannot open %s", path.c_str());
    uint8_t buf[1 << 16];
    int n;
    while ((n = gzread(f, buf, sizeof buf)) > 0) {
      out.insert(out.end(), buf, buf + n);
      if (out.size() > limit) {
        gzclose(f);
        return MORSEL_ERROR(LIMIT_EXCEEDED, "%s is larger than %zu bytes uncompressed",
                            path.c_str(), limit);
      }
    }
    int err = 0;
    const char* msg = gzerror(f, &err);
    const bool bad = n < 0 || (err != Z_OK && err != Z_STREAM_END);
    std::string m = msg ? msg : "";
    gzclose(f);
    if (bad) return MORSEL_ERROR(IO_ERROR, "cannot decompress %s: %s", path.c_str(), m.c_str());
    return out;
  }
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return MORSEL_ERROR(IO_ERROR, "cannot open %s", path.c_str());
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    out.insert(out.end(), buf, buf + n);
    if (out.size() > limit) {
      std::fclose(f);
      return MORSEL_ERROR(LIMIT_EXCEEDED, "%s is larger than %zu bytes", path.c_str(), limit);
    }
  }
  const bool err = std::ferror(f) != 0;
  std::fclose(f);
  if (err) return MORSEL_ERROR(IO_ERROR, "cannot read %s", path.c_str());
  return out;
}

namespace {

bool is_image_name(const std::string& name) {
  std::string ext = fs::path(name).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".webp";
}

Result<std::vector<std::string>> read_lines(const std::string& path) {
  MORSEL_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, read_file_bytes(path, size_t{256} << 20));
  std::vector<std::string> lines;
  std::string cur;
  for (uint8_t c : bytes) {
    if (c == '\n') {
      if (!cur.empty() && cur.back() == '\r') cur.pop_back();
      if (!cur.empty()) lines.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(static_cast<char>(c));
    }
  }
  if (!cur.empty() && cur.back() == '\r') cur.pop_back();
  if (!cur.empty()) lines.push_back(cur);
  return lines;
}

std::string find_idx_file(const std::string& dir, const std::string& prefix, const char* kind) {
  for (const char* sep : {"-", "."}) {
    for (const char* suffix : {"", ".gz"}) {
      std::string p = dir + "/" + prefix + sep + kind + suffix;
      if (fs::exists(p)) return p;
    }
  }
  return "";
}

uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

Status load_folder(const std::string& root, Dataset* d) {
  std::error_code ec;
  std::vector<std::string> classes;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    std::error_code ec2;
    if (e.is_directory(ec2)) classes.push_back(e.path().filename().string());
  }
  if (ec) return MORSEL_ERROR(IO_ERROR, "cannot list %s: %s", root.c_str(), ec.message().c_str());
  std::sort(classes.begin(), classes.end());
  for (const std::string& c : classes) {
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(root + "/" + c, ec)) {
      std::error_code ec2;
      if (e.is_regular_file(ec2) && is_image_name(e.path().filename().string()))
        files.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) continue;  // not a class: no images
    const int label = static_cast<int>(d->classes.size());
    d->classes.push_back(c);
    for (auto& f : files) d->samples.push_back({f, -1, label});
  }
  if (d->classes.empty())
    return MORSEL_ERROR(INVALID_ARGUMENT,
                        "%s has no class folders with images (expected %s/<class>/*.jpg|png|webp)",
                        root.c_str(), root.c_str());
  return Status();
}

Status load_food101(const std::string& root, const std::string& split, Dataset* d) {
  if (split != "train" && split != "test")
    return MORSEL_ERROR(INVALID_ARGUMENT, "Food-101 split must be train or test, not '%s'",
                        split.c_str());
  MORSEL_ASSIGN_OR_RETURN(std::vector<std::string> classes, read_lines(root + "/meta/classes.txt"));
  std::map<std::string, int> index;
  for (auto& c : classes) {
    const int i = static_cast<int>(d->classes.size());
    if (!index.emplace(c, i).second)
      return MORSEL_ERROR(INVALID_ARGUMENT, "%s/meta/classes.txt lists '%s' twice", root.c_str(),
                          c.c_str());
    d->classes.push_back(c);
  }
  MORSEL_ASSIGN_OR_RETURN(std::vector<std::string> lines,
                          read_lines(root + "/meta/" + split + ".txt"));
  for (size_t n = 0; n < lines.size(); n++) {
    const std::string& l = lines[n];
    const size_t slash = l.find('/');
    auto it = slash == std::string::npos ? index.end() : index.find(l.substr(0, slash));
    if (it == index.end())
      return MORSEL_ERROR(INVALID_ARGUMENT, "%s/meta/%s.txt line %zu: '%s' is not <class>/<id> "
                          "with a class from classes.txt", root.c_str(), split.c_str(), n + 1,
                          l.c_str());
    d->samples.push_back({root + "/images/" + l + ".jpg", -1, it->second});
  }
  if (d->samples.empty())
    return MORSEL_ERROR(INVALID_ARGUMENT, "%s/meta/%s.txt lists no images", root.c_str(),
                        split.c_str());
  return Status();
}

Status load_idx(const std::string& root, const std::string& split, Dataset* d) {
  const std::string prefix = split == "test" ? "t10k" : split;
  if (split != "train" && split != "test")
    return MORSEL_ERROR(INVALID_ARGUMENT, "IDX split must be train or test, not '%s'", split.c_str());
  const std::string img_path = find_idx_file(root, prefix, "images-idx3-ubyte");
  const std::string lab_path = find_idx_file(root, prefix, "labels-idx1-ubyte");
  if (img_path.empty() || lab_path.empty())
    return MORSEL_ERROR(INVALID_ARGUMENT, "%s has no %s-images-idx3-ubyte[.gz] and "
                        "%s-labels-idx1-ubyte[.gz]", root.c_str(), prefix.c_str(), prefix.c_str());
  MORSEL_ASSIGN_OR_RETURN(std::vector<uint8_t> img, read_file_bytes(img_path));
  MORSEL_ASSIGN_OR_RETURN(std::vector<uint8_t> lab, read_file_bytes(lab_path));
  if (img.size() < 16 || be32(img.data()) != 0x00000803)
    return MORSEL_ERROR(INVALID_ARGUMENT, "%s is not an IDX3 unsigned-byte file", img_path.c_str());
  if (lab.size() < 8 || be32(lab.data()) != 0x00000801)
    return MORSEL_ERROR(INVALID_ARGUMENT, "%s is not an IDX1 unsigned-byte file", lab_path.c_str());
  auto px = std::make_shared<IdxImages>();
  px->count = be32(img.data() + 4);
  px->rows = be32(img.data() + 8);
  px->cols = be32(img.data() + 12);
  const int64_t labels = be32(lab.data() + 4);
  if (px->rows < 1 || px->cols < 1 || px->rows > 4096 || px->cols > 4096 || px->count < 1)
    return MORSEL_ERROR(INVALID_ARGUMENT, "%s: bad dimensions %lld x %lld x %lld", img_path.c_str(),
                        (long long)px->count, (long long)px->rows, (long long)px->cols);
  if (static_cast<int64_t>(img.size() - 16) != px->count * px->rows * px->cols)
    return MORSEL_ERROR(INVALID_ARGUMENT, "%s: %zu pixel bytes for %lld images of %lldx%lld",
                        img_path.c_str(), img.size() - 16, (long long)px->count,
                        (long long)px->rows, (long long)px->cols);
  if (labels != px->count || static_cast<int64_t>(lab.size() - 8) != labels)
    return MORSEL_ERROR(INVALID_ARGUMENT, "%s: %lld labels for %lld images", lab_path.c_str(),
                        (long long)labels, (long long)px->count);
  px->pixels.assign(img.begin() + 16, img.end());
  int max_label = 0;
  for (int64_t i = 0; i < labels; i++) max_label = std::max<int>(max_label, lab[8 + i]);
  for (int c = 0; c <= max_label; c++) d->classes.push_back(std::to_string(c));
  for (int64_t i = 0; i < labels; i++)
    d->samples.push_back({img_path + "#" + std::to_string(i), i, lab[8 + i]});
  d->idx = std::move(px);
  return Status();
}

}  // namespace

Result<Dataset> load_dataset(const std::string& root, const DatasetOptions& o) {
  Dataset d;
  d.root = root;
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    return MORSEL_ERROR(IO_ERROR, "dataset %s is not a directory", root.c_str());
  DatasetFormat f = o.format;
  if (f == DatasetFormat::AUTO) {
    if (fs::exists(root + "/meta/classes.txt") && fs::is_directory(root + "/images"))
      f = DatasetFormat::FOOD101;
    else if (!find_idx_file(root, "train", "images-idx3-ubyte").empty() ||
             !find_idx_file(root, "t10k", "images-idx3-ubyte").empty())
      f = DatasetFormat::IDX;
    else
      f = DatasetFormat::FOLDER;
  }
  d.format = f;
  if (f == DatasetFormat::FOOD101) MORSEL_RETURN_IF_ERROR(load_food101(root, o.split, &d));
  else if (f == DatasetFormat::IDX) MORSEL_RETURN_IF_ERROR(load_idx(root, o.split, &d));
  else MORSEL_RETURN_IF_ERROR(load_folder(root, &d));

  if (!o.labels_file.empty()) {
    MORSEL_ASSIGN_OR_RETURN(std::vector<std::string> names, read_lines(o.labels_file));
    if (names.size() != d.classes.size())
      return MORSEL_ERROR(INVALID_ARGUMENT, "%s has %zu names for %zu classes in %s",
                          o.labels_file.c_str(), names.size(), d.classes.size(), root.c_str());
    if (f == DatasetFormat::IDX) {
      d.classes = names;
    } else if (names != d.classes) {
      return MORSEL_ERROR(INVALID_ARGUMENT, "%s does not name the classes of %s in order",
                          o.labels_file.c_str(), root.c_str());
    }
  }

  if (o.dedup) {
    std::unordered_set<uint64_t> seen;
    std::vector<Sample> kept;
    for (size_t i = 0; i < d.samples.size(); i++) {
      auto bytes = d.read_bytes(i);
      if (!bytes.ok()) {  // unreadable: kept, reported when it is loaded
        kept.push_back(d.samples[i]);
        continue;
      }
      if (seen.insert(xxh64(bytes->data(), bytes->size())).second) kept.push_back(d.samples[i]);
    }
    d.samples = std::move(kept);
  }
  if (o.max_per_class > 0) {
    std::vector<int64_t> taken(d.classes.size(), 0);
    std::vector<Sample> kept;
    for (auto& s : d.samples)
      if (taken[static_cast<size_t>(s.label)]++ < o.max_per_class) kept.push_back(s);
    d.samples = std::move(kept);
  }
  if (o.min_per_class > 1) {
    const std::vector<int64_t> counts = d.class_counts();
    std::vector<int> remap(d.classes.size(), -1);
    std::vector<std::string> classes;
    for (size_t c = 0; c < d.classes.size(); c++) {
      if (counts[c] >= o.min_per_class) {
        remap[c] = static_cast<int>(classes.size());
        classes.push_back(d.classes[c]);
      }
    }
    std::vector<Sample> kept;
    for (auto& s : d.samples) {
      if (remap[static_cast<size_t>(s.label)] < 0) continue;
      kept.push_back(s);
      kept.back().label = remap[static_cast<size_t>(s.label)];
    }
    d.samples = std::move(kept);
    d.classes = std::move(classes);
  }
  if (d.classes.size() < 2)
    return MORSEL_ERROR(INVALID_ARGUMENT, "%s has %zu class(es) left; training needs at least 2",
                        root.c_str(), d.classes.size());
  return d;
}

Result<std::vector<uint8_t>> Dataset::read_bytes(size_t i) const {
  const Sample& s = samples[i];
  if (s.idx_index >= 0) {
    const size_t n = static_cast<size_t>(idx->rows * idx->cols);
    const uint8_t* p = idx->pixels.data() + static_cast<size_t>(s.idx_index) * n;
    return std::vector<uint8_t>(p, p + n);
  }
  return read_file_bytes(s.path, size_t{64} << 20);
}

Result<Image> Dataset::load(size_t i) const {
  const Sample& s = samples[i];
  if (s.idx_index >= 0) {
    Image img;
    img.width = static_cast<int>(idx->cols);
    img.height = static_cast<int>(idx->rows);
    const size_t n = static_cast<size_t>(idx->rows * idx->cols);
    const uint8_t* p = idx->pixels.data() + static_cast<size_t>(s.idx_index) * n;
    img.rgb.resize(n * 3);
    for (size_t k = 0; k < n; k++) img.rgb[3 * k] = img.rgb[3 * k + 1] = img.rgb[3 * k + 2] = p[k];
    return img;
  }
  auto r = image_decode_file(s.path);
  if (!r.ok()) return Status(r.status().code(), s.path + ": " + r.status().message());
  return std::move(r).value();
}

std::vector<int> Dataset::labels() const {
  std::vector<int> out;
  out.reserve(samples.size());
  for (auto& s : samples) out.push_back(s.label);
  return out;
}

std::vector<int64_t> Dataset::class_counts() const {
  std::vector<int64_t> c(classes.size(), 0);
  for (auto& s : samples) c[static_cast<size_t>(s.label)]++;
  return c;
}

Dataset dataset_subset(const Dataset& d, const std::vector<size_t>& indices) {
  Dataset out;
  out.root = d.root;
  out.format = d.format;
  out.classes = d.classes;
  out.idx = d.idx;
  out.samples.reserve(indices.size());
  for (size_t i : indices) out.samples.push_back(d.samples[i]);
  return out;
}

namespace {

std::vector<std::vector<size_t>> by_class_shuffled(const std::vector<int>& labels, uint64_t seed) {
  int classes = 0;
  for (int l : labels) classes = std::max(classes, l + 1);
  std::vector<std::vector<size_t>> per(static_cast<size_t>(classes));
  for (size_t i = 0; i < labels.size(); i++) per[static_cast<size_t>(labels[i])].push_back(i);
  for (size_t c = 0; c < per.size(); c++) {
    Rng rng(seed_mix(seed, c));
    rng.shuffle(per[c].data(), per[c].size());
  }
  return per;
}

}  // namespace

void stratified_split(const std::vector<int>& labels, double fraction, uint64_t seed,
                      std::vector<size_t>* first, std::vector<size_t>* second) {
  first->clear();
  second->clear();
  for (auto& idx : by_class_shuffled(labels, seed)) {
    size_t take = static_cast<size_t>(std::llround(idx.size() * fraction));
    if (fraction > 0 && take == 0 && idx.size() >= 2) take = 1;
    if (take >= idx.size() && idx.size() >= 2) take = idx.size() - 1;
    for (size_t j = 0; j < idx.size(); j++) (j < take ? second : first)->push_back(idx[j]);
  }
  std::sort(first->begin(), first->end());
  std::sort(second->begin(), second->end());
}

std::vector<int> stratified_folds(const std::vector<int>& labels, int k, uint64_t seed) {
  std::vector<int> fold(labels.size(), 0);
  int offset = 0;  // rotate the starting fold per class so small classes spread evenly
  for (auto& idx : by_class_shuffled(labels, seed)) {
    for (size_t j = 0; j < idx.size(); j++)
      fold[idx[j]] = static_cast<int>((j + static_cast<size_t>(offset)) % static_cast<size_t>(k));
    offset = static_cast<int>((static_cast<size_t>(offset) + idx.size()) % static_cast<size_t>(k));
  }
  return fold;
}

}  // namespace morsel::train
