// Shared test helpers.
#include "util/test_util.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

namespace morsel::test {

std::string source_path(const std::string& rel) {
  const char* env = std::getenv("MORSEL_SOURCE_DIR");
#ifdef MORSEL_SOURCE_DIR
  std::string root = env ? env : MORSEL_SOURCE_DIR;
#else
  std::string root = env ? env : ".";
#endif
  return root + "/" + rel;
}

bool file_exists(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return f.good();
}

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

Tensor random_tensor(Shape shape, uint32_t seed, float lo, float hi) {
  Tensor t(DType::F32, std::move(shape));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  float* p = t.mut<float>();
  for (int64_t i = 0; i < t.numel(); i++) p[i] = dist(rng);
  return t;
}

Result<Tensor> read_npy(const std::string& path) {
  std::vector<uint8_t> b = read_file_bytes(path);
  if (b.size() < 10 || std::string(b.begin() + 1, b.begin() + 6) != "NUMPY")
    return MORSEL_ERROR(IO_ERROR, "%s: not a .npy file", path.c_str());
  size_t hlen, hstart;
  if (b[6] == 1) {
    hlen = b[8] | (b[9] << 8);
    hstart = 10;
  } else {
    hlen = b[8] | (b[9] << 8) | (b[10] << 16) | (static_cast<size_t>(b[11]) << 24);
    hstart = 12;
  }
  if (hstart + hlen > b.size()) return MORSEL_ERROR(IO_ERROR, "%s: truncated header", path.c_str());
  std::string h(b.begin() + hstart, b.begin() + hstart + hlen);
  DType dt;
  if (h.find("'<f4'") != std::string::npos) dt = DType::F32;
  else if (h.find("'<i4'") != std::string::npos) dt = DType::I32;
  else if (h.find("'|u1'") != std::string::npos) dt = DType::U8;
  else return MORSEL_ERROR(UNSUPPORTED, "%s: dtype in %s", path.c_str(), h.c_str());
  if (h.find("'fortran_order': True") != std::string::npos)
    return MORSEL_ERROR(UNSUPPORTED, "%s: fortran order", path.c_str());
  size_t p0 = h.find("'shape': (");
  if (p0 == std::string::npos) return MORSEL_ERROR(IO_ERROR, "%s: no shape", path.c_str());
  size_t p1 = h.find(')', p0);
  std::string dims = h.substr(p0 + 10, p1 - p0 - 10);
  Shape shape;
  std::stringstream ss(dims);
  std::string tok;
  while (std::getline(ss, tok, ',')) {
    if (tok.find_first_of("0123456789") == std::string::npos) continue;
    shape.push_back(std::stoll(tok));
  }
  Tensor t(dt, shape);
  if (hstart + hlen + t.nbytes() > b.size())
    return MORSEL_ERROR(IO_ERROR, "%s: truncated data", path.c_str());
  std::memcpy(t.raw_mut(), b.data() + hstart + hlen, t.nbytes());
  return t;
}

Status write_npy(const std::string& path, const Tensor& t) {
  std::string descr = t.dtype() == DType::F32 ? "<f4" : t.dtype() == DType::I32 ? "<i4" : "|u1";
  std::string shape = "(";
  for (int64_t d : t.shape()) shape += std::to_string(d) + ",";
  shape += ")";
  std::string h = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + h.size() + 1) % 64) h += ' ';
  h += '\n';
  std::ofstream f(path, std::ios::binary);
  if (!f) return MORSEL_ERROR(IO_ERROR, "cannot write %s", path.c_str());
  const char magic[] = "\x93NUMPY\x01\x00";
  f.write(magic, 8);
  uint16_t hl = static_cast<uint16_t>(h.size());
  f.put(static_cast<char>(hl & 0xff));
  f.put(static_cast<char>(hl >> 8));
  f.write(h.data(), static_cast<std::streamsize>(h.size()));
  f.write(static_cast<const char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
  return Status();
}

std::string run_command(const std::string& cmd, int* rc) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    *rc = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  *rc = pclose(p);
  return out;
}

std::vector<std::string> photo_paths(int count) {
  int rc;
  std::string out = run_command("node '" + source_path("scripts/photos.js") + "' " + std::to_string(count), &rc);
  std::vector<std::string> paths;
  if (rc != 0) return paths;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) paths.push_back(line);
  return paths;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return std::numeric_limits<double>::infinity();
  Tensor fa = tensor_to_f32(a), fb = tensor_to_f32(b);
  double m = 0;
  for (int64_t i = 0; i < fa.numel(); i++) {
    double d = std::fabs(static_cast<double>(fa.data<float>()[i]) - fb.data<float>()[i]);
    if (std::isnan(d)) return std::numeric_limits<double>::infinity();
    m = std::max(m, d);
  }
  return m;
}

}  // namespace morsel::test
