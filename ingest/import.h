// Bulk import of the unified templates (R5): maps the rows a TableReader
// yields to v1::Member or v1::Org records with the validators of common/, and
// reports every problem per cell in Chinese a union clerk understands, with
// the row number and column header they see in their spreadsheet.
//
// Two kinds of failure:
//   - the file as a whole is unusable (hostile or broken input, wrong
//     headers): INVALID_ARGUMENT with a Chinese message, from the reader or
//     from SetHeader / Import*;
//   - some cells are wrong: the import succeeds with a list of CellErrors, one
//     per bad cell, and the valid rows.
// The caller should write nothing when either happens: validate the whole
// file first (a first pass, or buffer the valid rows), then write.
//
// Thread-safety: a mapper is used by one thread at a time; mappers share no
// state.
#ifndef UNIONSYNC_INGEST_IMPORT_H_
#define UNIONSYNC_INGEST_IMPORT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/types/span.h"
#include "common/validation.h"

namespace unionsync::v1 {
class Member;
class Org;
}  // namespace unionsync::v1

namespace unionsync::ingest {

class Row;
class TableReader;

// One problem in one cell (or row, when `column` names no template column).
struct CellError {
  int64_t row = 0;     // As the clerk sees it (1-based).
  std::string column;  // The Chinese header, e.g. "公民身份号码", or "F列".
  // The cell's content, truncated to 40 characters. It may be personal data:
  // show it to the uploader only, never log it.
  std::string value;
  // Chinese, e.g. "公民身份号码校验位错误，请核对号码". Never contains the
  // value.
  std::string reason;
};

struct ImportOptions {
  // Members: the grassroots union every imported member belongs to
  // (Member.org_id). Unused for organisations.
  std::string org_id;
  // "Today" for birth and join dates; China Standard Time now when unset.
  std::optional<absl::CivilDay> today;
  // CellErrors kept; more are counted but dropped (memory stays bounded).
  size_t max_errors = 10000;
};

// Maps rows of the member template to v1::Member. Checks every cell with the
// rules of common/ (ValidateMember), and that no ID number occurs twice in the
// file (the later row is the error; about 24 bytes are kept per row for this).
class MemberRowMapper {
 public:
  explicit MemberRowMapper(const ImportOptions& options);
  ~MemberRowMapper();
  MemberRowMapper(const MemberRowMapper&) = delete;
  MemberRowMapper& operator=(const MemberRowMapper&) = delete;

  // Checks the header row against the template: every template column present
  // once, in any order; no unknown header. INVALID_ARGUMENT naming each wrong,
  // missing or repeated header otherwise.
  absl::Status SetHeader(const Row& header);
  // Whether date serials count from 1904 (TableReader::date1904()).
  void set_date1904(bool date1904);
  // Maps a data row. True and *member filled (org_id from the options, status
  // MEMBER_ACTIVE) when every cell is valid; false and the problems appended
  // to *errors otherwise. Blank rows should be skipped by the caller.
  bool Map(const Row& row, v1::Member* member, std::vector<CellError>* errors);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Maps rows of the organisation template to v1::Org: the registration fields
// the parent enters (id, name, kind, parent_id, region, system, host_node)
// and the profile fields (credit code, contacts, employee count, founding
// date, address). Tier and status are left for the caller, which knows the
// parent. Organisation ids and credit codes must be unique within the file.
class OrgRowMapper {
 public:
  explicit OrgRowMapper(const ImportOptions& options);
  ~OrgRowMapper();
  OrgRowMapper(const OrgRowMapper&) = delete;
  OrgRowMapper& operator=(const OrgRowMapper&) = delete;

  absl::Status SetHeader(const Row& header);
  void set_date1904(bool date1904);
  bool Map(const Row& row, v1::Org* org, std::vector<CellError>* errors);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

struct ImportSummary {
  int64_t rows = 0;               // Data rows that are not blank.
  int64_t valid_rows = 0;         // Passed to the callback.
  int64_t invalid_rows = 0;       // With at least one CellError.
  int64_t total_errors = 0;       // CellErrors found, kept or not.
  std::vector<CellError> errors;  // The first ImportOptions::max_errors.
  std::string fingerprint;        // TableReader::fingerprint().
  bool ok() const { return total_errors == 0; }
};

// Reads the header and every row of `reader`, calling `on_valid` with the row
// number and record of each valid row (a non-OK status from it stops the
// import and is returned). Blank rows are skipped.
absl::StatusOr<ImportSummary> ImportMembers(
    TableReader& reader, const ImportOptions& options,
    absl::FunctionRef<absl::Status(int64_t row, const v1::Member&)> on_valid);
absl::StatusOr<ImportSummary> ImportOrgs(
    TableReader& reader, const ImportOptions& options,
    absl::FunctionRef<absl::Status(int64_t row, const v1::Org&)> on_valid);

// The error report a clerk downloads: CSV in UTF-8 with BOM, CRLF line ends,
// columns 行号,列,内容,问题. Cell contents that a spreadsheet would take for a
// formula (starting with = + - @) are prefixed with an apostrophe.
std::string ErrorReportCsv(absl::Span<const CellError> errors);
absl::Status WriteErrorReportCsv(const std::string& path,
                                 absl::Span<const CellError> errors);

// Converts an Excel date serial (days since 1899-12-30 for serials from 61,
// with Excel's phantom 1900-02-29 as serial 60; days since 1904-01-01 in the
// 1904 system) to "YYYY-MM-DD"; a fraction (time of day) is dropped. Serial
// 60 of the 1900 system and anything outside 1900-01-01..9999-12-31 is
// nullopt.
std::optional<std::string> ExcelSerialToDate(double serial, bool date1904);

// The Chinese reason the ID number `id` (normalised) is refused, nullopt if
// it is valid; sets *male (when not null) for a valid one.
std::optional<std::string> IdNumberReason(
    absl::string_view id, absl::CivilDay today, bool* male = nullptr,
    RegionCheck region = RegionCheck::kListed);

}  // namespace unionsync::ingest

#endif  // UNIONSYNC_INGEST_IMPORT_H_
