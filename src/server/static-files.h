// Static files for the web app (--web DIR) and byte ranges/ETags for model downloads.
// Paths are percent-decoded, segments "." and ".." and NUL/backslash are refused, and the
// resolved real path must stay inside the root (symlinks cannot escape it).
#pragma once

#include <memory>
#include <string>

#include "server/http-types.h"

namespace morsel::server {

class StaticFiles {
 public:
  explicit StaticFiles(const std::string& root);
  bool ok() const { return !root_.empty(); }
  // GET/HEAD of req.path. "/" and directories serve index.html; an unknown path without a file
  // extension serves /index.html too (client-side routes of the single-page app).
  HttpResponse serve(const HttpRequest& req) const;

 private:
  std::string root_;  // real path, no trailing slash
};

// A 200/206/304/416 response for `size` bytes at `data` (kept alive by `hold`): ETag and
// If-None-Match, one Range ("bytes=a-b", "a-", "-n") with If-Range, Accept-Ranges.
HttpResponse serve_bytes(const HttpRequest& req, const char* data, size_t size,
                         std::shared_ptr<const void> hold, const std::string& etag,
                         const std::string& content_type);

// Content-Type by file extension (".wasm" -> application/wasm); application/octet-stream default.
const char* mime_type_for(const std::string& path);
// Content-hashed build outputs ("index-3f9a1b2c.js", "assets/...") may be cached for a year.
bool is_hashed_asset(const std::string& path);

}  // namespace morsel::server
