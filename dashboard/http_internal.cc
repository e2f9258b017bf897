#include "dashboard/http_internal.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace unionsync::dashboard_internal {

// `s` as a JSON string literal (quotes included). <, > and & are escaped too
// so the text is inert wherever it ends up.
std::string JsonQuote(absl::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '<':
      case '>':
      case '&':
        out += absl::StrFormat("\\u%04x", c);
        break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out += "\"";
  return out;
}

// A cookie value we are willing to send back: printable ASCII without the
// characters RFC 6265 excludes.
bool IsCookieSafe(absl::string_view v) {
  if (v.empty() || v.size() > kMaxTokenBytes) return false;
  for (unsigned char c : v) {
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' ||
        c == '\\') {
      return false;
    }
  }
  return true;
}

std::string CookieValue(const httplib::Request& req, absl::string_view name) {
  size_t n = req.get_header_value_count("Cookie");
  for (size_t i = 0; i < n; ++i) {
    std::string header = req.get_header_value("Cookie", i);
    for (absl::string_view part : absl::StrSplit(header, ';')) {
      part = absl::StripAsciiWhitespace(part);
      if (absl::ConsumePrefix(&part, name) && absl::ConsumePrefix(&part, "=") &&
          IsCookieSafe(part)) {
        return std::string(part);
      }
    }
  }
  return "";
}

std::string SessionToken(const httplib::Request& req) {
  return CookieValue(req, kCookieName);
}

// The Origin of a cross-site form post differs from the Host it was sent to.
// Absent Origin (older clients, curl) is accepted: the session cookie is
// SameSite=Strict anyway.
bool SameOrigin(const httplib::Request& req) {
  if (!req.has_header("Origin")) return true;
  const std::string origin_header = req.get_header_value("Origin");
  absl::string_view origin = origin_header;
  if (!absl::ConsumePrefix(&origin, "http://") &&
      !absl::ConsumePrefix(&origin, "https://")) {
    return false;
  }
  for (const char* header : {"Host", "X-Forwarded-Host"}) {
    if (req.has_header(header) &&
        absl::EqualsIgnoreCase(origin, req.get_header_value(header))) {
      return true;
    }
  }
  return false;
}

int HttpStatusOf(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kFailedPrecondition:
      return 412;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return 503;
    default:
      return 500;
  }
}

}  // namespace unionsync::dashboard_internal
