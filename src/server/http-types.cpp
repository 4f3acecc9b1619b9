// HttpRequest/HttpResponse helpers, the error shape and bounded parsers for untrusted input.
#include "server/http-types.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>

namespace morsel::server {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

const std::string* HttpRequest::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return &v;
  return nullptr;
}

const std::string& HttpRequest::body_str() const {
  static const std::string kEmpty;
  return body ? *body : kEmpty;
}

void HttpResponse::set(std::string name, std::string value) {
  for (auto& [k, v] : headers) {
    if (iequals(k, name)) {
      v = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
}

const std::string* HttpResponse::get(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return &v;
  return nullptr;
}

std::string json_dump(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

HttpResponse json_response(int status, const nlohmann::json& j) {
  HttpResponse r;
  r.status = status;
  r.body = json_dump(j);
  r.set("Content-Type", "application/json");
  return r;
}

HttpResponse error_response(int status, std::string_view code, std::string_view message) {
  nlohmann::json j = {{"error", {{"code", std::string(code)}, {"message", std::string(message)}}}};
  HttpResponse r = json_response(status, j);
  if (status == 429 || status == 503) r.set("Retry-After", "1");
  return r;
}

HttpResponse status_response(const Status& st) {
  switch (st.code()) {
    case StatusCode::INVALID_IMAGE:
      return error_response(422, "invalid_image", st.message());
    case StatusCode::LIMIT_EXCEEDED:
      return error_response(413, "image_too_large", st.message());
    case StatusCode::UNSUPPORTED:
      return error_response(415, "unsupported_media_type", st.message());
    case StatusCode::INVALID_ARGUMENT:
      return error_response(400, "bad_request", st.message());
    case StatusCode::OUT_OF_MEMORY:
      return error_response(503, "unavailable", "the server is out of memory; try again later");
    default:
      return error_response(500, "internal", "internal error");
  }
}

const char* reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

bool percent_decode(std::string_view s, std::string* out, bool plus_is_space) {
  out->clear();
  out->reserve(s.size());
  for (size_t i = 0; i < s.size(); i++) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return false;
      const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return true;
}

std::optional<std::string> query_param(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    std::string k;
    if (!percent_decode(pair.substr(0, eq), &k, true) || k != key) continue;
    std::string v;
    if (eq != std::string_view::npos && !percent_decode(pair.substr(eq + 1), &v, true)) return "";
    return v;
  }
  return std::nullopt;
}

bool parse_int(std::string_view s, int64_t lo, int64_t hi, int64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  bool neg = false;
  size_t i = 0;
  if (s[0] == '-') {
    neg = true;
    i = 1;
    if (s.size() == 1) return false;
  }
  int64_t v = 0;
  for (; i < s.size(); i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  if (neg) v = -v;
  if (v < lo || v > hi) return false;
  *out = v;
  return true;
}

std::string media_type(std::string_view content_type) {
  std::string_view t = trim(content_type.substr(0, content_type.find(';')));
  std::string out(t);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string media_type_param(std::string_view content_type, std::string_view name) {
  size_t semi = content_type.find(';');
  while (semi != std::string_view::npos) {
    std::string_view rest = content_type.substr(semi + 1);
    const size_t next = rest.find(';');
    std::string_view p = trim(rest.substr(0, next));
    const size_t eq = p.find('=');
    if (eq != std::string_view::npos && iequals(trim(p.substr(0, eq)), name)) {
      std::string_view v = trim(p.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return std::string(v);
    }
    semi = next == std::string_view::npos ? next : semi + 1 + next;
  }
  return "";
}

namespace {

// Parses `name="value"` parameters of a Content-Disposition header.
std::string disposition_param(std::string_view header, std::string_view key) {
  return media_type_param(header, key);
}

}  // namespace

bool parse_multipart(std::string_view body, std::string_view boundary, size_t max_parts,
                     std::vector<MultipartPart>* parts, std::string* error) {
  parts->clear();
  if (boundary.empty() || boundary.size() > 200) {
    *error = "multipart boundary is missing or too long";
    return false;
  }
  const std::string delim = "--" + std::string(boundary);
  size_t pos = body.find(delim);
  if (pos == std::string_view::npos) {
    *error = "multipart body has no boundary line";
    return false;
  }
  pos += delim.size();
  const std::string next_delim = "\r\n" + delim;
  for (;;) {
    // After a delimiter: "--" ends the body, otherwise CRLF and a part follows.
    if (body.substr(pos, 2) == "--") return true;
    // Transport padding (spaces/tabs) is allowed before the CRLF.
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) pos++;
    if (body.substr(pos, 2) != "\r\n") {
      *error = "malformed multipart boundary line";
      return false;
    }
    pos += 2;
    const size_t header_end = body.find("\r\n\r\n", pos);
    if (header_end == std::string_view::npos || header_end - pos > 16384) {
      *error = "malformed multipart part headers";
      return false;
    }
    MultipartPart part;
    std::string_view headers = body.substr(pos, header_end - pos);
    while (!headers.empty()) {
      const size_t eol = headers.find("\r\n");
      std::string_view line = headers.substr(0, eol);
      headers = eol == std::string_view::npos ? std::string_view() : headers.substr(eol + 2);
      const size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string_view name = trim(line.substr(0, colon));
      std::string_view value = trim(line.substr(colon + 1));
      if (iequals(name, "content-disposition")) {
        part.name = disposition_param(value, "name");
        part.filename = disposition_param(value, "filename");
      } else if (iequals(name, "content-type")) {
        part.content_type = std::string(value);
      }
    }
    const size_t data_begin = header_end + 4;
    const size_t data_end = body.find(next_delim, data_begin);
    if (data_end == std::string_view::npos) {
      *error = "multipart body ends inside a part (no closing boundary)";
      return false;
    }
    part.data = body.substr(data_begin, data_end - data_begin);
    if (parts->size() >= max_parts) {
      *error = "too many multipart parts";
      return false;
    }
    parts->push_back(std::move(part));
    pos = data_end + next_delim.size();
  }
}

bool json_depth_ok(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); i++) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        i++;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      depth--;
    }
  }
  return true;
}

std::string accept_or_make_request_id(const std::string* client_value) {
  if (client_value && !client_value->empty() && client_value->size() <= 128 &&
      std::all_of(client_value->begin(), client_value->end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
               c == ':';
      }))
    return *client_value;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return str_printf("%016llx%016llx", static_cast<unsigned long long>(rng()),
                    static_cast<unsigned long long>(rng()));
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; i++) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace morsel::server
