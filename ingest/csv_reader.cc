// Streaming RFC 4180 CSV reader: raw bytes are read in 64 KiB chunks, decoded
// to UTF-8 (validated, or converted from GBK / GB18030 with iconv) into a
// buffer of at most about twice that, and parsed one record at a time.
#include <cstring>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "ingest/internal.h"
#include "ingest/table.h"

namespace unionsync::ingest::internal {
namespace {

constexpr size_t kChunk = 64 * 1024;
constexpr size_t kCarry = 8;  // Room for an incomplete character.

class CsvReader final : public TableReader {
 public:
  CsvReader(std::unique_ptr<ByteSource> source, const ReaderOptions& options)
      : source_(std::move(source)),
        limits_(options.limits),
        requested_(options.encoding),
        raw_(new char[kChunk + kCarry]) {}

  absl::Status Init();
  absl::StatusOr<const Row*> Next() override;
  const std::string& fingerprint() const override { return fingerprint_; }
  size_t BytesHeld() const override {
    return kChunk + kCarry + text_.capacity() + row_.BytesHeld() +
           fingerprint_.capacity();
  }

 private:
  size_t RawSize() const { return raw_end_ - raw_begin_; }
  absl::Status ReadRaw();
  absl::Status Fill();
  void Decode();
  absl::Status DecodeError(int64_t row) const;
  absl::StatusOr<bool> ParseRecord();
  absl::Status Append(size_t col, const char* data, size_t len);

  std::unique_ptr<ByteSource> source_;
  const ReaderLimits limits_;
  const TextEncoding requested_;
  TextEncoding encoding_ = TextEncoding::kUtf8;
  bool detected_ = false;  // encoding_ was detected, not named.
  std::unique_ptr<Iconv> iconv_;

  std::unique_ptr<char[]> raw_;  // Undecoded bytes: [raw_begin_, raw_end_).
  size_t raw_begin_ = 0;
  size_t raw_end_ = 0;
  bool source_eof_ = false;

  std::string text_;  // Decoded UTF-8 not yet parsed: [text_pos_, size()).
  size_t text_pos_ = 0;
  bool decode_failed_ = false;     // Undecodable bytes follow text_.
  bool decode_truncated_ = false;  // ... because the file ends mid-character.

