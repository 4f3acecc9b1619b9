// StaticFiles and serve_bytes: safe path mapping, MIME types, caching headers, ranges.
#include "server/static-files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace morsel::server {

namespace {

constexpr size_t kMaxStaticFileBytes = size_t{512} << 20;

bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  if (s.size() < n) return false;
  for (size_t i = 0; i < n; i++)
    if (std::tolower(static_cast<unsigned char>(s[s.size() - n + i])) != suffix[i]) return false;
  return true;
}

std::string real_path(const std::string& p) {
  char buf[PATH_MAX];
  if (!::realpath(p.c_str(), buf)) return "";
  return buf;
}

bool read_file(const std::string& path, std::string* out, struct stat* sb) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  if (::fstat(fd, sb) != 0 || !S_ISREG(sb->st_mode) ||
      static_cast<size_t>(sb->st_size) > kMaxStaticFileBytes) {
    ::close(fd);
    return false;
  }
  out->resize(static_cast<size_t>(sb->st_size));
  size_t got = 0;
  while (got < out->size()) {
    const ssize_t r = ::read(fd, out->data() + got, out->size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  ::close(fd);
  out->resize(got);
  return true;
}

// Parses one byte range of a Range header against `size`. Returns 1 for a satisfiable range,
// 0 for "ignore the header" (malformed or several ranges: serve the whole file), -1 for 416.
int parse_range(const std::string& h, size_t size, size_t* first, size_t* last) {
  if (h.compare(0, 6, "bytes=") != 0) return 0;
  const std::string spec = h.substr(6);
  if (spec.find(',') != std::string::npos) return 0;
  const size_t dash = spec.find('-');
  if (dash == std::string::npos) return 0;
  const std::string a = spec.substr(0, dash), b = spec.substr(dash + 1);
  int64_t x = 0, y = 0;
  const int64_t kMax = int64_t{1} << 60;
  if (a.empty()) {  // suffix: the last y bytes
    if (!parse_int(b, 0, kMax, &y)) return 0;
    if (y == 0 || size == 0) return -1;
    *first = static_cast<size_t>(y) >= size ? 0 : size - static_cast<size_t>(y);
    *last = size - 1;
    return 1;
  }
  if (!parse_int(a, 0, kMax, &x)) return 0;
  if (static_cast<size_t>(x) >= size) return -1;
  *first = static_cast<size_t>(x);
  if (b.empty()) {
    *last = size - 1;
  } else {
    if (!parse_int(b, 0, kMax, &y) || y < x) return 0;
    *last = std::min(static_cast<size_t>(y), size - 1);
  }
  return 1;
}

bool etag_matches(const std::string& header, const std::string& etag) {
  if (header == "*") return true;
  // A comma-separated list; weak comparison ("W/" prefixes ignored).
  size_t pos = 0;
  auto strip = [](std::string s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(0, 1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
    if (s.compare(0, 2, "W/") == 0) s.erase(0, 2);
    return s;
  };
  const std::string want = strip(etag);
  while (pos <= header.size()) {
    const size_t comma = header.find(',', pos);
    if (strip(header.substr(pos, comma - pos)) == want) return true;
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return false;
}

}  // namespace

const char* mime_type_for(const std::string& path) {
  struct Entry {
    const char* ext;
    const char* type;
  };
  static const Entry kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".wasm", "application/wasm"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".webp", "image/webp"},
      {".gif", "image/gif"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
      {".woff2", "font/woff2"},
      {".woff", "font/woff"},
      {".morsel", "application/octet-stream"},
  };
  for (const Entry& e : kTypes)
    if (ends_with(path, e.ext)) return e.type;
  return "application/octet-stream";
}

bool is_hashed_asset(const std::string& path) {
  if (path.find("/assets/") != std::string::npos) return true;
  // name-<8+ chars of [A-Za-z0-9_-] with at least one digit>.ext, as bundlers write them.
  const size_t slash = path.rfind('/');
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  const size_t dot = base.find('.');
  if (dot == std::string::npos) return false;
  const std::string stem = base.substr(0, dot);
  const size_t sep = stem.find_last_of("-.");
  if (sep == std::string::npos) return false;
  const std::string hash = stem.substr(sep + 1);
  if (hash.size() < 8) return false;
  bool digit = false;
  for (char c : hash) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
    digit |= std::isdigit(static_cast<unsigned char>(c)) != 0;
  }
  return digit;
}

