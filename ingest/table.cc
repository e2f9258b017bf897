#include "ingest/table.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "ingest/internal.h"

namespace unionsync::ingest {
namespace {

const Cell& EmptyCell() {
  static const Cell* const kEmpty = new Cell();
  return *kEmpty;
}

bool IsZipMagic(absl::string_view head) {
  return head.size() >= 4 &&
         head.substr(0, 4) == absl::string_view("PK\x03\x04", 4);
}

// Legacy Excel 97-2003 (.xls), a compound file.
bool IsOleMagic(absl::string_view head) {
  return head.size() >= 8 &&
         head.substr(0, 8) ==
             absl::string_view("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8);
}

absl::StatusOr<FileFormat> DetectFormat(absl::string_view head,
                                        FileFormat requested) {
  if (IsOleMagic(head)) {
    return absl::InvalidArgumentError(
        "不支持旧版 Excel 97-2003（.xls）文件，请在 Excel 或 WPS 中另存为 "
        ".xlsx "
        "或 CSV 后再导入");
  }
  if (requested != FileFormat::kAuto) return requested;
  return IsZipMagic(head) ? FileFormat::kXlsx : FileFormat::kCsv;
}

}  // namespace

absl::string_view EncodingName(TextEncoding encoding) {
  switch (encoding) {
    case TextEncoding::kGbk:
      return "GBK";
    case TextEncoding::kGb18030:
      return "GB18030";
    case TextEncoding::kUtf8:
      return "UTF-8";
    default:
      return "自动识别";
  }
}

const Cell& Row::cell(size_t i) const {
  return i < size_ ? cells_[i] : EmptyCell();
}

bool Row::IsBlank() const {
  for (size_t i = 0; i < size_; ++i) {
    for (char c : cells_[i].text) {
      if (!absl::ascii_isspace(static_cast<unsigned char>(c))) return false;
    }
  }
  return true;
}

void Row::Reset(int64_t number) {
  number_ = number;
  for (size_t i = 0; i < size_; ++i) {
    cells_[i].type = CellType::kText;
    cells_[i].text.clear();
  }
  size_ = 0;
}

Cell* Row::MutableCell(size_t i) {
  if (i >= cells_.size()) cells_.resize(i + 1);
  // Cells between size_ and i are already empty (cleared by Reset).
  if (i >= size_) size_ = i + 1;
  return &cells_[i];
}

void Row::TrimTrailingEmpty() {
  while (size_ > 0 && cells_[size_ - 1].text.empty()) {
    cells_[size_ - 1].type = CellType::kText;
    --size_;
  }
}

size_t Row::BytesHeld() const {
  size_t n = cells_.capacity() * sizeof(Cell);
  for (const Cell& c : cells_) {
    if (c.text.capacity() > 15) n += c.text.capacity();  // Beyond SSO.
  }
  return n;
}

absl::StatusOr<std::unique_ptr<TableReader>> OpenTableFile(
    const std::string& path, const ReaderOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<internal::ByteSource> source,
                   internal::FileSource(path));
  char head[8];
  size_t got = 0;
  while (got < sizeof(head)) {
    ASSIGN_OR_RETURN(const size_t n,
                     source->Read(head + got, sizeof(head) - got));
    if (n == 0) break;
    got += n;
  }
  ASSIGN_OR_RETURN(const FileFormat format,
                   DetectFormat(absl::string_view(head, got), options.format));
  if (format == FileFormat::kXlsx) {
    source.reset();
    return internal::OpenXlsx(path, absl::string_view(), options);
  }
  // Reopen rather than push the head back: cheap, and keeps the source simple.
  ASSIGN_OR_RETURN(source, internal::FileSource(path));
  return internal::OpenCsv(std::move(source), options);
}

absl::StatusOr<std::unique_ptr<TableReader>> OpenTableBytes(
    absl::string_view bytes, const ReaderOptions& options) {
  ASSIGN_OR_RETURN(const FileFormat format,
                   DetectFormat(bytes.substr(0, 8), options.format));
  if (format == FileFormat::kXlsx) {
    if (bytes.empty()) {
      return absl::InvalidArgumentError("文件是空的，不是有效的 XLSX 文件");
    }
    return internal::OpenXlsx("", bytes, options);
  }
  return internal::OpenCsv(internal::MemorySource(bytes), options);
}

absl::Status ForEachRow(TableReader& reader,
                        absl::FunctionRef<absl::Status(const Row&)> fn) {
  while (true) {
    ASSIGN_OR_RETURN(const Row* row, reader.Next());
    if (row == nullptr) return absl::OkStatus();
    RETURN_IF_ERROR(fn(*row));
  }
}

}  // namespace unionsync::ingest
