// Small status helpers that Debian's Abseil 20220623 does not ship.
#ifndef UNIONSYNC_COMMON_STATUS_MACROS_H_
#define UNIONSYNC_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define US_STATUS_CONCAT_INNER_(x, y) x##y
#define US_STATUS_CONCAT_(x, y) US_STATUS_CONCAT_INNER_(x, y)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define RETURN_IF_ERROR(expr)                \
  do {                                       \
    ::absl::Status us_status_ = (expr);      \
    if (!us_status_.ok()) return us_status_; \
  } while (0)

// `ASSIGN_OR_RETURN(T x, StatusOrExpr)`: declares/assigns the value or returns
// the error.
#define ASSIGN_OR_RETURN(lhs, rexpr)                                        \
  US_ASSIGN_OR_RETURN_IMPL_(US_STATUS_CONCAT_(us_statusor_, __LINE__), lhs, \
                            rexpr)

#define US_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                              \
  if (!statusor.ok()) return statusor.status();         \
  lhs = std::move(statusor).value()

#endif  // UNIONSYNC_COMMON_STATUS_MACROS_H_
