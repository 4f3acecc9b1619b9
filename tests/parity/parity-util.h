// Helpers shared by the parity tests: real photos from scripts/photos.js, shell commands.
#pragma once

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "util/test_util.h"

namespace morsel::parity {

inline std::string run_command(const std::string& cmd, int* rc) {
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

// Paths of `count` real food photos (deterministic order); empty if the script fails.
inline std::vector<std::string> photo_paths(int count) {
  int rc;
  std::string out = run_command("node '" + test::source_path("scripts/photos.js") + "' " +
                                    std::to_string(count),
                                &rc);
  std::vector<std::string> paths;
  if (rc != 0) return paths;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) paths.push_back(line);
  return paths;
}

}  // namespace morsel::parity