HttpResponse serve_bytes(const HttpRequest& req, const char* data, size_t size,
                         std::shared_ptr<const void> hold, const std::string& etag,
                         const std::string& content_type) {
  HttpResponse r;
  r.set("Accept-Ranges", "bytes");
  if (!etag.empty()) r.set("ETag", etag);
  const bool head = req.method == "HEAD";
  if (const std::string* inm = req.header("if-none-match");
      inm && !etag.empty() && etag_matches(*inm, etag)) {
    r.status = 304;
    return r;
  }
  size_t first = 0, last = size ? size - 1 : 0;
  int range = 0;
  if (const std::string* rh = req.header("range")) {
    range = parse_range(*rh, size, &first, &last);
    if (const std::string* ir = req.header("if-range");
        ir && range != 0 && !etag_matches(*ir, etag))
      range = 0;  // the client's copy is stale: send everything
  }
  if (range < 0) {
    HttpResponse e =
        error_response(416, "range_not_satisfiable", "the requested range is outside the file");
    e.set("Content-Range", "bytes */" + std::to_string(size));
    return e;
  }
  r.set("Content-Type", content_type);
  r.hold = std::move(hold);
  if (range > 0) {
    r.status = 206;
    r.set("Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" +
                               std::to_string(size));
    r.data = data + first;
    r.size = last - first + 1;
  } else {
    r.status = 200;
    r.data = data;
    r.size = size;
  }
  if (r.size == 0) r.data = "";
  r.omit_body = head;
  return r;
}

StaticFiles::StaticFiles(const std::string& root) {
  if (!root.empty()) root_ = real_path(root);
}

HttpResponse StaticFiles::serve(const HttpRequest& req) const {
  std::string path;
  if (!percent_decode(req.path, &path))
    return error_response(400, "bad_request", "malformed percent-encoding in the path");
  if (path.empty() || path[0] != '/' || path.find('\0') != std::string::npos ||
      path.find('\\') != std::string::npos)
    return error_response(400, "bad_request", "invalid path");
  // Refuse "." and ".." segments outright rather than normalizing them.
  for (size_t i = 0; i < path.size();) {
    size_t j = path.find('/', i + 1);
    if (j == std::string::npos) j = path.size();
    const std::string seg = path.substr(i + 1, j - i - 1);
    if (seg == "." || seg == "..") return error_response(400, "bad_request", "invalid path");
    i = j;
  }
  std::string rel = path;
  if (rel.back() == '/') rel += "index.html";
  std::string file = real_path(root_ + rel);
  struct stat sb;
  if (!file.empty() && ::stat(file.c_str(), &sb) == 0 && S_ISDIR(sb.st_mode)) {
    rel += "/index.html";
    file = real_path(root_ + rel);
  }
  if (file.empty()) {
    const size_t slash = rel.rfind('/');
    if (rel.find('.', slash) == std::string::npos) {  // a client-side route: the app's entry
      rel = "/index.html";
      file = real_path(root_ + rel);
    }
  }
  if (file.empty() || file.compare(0, root_.size() + 1, root_ + "/") != 0)
    return error_response(404, "not_found", "no such file");
  auto content = std::make_shared<std::string>();
  if (!read_file(file, content.get(), &sb)) return error_response(404, "not_found", "no such file");
  const std::string etag =
      str_printf("\"%llx-%llx\"", static_cast<unsigned long long>(sb.st_size),
                 static_cast<unsigned long long>(sb.st_mtim.tv_sec) * 1000000000ull +
                     static_cast<unsigned long long>(sb.st_mtim.tv_nsec));
  const char* data = content->data();
  const size_t size = content->size();
  HttpResponse r = serve_bytes(req, data, size, content, etag, mime_type_for(file));
  r.set("Cache-Control", is_hashed_asset(rel) ? "public, max-age=31536000, immutable" : "no-cache");
  // Cross-origin isolation, so the in-browser engine can use threads (SharedArrayBuffer).
  r.set("Cross-Origin-Opener-Policy", "same-origin");
  r.set("Cross-Origin-Embedder-Policy", "require-corp");
  r.set("Cross-Origin-Resource-Policy", "same-origin");
  r.set("X-Content-Type-Options", "nosniff");
  return r;
}

}  // namespace morsel::server
