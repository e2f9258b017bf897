// Internal helpers of the ingest library; not part of its API.
#ifndef UNIONSYNC_INGEST_INTERNAL_H_
#define UNIONSYNC_INGEST_INTERNAL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ingest/table.h"

namespace unionsync::ingest::internal {

// Length of the longest prefix of [p, p+n) made of complete, well-formed UTF-8
// sequences (RFC 3629). *bad is set when the byte after the prefix starts an
// ill-formed sequence; otherwise the rest (at most 3 bytes) is an incomplete
// sequence that may complete with more input.
size_t ValidUtf8Prefix(const char* p, size_t n, bool* bad);

// A glibc iconv conversion descriptor.
class Iconv {
 public:
  // E.g. Iconv::Open("UTF-8", "GB18030").
  static absl::StatusOr<std::unique_ptr<Iconv>> Open(const char* to,
                                                     const char* from);
  ~Iconv();
  Iconv(const Iconv&) = delete;
  Iconv& operator=(const Iconv&) = delete;

  enum class Result { kOk, kIncomplete, kInvalid };
  // Converts as much of [*in, *in + *in_left) as possible, appending to *out;
  // advances *in. kIncomplete: the input ends inside a character (the rest is
  // left); kInvalid: *in points at bytes that are not a character of the
  // source encoding.
  Result Convert(const char** in, size_t* in_left, std::string* out);

 private:
  explicit Iconv(void* cd) : cd_(cd) {}
  void* cd_;
};

// The iconv name of an encoding ("UTF-8", "GBK", "GB18030").
const char* IconvName(TextEncoding encoding);

// Converts UTF-8 text to `encoding` (UTF-8 is returned unchanged). Characters
// the target cannot represent are INVALID_ARGUMENT.
absl::StatusOr<std::string> FromUtf8(absl::string_view utf8,
                                     TextEncoding encoding);

// Reads bytes sequentially from a file or memory.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Up to `n` bytes into `buf`; 0 at the end.
  virtual absl::StatusOr<size_t> Read(char* buf, size_t n) = 0;
};
absl::StatusOr<std::unique_ptr<ByteSource>> FileSource(const std::string& path);
std::unique_ptr<ByteSource> MemorySource(absl::string_view bytes);

// Opens the CSV / XLSX readers (csv_reader.cc, xlsx_reader.cc). The first
// bytes of a CSV file have been read already into `head` by the caller.
absl::StatusOr<std::unique_ptr<TableReader>> OpenCsv(
    std::unique_ptr<ByteSource> source, const ReaderOptions& options);
// `path` or `bytes` (one of them empty).
absl::StatusOr<std::unique_ptr<TableReader>> OpenXlsx(
    const std::string& path, absl::string_view bytes,
    const ReaderOptions& options);

// The fingerprint line a CSV export starts with: "# 导出指纹: <fingerprint>".
inline constexpr absl::string_view kFingerprintPrefix = "# 导出指纹:";
// The XLSX custom document property holding the fingerprint.
inline constexpr absl::string_view kFingerprintProperty = "导出指纹";

// "A", "B", ..., "Z", "AA", ... for a 0-based column index.
std::string ColumnLetters(size_t index);

// Values a spreadsheet would take for a formula (starting with = + - @) get a
// leading apostrophe, and so do values that start with one (so that the
// reader's UnescapeFormula restores every value exactly).
std::string EscapeFormula(absl::string_view value);
// The inverse: drops a leading apostrophe followed by = + - @ or '.
absl::string_view UnescapeFormula(absl::string_view value);

// Appends `value` as one RFC 4180 field (quoted when it holds a comma, quote,
// CR or LF or starts or ends with white space).
void AppendCsvField(absl::string_view value, std::string* out);

}  // namespace unionsync::ingest::internal

#endif  // UNIONSYNC_INGEST_INTERNAL_H_
