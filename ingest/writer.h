// Writers for the unified templates (R5): the blank templates offered for
// download, and exports of members in the same format, so that an exported
// file can be edited and imported again without loss.
//
// XLSX (libxlsxwriter): the data sheet with the Chinese headers (bold,
// required ones in red, header row frozen, column widths, text format for
// codes and dates so that Excel keeps every digit of an ID number), a
// "填写说明" sheet explaining every column, and drop-down lists for the coded
// fields (their values on a hidden sheet "下拉选项"). Rows are streamed to
// disk (libxlsxwriter's constant-memory mode).
// CSV: UTF-8 with BOM (so that Excel and WPS open it right), GBK or GB18030;
// CRLF line ends; a header row.
//
// Values that a spreadsheet would take for a formula (starting with = + - @)
// are written with a leading apostrophe, which the importer removes.
//
// An export fingerprint (say, an approval number and a keyed hash naming who
// exported what when, R10.4) is written into the file: for XLSX as the custom
// document property "导出指纹", in the document comments, the page footer and
// the first line of the "填写说明" sheet; for CSV as a first line
// "# 导出指纹: ..." before the header, which the readers recognise and skip
// (TableReader::fingerprint()).
//
// Thread-safety: a writer is used by one thread at a time.
#ifndef UNIONSYNC_INGEST_WRITER_H_
#define UNIONSYNC_INGEST_WRITER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ingest/table.h"
#include "ingest/template.h"

namespace unionsync::v1 {
class Member;
}  // namespace unionsync::v1

namespace unionsync::ingest {

struct WriteOptions {
  FileFormat format = FileFormat::kXlsx;  // kAuto means XLSX.
  // CSV only: kUtf8 (or kAuto) with BOM, kGbk or kGb18030.
  TextEncoding encoding = TextEncoding::kUtf8;
  std::string fingerprint;  // None when empty.
};

// Writes one table in the format of a template, row by row.
class TableWriter {
 public:
  static absl::StatusOr<std::unique_ptr<TableWriter>> Create(
      const std::string& path, const TemplateSpec& spec,
      const WriteOptions& options);
  virtual ~TableWriter() = default;

  // One data row: the cells in the template's column order (exactly one per
  // column), UTF-8.
  virtual absl::Status AddRow(absl::Span<const std::string> cells) = 0;
  // Completes the file; without this call the file is incomplete.
  virtual absl::Status Finish() = 0;
};

// The blank template (header row only) to `path`, or as bytes.
absl::Status WriteTemplate(const TemplateSpec& spec, const std::string& path,
                           const WriteOptions& options = {});
absl::StatusOr<std::string> TemplateBytes(const TemplateSpec& spec,
                                          const WriteOptions& options = {});

// Which personal fields an export masks.
struct MaskOptions {
  bool id_number = false;  // First 6 + "********" + last 4.
  bool phone = false;      // First 3 + "****" + last 4.
};

// The cells of `m` in the order of MemberTemplate().columns, as the importer
// reads them back.
std::vector<std::string> MemberToCells(const v1::Member& m,
                                       const MaskOptions& mask = {});

struct ExportOptions {
  WriteOptions file;
  MaskOptions mask;
};

// Writes members in the member template's format, streaming.
class MemberExporter {
 public:
  static absl::StatusOr<std::unique_ptr<MemberExporter>> Create(
      const std::string& path, const ExportOptions& options);
  absl::Status Add(const v1::Member& member);
  absl::Status Finish();

 private:
  MemberExporter(std::unique_ptr<TableWriter> writer, const MaskOptions& mask)
      : writer_(std::move(writer)), mask_(mask) {}
  std::unique_ptr<TableWriter> writer_;
  const MaskOptions mask_;
};

// Exports `members` and returns the file's bytes (written to a temporary file
// under $TMPDIR, read back and removed).
absl::StatusOr<std::string> ExportMembersToBytes(
    absl::Span<const v1::Member> members, const ExportOptions& options);

}  // namespace unionsync::ingest

#endif  // UNIONSYNC_INGEST_WRITER_H_
