// A stand-in for libFuzzer's main() where libFuzzer is not available (g++ builds): replays
// every seed file, then feeds seeded random mutations of them (bit flips, byte changes,
// insertions, deletions, truncations, splices) to LLVMFuzzerTestOneInput until -runs or
// -max_total_time is reached. No coverage guidance: it catches shallow bugs in every build;
// the clang -DMORSEL_FUZZ=ON build runs the real libFuzzer on the same target.
//   fuzz_onnx_reader [-runs=N] [-max_total_time=SECONDS] [-seed=S] DIR_OR_FILE...
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void collect(const std::string& path, std::vector<std::vector<uint8_t>>* seeds) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return;
  if (S_ISREG(st.st_mode)) {
    seeds->push_back(read_file(path));
    return;
  }
  DIR* d = opendir(path.c_str());
  if (!d) return;
  std::vector<std::string> names;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') names.push_back(e->d_name);
  closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) collect(path + "/" + n, seeds);
}

std::vector<uint8_t> mutate(const std::vector<std::vector<uint8_t>>& seeds, std::mt19937_64& rng) {
  std::vector<uint8_t> b = seeds[rng() % seeds.size()];
  const int steps = 1 + static_cast<int>(rng() % 4);
  for (int s = 0; s < steps; s++) {
    const size_t n = b.size();
    switch (rng() % 7) {
      case 0:  // flip a bit
        if (n) b[rng() % n] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      case 1:  // interesting byte values (lengths, varint continuation bits, tags)
        if (n) {
          const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0x08, 0x10, 0x12, 0x1a, 0x22, 0x3a, 0x42};
          b[rng() % n] = vals[rng() % sizeof vals];
        }
        break;
      case 2:  // insert random bytes
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(n ? rng() % n : 0), 1 + rng() % 8,
                 static_cast<uint8_t>(rng()));
        break;
      case 3:  // delete a range
        if (n > 1) {
          size_t at = rng() % n, len = 1 + rng() % std::min<size_t>(16, n - at);
          b.erase(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + len));
        }
        break;
      case 4:  // truncate
        if (n) b.resize(rng() % n);
        break;
      case 5: {  // splice with another seed
        const auto& o = seeds[rng() % seeds.size()];
        if (n && !o.empty()) {
          size_t at = rng() % n, from = rng() % o.size();
          size_t len = std::min(o.size() - from, 1 + static_cast<size_t>(rng() % 64));
          b.resize(std::max(b.size(), at + len));
          std::memcpy(b.data() + at, o.data() + from, len);
        }
        break;
      }
      default:  // overwrite 4 bytes with a random 32-bit value (dims, sizes, offsets)
        if (n >= 4) {
          uint32_t v = static_cast<uint32_t>(rng());
          std::memcpy(b.data() + rng() % (n - 3), &v, 4);
        }
        break;
    }
  }
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  long long runs = -1;
  double max_time = 10;
  uint64_t seed = 1;
  std::vector<std::vector<uint8_t>> seeds;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    if (a.rfind("-runs=", 0) == 0) runs = std::atoll(a.c_str() + 6);
    else if (a.rfind("-max_total_time=", 0) == 0) max_time = std::atof(a.c_str() + 16);
    else if (a.rfind("-seed=", 0) == 0) seed = std::strtoull(a.c_str() + 6, nullptr, 10);
    else if (a[0] == '-') continue;  // libFuzzer flags this driver does not need
    else collect(a, &seeds);
  }
  if (seeds.empty()) {
    std::fprintf(stderr, "standalone fuzz driver: no seed files given\n");
    return 1;
  }
  for (const auto& s : seeds) LLVMFuzzerTestOneInput(s.data(), s.size());
  std::mt19937_64 rng(seed);
  const auto start = std::chrono::steady_clock::now();
  long long done = 0;
  while (runs < 0 || done < runs) {
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > max_time) break;
    std::vector<uint8_t> b = mutate(seeds, rng);
    LLVMFuzzerTestOneInput(b.data(), b.size());
    done++;
  }
  std::printf("standalone fuzz driver: %zu seeds, %lld mutated inputs in %.1f s, no crash\n", seeds.size(), done,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return 0;
}
