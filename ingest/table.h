// Streaming readers for the spreadsheet files union clerks upload (R5): CSV in
// UTF-8 (with or without BOM), GBK or GB18030, and XLSX. A reader yields one
// row at a time with the row number the clerk sees in the spreadsheet
// (1-based, the header is row 1 unless an export fingerprint line precedes
// it), and never holds the whole file: memory is bounded by the limits below,
// whatever the file size (an XLSX file's shared-string table is the one part
// held whole, bounded by `max_shared_strings_bytes`).
//
// Hostile or broken input (not a zip, a DTD, a formula, a 10 MB cell, invalid
// bytes in the encoding, too many rows or columns, a zip bomb) is
// INVALID_ARGUMENT with a Chinese message a clerk can act on, naming the row
// or cell where there is one. Nothing is returned for a file that fails: the
// caller should validate a whole file before writing any of it.
//
// Thread-safety: a reader is used by one thread at a time; different readers
// share no state and may run concurrently.
#ifndef UNIONSYNC_INGEST_TABLE_H_
#define UNIONSYNC_INGEST_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace unionsync::ingest {

enum class FileFormat {
  kAuto,  // XLSX if the file starts with a zip signature, CSV otherwise.
  kCsv,
  kXlsx,
};

enum class TextEncoding {
  kAuto,  // Reading: BOM, else valid UTF-8, else GB18030. Writing: UTF-8.
  kUtf8,  // Written with a BOM so that Excel and WPS recognise it.
  kGbk,
  kGb18030,
};

// "UTF-8", "GBK", "GB18030" (for messages).
absl::string_view EncodingName(TextEncoding encoding);

// Resource limits; every one is checked before the memory is used.
struct ReaderLimits {
  // Bytes of one cell's text (UTF-8), and of one XML tag.
  size_t max_cell_bytes = 32 * 1024;
  // Columns: a cell with content beyond this is refused (empty styled cells
  // are ignored).
  size_t max_columns = 64;
  // Spreadsheet rows, header included (Excel's own maximum by default).
  int64_t max_rows = 1048576;
  // XLSX: the shared-string table, which must be held whole.
  size_t max_shared_strings_bytes = 64 * 1024 * 1024;
  // XLSX: bytes decompressed from all parts together (zip bombs).
  uint64_t max_uncompressed_bytes = uint64_t{1} << 30;
  // XLSX: decompressed / compressed bytes of one part, checked once the part
  // has produced more than 1 MiB. Excel's XML compresses about 10-30 times.
  uint32_t max_compression_ratio = 200;
};

struct ReaderOptions {
  FileFormat format = FileFormat::kAuto;
  TextEncoding encoding = TextEncoding::kAuto;  // CSV only.
  // XLSX: the sheet to read if the workbook has one of that name (e.g. the
  // template's "会员信息"); otherwise the first visible sheet.
  std::string sheet_name;
  ReaderLimits limits;
};

enum class CellType {
  kText,    // Text (CSV cells are always text), or an empty cell.
  kNumber,  // XLSX number; text() is the literal as stored, e.g. "43617".
  kBool,    // XLSX boolean; text() is "TRUE" or "FALSE".
  kError,   // XLSX error value; text() is e.g. "#N/A".
};

struct Cell {
  CellType type = CellType::kText;
  std::string text;  // UTF-8, as in the file (not trimmed).
};

// One spreadsheet row. Readers reuse the storage of a row for the next one, so
// reading allocates almost nothing per row.
class Row {
 public:
  // The row number the clerk sees (1-based).
  int64_t number() const { return number_; }
  // Number of cells, up to the last non-empty one.
  size_t size() const { return size_; }
  // Cell `i`; an empty text cell when i >= size().
  const Cell& cell(size_t i) const;
  absl::string_view text(size_t i) const { return cell(i).text; }
  // Whether every cell is empty or white space.
  bool IsBlank() const;

  // For readers: starts row `number` with no cells; returns cell `i` (cells
  // before it become empty); drops trailing empty cells.
  void Reset(int64_t number);
  Cell* MutableCell(size_t i);
  void TrimTrailingEmpty();
  // Bytes held by this row's buffers.
  size_t BytesHeld() const;

 private:
  int64_t number_ = 0;
  size_t size_ = 0;
  std::vector<Cell> cells_;  // cells_[0, size_) are this row's.
};

class TableReader {
 public:
  virtual ~TableReader() = default;

  // The next row, or nullptr at the end of the file. The row stays valid until
  // the next call. Rows the file does not contain (XLSX gaps) are skipped;
  // blank rows that it does contain are returned.
  virtual absl::StatusOr<const Row*> Next() = 0;

  // The export fingerprint found in the file ("" if none): the first line
  // "# 导出指纹: ..." of a CSV file (which then does not count as a row
  // returned by Next, though it keeps its row number 1), or the custom
  // document property "导出指纹" of an XLSX file.
  virtual const std::string& fingerprint() const = 0;

  // XLSX: whether the workbook counts dates from 1904 (an old Excel for Mac
  // setting), so that date serials are days since 1904-01-01.
  virtual bool date1904() const { return false; }

  // Bytes currently held by the reader's buffers (rows, decoding and
  // decompression buffers, shared strings). Bounded by the limits whatever the
  // file size; exposed for tests and metrics.
  virtual size_t BytesHeld() const = 0;
};

// Opens a CSV or XLSX file for streaming (the format detected or as named).
absl::StatusOr<std::unique_ptr<TableReader>> OpenTableFile(
    const std::string& path, const ReaderOptions& options = {});

// As above over bytes in memory, which must outlive the reader.
absl::StatusOr<std::unique_ptr<TableReader>> OpenTableBytes(
    absl::string_view bytes, const ReaderOptions& options = {});

// Calls `fn` for every row until the end, an error from the reader or a non-OK
// status from `fn` (returned).
absl::Status ForEachRow(TableReader& reader,
                        absl::FunctionRef<absl::Status(const Row&)> fn);

}  // namespace unionsync::ingest

#endif  // UNIONSYNC_INGEST_TABLE_H_