  bool skip_lf_ = false;  // The last record ended with CR.
  int64_t next_number_ = 1;
  bool first_record_ = true;
  Row row_;
  std::string fingerprint_;
};

absl::Status CsvReader::ReadRaw() {
  if (raw_begin_ > 0) {
    std::memmove(raw_.get(), raw_.get() + raw_begin_, RawSize());
    raw_end_ -= raw_begin_;
    raw_begin_ = 0;
  }
  while (!source_eof_ && raw_end_ < kChunk) {
    ASSIGN_OR_RETURN(const size_t n,
                     source_->Read(raw_.get() + raw_end_, kChunk - raw_end_));
    if (n == 0) source_eof_ = true;
    raw_end_ += n;
  }
  return absl::OkStatus();
}

absl::Status CsvReader::Init() {
  RETURN_IF_ERROR(ReadRaw());
  const absl::string_view head(raw_.get(), raw_end_);
  const bool utf8_bom = absl::StartsWith(head, "\xEF\xBB\xBF");
  if (absl::StartsWith(head, "\xFF\xFE") ||
      absl::StartsWith(head, "\xFE\xFF")) {
    return absl::InvalidArgumentError(
        "文件是 UTF-16（Unicode）编码，不支持；请在 Excel 或 WPS 中另存为“CSV "
        "UTF-8”"
        "或 GBK 编码的 CSV 后再导入");
  }
  if (head.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        "文件含有空字节，不是文本格式的 CSV 文件（可能是 UTF-16 "
        "编码或其他二进制"
        "文件）；请另存为“CSV UTF-8”或 GBK 编码的 CSV");
  }
  switch (requested_) {
    case TextEncoding::kAuto:
      if (utf8_bom) {
        encoding_ = TextEncoding::kUtf8;
      } else {
        bool bad;
        ValidUtf8Prefix(head.data(), head.size(), &bad);
        encoding_ = bad ? TextEncoding::kGb18030 : TextEncoding::kUtf8;
      }
      detected_ = true;
      break;
    case TextEncoding::kGbk:
    case TextEncoding::kGb18030:
      if (utf8_bom) {
        return absl::InvalidArgumentError(absl::StrCat(
            "文件开头带有 UTF-8 编码标记（BOM），但指定的编码是 ",
            EncodingName(requested_), "；请选择 UTF-8 编码或自动识别"));
      }
      encoding_ = requested_;
      break;
    case TextEncoding::kUtf8:
      encoding_ = TextEncoding::kUtf8;
      break;
  }
  if (utf8_bom && encoding_ == TextEncoding::kUtf8) raw_begin_ = 3;
  if (encoding_ != TextEncoding::kUtf8) {
    ASSIGN_OR_RETURN(iconv_, Iconv::Open("UTF-8", IconvName(encoding_)));
  }
  text_.reserve(2 * kChunk + 16);
  return absl::OkStatus();
}

void CsvReader::Decode() {
  const char* p = raw_.get() + raw_begin_;
  size_t n = RawSize();
  if (encoding_ == TextEncoding::kUtf8) {
    bool bad;
    const size_t k = ValidUtf8Prefix(p, n, &bad);
    text_.append(p, k);
    raw_begin_ += k;
    if (bad) decode_failed_ = true;
  } else {
    const Iconv::Result r = iconv_->Convert(&p, &n, &text_);
    raw_begin_ = p - raw_.get();
    if (r == Iconv::Result::kInvalid) decode_failed_ = true;
  }
  if (!decode_failed_ && source_eof_ && RawSize() > 0) {
    decode_failed_ = true;
    decode_truncated_ = true;
  }
}

absl::Status CsvReader::Fill() {
  text_.clear();
  text_pos_ = 0;
  while (text_.empty() && !decode_failed_) {
    if (RawSize() < kCarry && !source_eof_) RETURN_IF_ERROR(ReadRaw());
    if (RawSize() == 0) return absl::OkStatus();  // End of file.
    Decode();
    if (text_.empty() && !source_eof_) RETURN_IF_ERROR(ReadRaw());
  }
  return absl::OkStatus();
}

absl::Status CsvReader::DecodeError(int64_t row) const {
  const absl::string_view enc = EncodingName(encoding_);
  if (decode_truncated_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "第", row, "行：文件在一个字符的中间结束，文件可能不完整，或编码不是 ",
        enc, "；请确认文件编码后重新导出"));
  }
  if (detected_ && encoding_ == TextEncoding::kUtf8) {
    return absl::InvalidArgumentError(absl::StrCat(
        "第", row,
        "行含有不是 UTF-8 编码的字节：文件前面的部分是 UTF-8 编码，这里却不是，"
        "文件可能混用了编码；请把整个文件另存为“CSV UTF-8”或 GBK "
        "编码后再导入"));
  }
  if (detected_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "第", row,
        "行含有既不是 UTF-8 也不是 GBK/GB18030 编码的字节；请把文件另存为"
        "“CSV UTF-8”或 GBK 编码后再导入"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "第", row, "行含有不符合 ", enc, " 编码的字节，文件的实际编码可能不是 ",
      enc, "；请选择正确的编码（或自动识别）后重新导入"));
}

absl::Status CsvReader::Append(size_t col, const char* data, size_t len) {
  if (col >= limits_.max_columns) {
    if (len == 0) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("第", next_number_, "行第", col + 1, "列（",
                     ColumnLetters(col), "列）有内容，超过了最多 ",
                     limits_.max_columns, " 列的限制；请删除模板以外的列"));
  }
  Cell* cell = row_.MutableCell(col);
  if (cell->text.size() + len > limits_.max_cell_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "第", next_number_, "行第", col + 1, "列（", ColumnLetters(col),
        "列）的内容超过了单元格 ", limits_.max_cell_bytes,
        " 字节的长度上限；请检查该单元格（可能误粘贴了大段内容或引号不配对）"));
  }
  cell->text.append(data, len);
  return absl::OkStatus();
}

