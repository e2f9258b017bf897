// GoogleTest helpers for absl::Status / absl::StatusOr (Debian's Abseil has no
// matchers).
#ifndef UNIONSYNC_TESTS_TESTING_STATUS_MATCHERS_H_
#define UNIONSYNC_TESTS_TESTING_STATUS_MATCHERS_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/status_macros.h"

namespace unionsync::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

// EXPECT_THAT(DoIt(), IsOk());
MATCHER(IsOk, "is OK") {
  const absl::Status& s = ::unionsync::testing::GetStatus(arg);
  if (!s.ok()) *result_listener << "status is " << s;
  return s.ok();
}

// EXPECT_THAT(DoIt(), StatusIs(absl::StatusCode::kInvalidArgument));
MATCHER_P(StatusIs, code, "has code " + ::testing::PrintToString(code)) {
  const absl::Status& s = ::unionsync::testing::GetStatus(arg);
  *result_listener << "status is " << s;
  return s.code() == code;
}

// EXPECT_THAT(DoIt(), StatusIs(code, HasSubstr("...")));
MATCHER_P2(StatusIs, code, message_matcher, "has code and message") {
  const absl::Status& s = ::unionsync::testing::GetStatus(arg);
  *result_listener << "status is " << s;
  return s.code() == code &&
         ::testing::Matches(message_matcher)(std::string(s.message()));
}

}  // namespace unionsync::testing

#define ASSERT_OK(expr) ASSERT_THAT((expr), ::unionsync::testing::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT((expr), ::unionsync::testing::IsOk())
#define ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(US_STATUS_CONCAT_(us_sor_, __LINE__), lhs, rexpr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(sor, lhs, rexpr) \
  auto sor = (rexpr);                               \
  ASSERT_TRUE(sor.ok()) << sor.status();            \
  lhs = std::move(sor).value()

#endif  // UNIONSYNC_TESTS_TESTING_STATUS_MATCHERS_H_
