// The server's own view of an HTTP exchange, independent of Boost.Beast: routes, static files and
// the inference API see HttpRequest/HttpResponse only, so Beast stays in http.cpp. Also the one
// error shape ({"error": {"code", "message"}}) and small parsing helpers for untrusted input.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/status.h"

namespace morsel::server {

using Clock = std::chrono::steady_clock;

struct HttpRequest {
  std::string method;  // as sent, upper case for the standard methods
  std::string target;  // raw request target: path + "?" + query
  std::string path;    // target before '?', still percent-encoded
  std::string query;   // after '?', without it
  // Header names in lower case, values trimmed; in the order received.
  std::vector<std::pair<std::string, std::string>> headers;
  // The body; shared so that image bytes can be handed to a worker without a copy.
  std::shared_ptr<const std::string> body;
  std::string request_id;      // accepted X-Request-ID or a generated one
  std::string remote;          // "127.0.0.1:54321"
  Clock::time_point received;  // when the whole request had arrived
  Clock::time_point deadline;  // the per-request processing deadline (504 after it)

  // The first value of header `lower_name`, or null.
  const std::string* header(std::string_view lower_name) const;
  const std::string& body_str() const;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // besides the ones http.cpp adds
  std::string body;
  // A body that lives elsewhere (a model file in memory): `data`/`size`, kept alive by `hold`.
  // When data is null the body is `body`.
  std::shared_ptr<const void> hold;
  const char* data = nullptr;
  size_t size = 0;
  bool omit_body = false;  // HEAD: Content-Length of the body, no bytes
  bool close = false;      // close the connection after this response
  // For logs and metrics: the route template ("/v2/models/{name}/infer") and the model used.
  std::string route;
  std::string model;

  void set(std::string name, std::string value);        // adds or replaces a header
  const std::string* get(std::string_view name) const;  // case-insensitive
  std::string_view body_view() const {
    return data ? std::string_view(data, size) : std::string_view(body);
  }
};

// The one error shape. `code` is a stable machine-readable string ("payload_too_large"); the
// message is for people and never carries internal exception text.
HttpResponse error_response(int status, std::string_view code, std::string_view message);
// The error for a Status from the engine or the decoders: INVALID_IMAGE -> 422, LIMIT_EXCEEDED
// -> 413, UNSUPPORTED -> 415, INVALID_ARGUMENT -> 400; INTERNAL and the rest -> 500 with a
// generic message (the detail is for the log, not the client).
HttpResponse status_response(const Status& st);
HttpResponse json_response(int status, const nlohmann::json& j);

const char* reason_phrase(int status);

// JSON text for anything that may carry client bytes: invalid UTF-8 is replaced, never thrown.
std::string json_dump(const nlohmann::json& j, int indent = -1);

// ---- parsing helpers (all bounded, none throw) ----

// Percent-decodes `s`; false on a malformed escape. '+' is kept (paths) unless plus_is_space.
bool percent_decode(std::string_view s, std::string* out, bool plus_is_space = false);
// The decoded value of `key` in a query string ("a=1&top_k=5"); nullopt when absent.
std::optional<std::string> query_param(std::string_view query, std::string_view key);
// Parses a whole decimal integer in [lo, hi]; false for anything else ("", "5x", "1e3", overflow).
bool parse_int(std::string_view s, int64_t lo, int64_t hi, int64_t* out);

// Lower-cased media type of a Content-Type value, parameters dropped ("image/png").
std::string media_type(std::string_view content_type);
// The value of parameter `name` in a Content-Type value (boundary=...), unquoted; "" if absent.
std::string media_type_param(std::string_view content_type, std::string_view name);

// One part of a multipart/form-data body (views into the body).
struct MultipartPart {
  std::string name;          // form field name
  std::string filename;      // may be empty
  std::string content_type;  // the part's Content-Type, "" if absent
  std::string_view data;
};
// Splits a multipart/form-data body. At most `max_parts` parts; false (with *error set) when the
// body is malformed.
bool parse_multipart(std::string_view body, std::string_view boundary, size_t max_parts,
                     std::vector<MultipartPart>* parts, std::string* error);

// Checks that JSON text nests arrays/objects at most `max_depth` deep, without parsing it (so a
// hostile document cannot make the parser build deep trees). Strings are skipped correctly.
bool json_depth_ok(std::string_view text, int max_depth);

// An X-Request-ID from the client is kept when it is 1..128 characters of [A-Za-z0-9._:-];
// otherwise (or when absent) a random 32-hex-digit id is generated.
std::string accept_or_make_request_id(const std::string* client_value);

// Constant-time string comparison (API key check).
bool constant_time_equal(std::string_view a, std::string_view b);

double ms_between(Clock::time_point a, Clock::time_point b);

}  // namespace morsel::server
