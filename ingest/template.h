// The unified collection templates of R5: one for members, one for
// organisations. Each column has the Chinese header the clerk sees, a note
// explaining how to fill it in (shown on the "填写说明" sheet), whether it is
// required, and for coded fields the Chinese values allowed (offered as
// drop-down lists in the XLSX template).
//
// The definitions are constant tables; everything here is thread-safe.
#ifndef UNIONSYNC_INGEST_TEMPLATE_H_
#define UNIONSYNC_INGEST_TEMPLATE_H_

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace unionsync::ingest {

// The record field a column fills.
enum class Field {
  // Member (v1::Member).
  kName,
  kGender,
  kEthnicity,
  kIdNumber,
  kPhone,
  kEducation,
  kWorkplace,
  kJoinDate,
  kCardNumber,
  kMigrantWorker,
  kDuesStatus,
  // Organisation (v1::Org): registration, entered by the parent (R2) ...
  kOrgId,
  kOrgName,
  kOrgKind,
  kParentId,
  kRegion,
  kSystem,
  kHostNode,
  // ... and profile, completed by the organisation itself (R3).
  kCreditCode,
  kChairName,
  kChairPhone,
  kAdminName,
  kAdminPhone,
  kAdminTrainedDate,
  kContactName,
  kContactPhone,
  kEmployeeCount,
  kFoundingDate,
  kAddress,
};

// How a cell's value is read.
enum class ValueKind {
  kText,      // Free text.
  kCode,      // One of `allowed_values` (exactly, after trimming).
  kIdNumber,  // GB 11643 citizen ID number.
  kMobile,    // Mainland mobile number.
  kDate,      // A date; Excel date serials are converted.
  kInteger,   // A non-negative whole number.
  kCodeText,  // A code such as an organisation id or credit code.
};

struct ColumnSpec {
  Field field;
  absl::string_view header;  // Chinese, exactly as in the template.
  absl::string_view note;    // Chinese, for the "填写说明" sheet.
  bool required;
  ValueKind kind;
  // Allowed values for kCode; suggestions only (not enforced) for other kinds
  // that have them (民族).
  absl::Span<const absl::string_view> allowed_values;
  double width;  // Column width in the XLSX template (characters).
  // Whether the XLSX template formats the column as text ("@"), so that Excel
  // keeps leading zeros and all 18 digits of an ID number.
  bool text_format;
};

enum class TemplateKind { kMember, kOrg };

struct TemplateSpec {
  TemplateKind kind;
  absl::string_view title;       // "工会会员信息采集表"
  absl::string_view sheet_name;  // Data sheet, e.g. "会员信息".
  absl::string_view
      file_stem;  // Suggested download name, e.g. "会员信息采集模板".
  absl::Span<const ColumnSpec> columns;
};

const TemplateSpec& MemberTemplate();
const TemplateSpec& OrgTemplate();
const TemplateSpec& Template(TemplateKind kind);

// The name of the sheet explaining every column, in both XLSX templates.
inline constexpr absl::string_view kNotesSheetName = "填写说明";

// Index of the column for `field` in `spec`, or -1.
int ColumnIndex(const TemplateSpec& spec, Field field);

// The allowed values, in order (for tests and messages).
absl::Span<const absl::string_view> GenderValues();  // 男 女
absl::Span<const absl::string_view> EducationValues();  // 小学 .. 博士研究生
absl::Span<const absl::string_view> YesNoValues();      // 是 否
absl::Span<const absl::string_view> DuesValues();  // 已缴纳 未缴纳 免缴
// The kinds a parent may register (every kind but 市总工会), Chinese names as
// in model.proto.
absl::Span<const absl::string_view> ChildOrgKindValues();
absl::Span<const absl::string_view> EthnicityValues();  // The 56 民族.

}  // namespace unionsync::ingest

#endif  // UNIONSYNC_INGEST_TEMPLATE_H_
