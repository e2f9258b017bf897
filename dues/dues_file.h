// The payment service's export of dues paid (R9), as the city hub imports it:
// a CSV (UTF-8, GBK or GB18030) or XLSX file whose header row names the
// columns below, in any order. Other columns (the payer's name, the bank) are
// ignored and never kept.
//
//   身份证号码  (also 公民身份号码, 身份证号)   the payer's ID number
//   缴费月份    (also 所属月份)                 YYYY-MM, YYYYMM or YYYY年M月
//   金额（元）  (also 金额, 缴费金额)           e.g. 12.50: above 0, at most
//                                               100000, two decimals at most
//   交易流水号  (also 流水号)                   the payment's reference
//   缴费日期    (optional)                      YYYY-MM-DD
//
// Every problem is a cell error in Chinese naming the row and column (ID
// numbers masked), so the clerk can fix the file and upload it again.
#ifndef UNIONSYNC_DUES_DUES_FILE_H_
#define UNIONSYNC_DUES_DUES_FILE_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "unionsync/v1/ingest.pb.h"

namespace unionsync::dues {

// One valid row.
struct DuesRow {
  int64_t row = 0;         // As the clerk sees it (1-based).
  std::string id_number;   // Normalised and valid (GB 11643).
  std::string period;      // YYYY-MM.
  int64_t amount_fen = 0;  // 1..10,000,000.
  std::string reference;   // 1..64 bytes.
  std::string paid_on;     // YYYY-MM-DD or "".
};

struct DuesFileSummary {
  int64_t rows = 0;  // Non-blank data rows.
  int64_t valid_rows = 0;
  int64_t amount_fen = 0;         // Of the valid rows.
  std::set<std::string> periods;  // Of the valid rows.
  int64_t total_errors = 0;
  std::vector<v1::ImportCellError> errors;  // The first `max_errors`.
};

inline constexpr size_t kMaxDuesErrors = 100;

// Reads every row of `content`, calling `on_valid` for each valid one (a
// non-OK status from it stops the read and is returned). Cell errors go into
// the summary; a file that cannot be read at all (not a table, no header,
// a required column missing or named twice, no data row) is INVALID_ARGUMENT
// with a Chinese message.
absl::StatusOr<DuesFileSummary> ReadDuesFile(
    absl::string_view content,
    absl::FunctionRef<absl::Status(const DuesRow&)> on_valid);

// "2020-03" from "2020-03", "202003", "2020/3" or "2020年3月"; "" when it is
// none of these or not a month of 2000..2099.
std::string ParseDuesPeriod(absl::string_view text);

}  // namespace unionsync::dues

#endif  // UNIONSYNC_DUES_DUES_FILE_H_