absl::StatusOr<bool> CsvReader::ParseRecord() {
  enum class State { kFieldStart, kUnquoted, kQuoted, kQuoteSeen };
  row_.Reset(next_number_);
  State state = State::kFieldStart;
  size_t col = 0;
  bool any = false;
  while (true) {
    if (text_pos_ == text_.size()) {
      RETURN_IF_ERROR(Fill());
      if (text_.empty()) {
        if (decode_failed_) return DecodeError(next_number_);
        if (!any) return false;
        if (state == State::kQuoted) {
          return absl::InvalidArgumentError(
              absl::StrCat("第", next_number_, "行第", col + 1,
                           "列：引号没有闭合（以英文双引号开始的内容缺少结束的"
                           "双引号），文件到此结束"));
        }
        break;
      }
    }
    if (skip_lf_) {
      skip_lf_ = false;
      if (text_[text_pos_] == '\n') {
        ++text_pos_;
        continue;
      }
    }
    any = true;
    const char* const data = text_.data();
    const size_t size = text_.size();
    bool end_of_record = false;
    switch (state) {
      case State::kFieldStart:
        if (data[text_pos_] == '"') {
          ++text_pos_;
          state = State::kQuoted;
          RETURN_IF_ERROR(Append(col, data, 0));
          break;
        }
        state = State::kUnquoted;
        [[fallthrough]];
      case State::kUnquoted: {
        size_t end = text_pos_;
        while (end < size && data[end] != ',' && data[end] != '\n' &&
               data[end] != '\r') {
          ++end;
        }
        RETURN_IF_ERROR(Append(col, data + text_pos_, end - text_pos_));
        text_pos_ = end;
        if (end == size) break;
        const char c = data[end];
        ++text_pos_;
        if (c == ',') {
          ++col;
          state = State::kFieldStart;
        } else {
          skip_lf_ = c == '\r';
          end_of_record = true;
        }
        break;
      }
      case State::kQuoted: {
        const void* q = std::memchr(data + text_pos_, '"', size - text_pos_);
        const size_t end =
            q == nullptr ? size : static_cast<const char*>(q) - data;
        RETURN_IF_ERROR(Append(col, data + text_pos_, end - text_pos_));
        text_pos_ = end;
        if (end < size) {
          ++text_pos_;
          state = State::kQuoteSeen;
        }
        break;
      }
      case State::kQuoteSeen: {
        const char c = data[text_pos_++];
        if (c == '"') {
          RETURN_IF_ERROR(Append(col, "\"", 1));
          state = State::kQuoted;
        } else if (c == ',') {
          ++col;
          state = State::kFieldStart;
        } else if (c == '\n' || c == '\r') {
          skip_lf_ = c == '\r';
          end_of_record = true;
        } else {
          return absl::InvalidArgumentError(absl::StrCat(
              "第", next_number_, "行第", col + 1, "列（", ColumnLetters(col),
              "列）：结束的双引号后面紧跟着其他字符，引号不配对；内容中的双引号"
              "应写成两个双引号"));
        }
        break;
      }
    }
    if (end_of_record) break;
  }
  row_.TrimTrailingEmpty();
  if (next_number_ > limits_.max_rows) {
    return absl::InvalidArgumentError(absl::StrCat(
        "文件超过了最多 ", limits_.max_rows, " 行的限制；请分成多个文件导入"));
  }
  return true;
}

absl::StatusOr<const Row*> CsvReader::Next() {
  while (true) {
    ASSIGN_OR_RETURN(const bool got, ParseRecord());
    if (!got) return nullptr;
    ++next_number_;
    if (first_record_) {
      first_record_ = false;
      const absl::string_view first = row_.text(0);
      if (absl::StartsWith(first, kFingerprintPrefix)) {
        fingerprint_ = std::string(absl::StripAsciiWhitespace(
            first.substr(kFingerprintPrefix.size())));
        continue;
      }
    }
    return &row_;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<TableReader>> OpenCsv(
    std::unique_ptr<ByteSource> source, const ReaderOptions& options) {
  auto reader = std::make_unique<CsvReader>(std::move(source), options);
  RETURN_IF_ERROR(reader->Init());
  return std::unique_ptr<TableReader>(std::move(reader));
}

}  // namespace unionsync::ingest::internal
