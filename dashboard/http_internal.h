// Small HTTP helpers shared by the dashboard's and the workbench's routes.
// Private to dashboard/.
#ifndef UNIONSYNC_DASHBOARD_HTTP_INTERNAL_H_
#define UNIONSYNC_DASHBOARD_HTTP_INTERNAL_H_

#include <httplib.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace unionsync::dashboard_internal {

inline constexpr char kCookieName[] = "us_session";
inline constexpr size_t kMaxTokenBytes = 512;

// `s` as a JSON string literal (quotes included); <, > and & escaped too.
std::string JsonQuote(absl::string_view s);
// A cookie value we are willing to send back: printable ASCII without the
// characters RFC 6265 excludes.
bool IsCookieSafe(absl::string_view v);
// The value of cookie `name` ("" when absent or unsafe).
std::string CookieValue(const httplib::Request& req, absl::string_view name);
// The session token from the request's cookies; empty when there is none.
std::string SessionToken(const httplib::Request& req);
// False for a cross-site request (its Origin differs from the Host).
bool SameOrigin(const httplib::Request& req);
// The HTTP status of a backend error.
int HttpStatusOf(absl::StatusCode code);

}  // namespace unionsync::dashboard_internal

#endif  // UNIONSYNC_DASHBOARD_HTTP_INTERNAL_H_
