#include "common/divisions.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "common/divisions_data.h"

namespace unionsync {

namespace d = divisions_internal;

std::optional<AdministrativeDivision> FindDivision(absl::string_view code6) {
  if (code6.size() != 6) return std::nullopt;
  int code = 0;
  for (char c : code6) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)))
      return std::nullopt;
    code = code * 10 + (c - '0');
  }
  const d::DivisionRow* end = d::kRows + d::kRowCount;
  const d::DivisionRow* it = std::lower_bound(
      d::kRows, end, code,
      [](const d::DivisionRow& row, int c) { return row.code < c; });
  if (it == end || it->code != code) return std::nullopt;
  return AdministrativeDivision{it->code, it->name, it->current,
                                it->first_revision, it->last_revision};
}

std::string DivisionSource() {
  return absl::StrFormat(
      "GB/T 2260 revisions %04d-%02d to %04d-%02d and today's lists (%s)",
      d::kFirstRevision / 100, d::kFirstRevision % 100, d::kLastRevision / 100,
      d::kLastRevision % 100, d::kSource);
}

}  // namespace unionsync
