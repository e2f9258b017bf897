#include "ingest/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "ingest/table.h"

namespace unionsync::ingest::internal {

size_t ValidUtf8Prefix(const char* p, size_t n, bool* bad) {
  *bad = false;
  const auto* s = reinterpret_cast<const unsigned char*>(p);
  size_t i = 0;
  while (i < n) {
    // ASCII runs, 8 bytes at a time.
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, s + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    const unsigned char b0 = s[i];
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3;
      if (b0 == 0xE0) lo = 0xA0;  // Overlong.
      if (b0 == 0xED) hi = 0x9F;  // Surrogates.
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4;
      if (b0 == 0xF0) lo = 0x90;  // Overlong.
      if (b0 == 0xF4) hi = 0x8F;  // Above U+10FFFF.
    } else {
      *bad = true;
      return i;
    }
    for (size_t k = 1; k < len; ++k) {
      if (i + k >= n) return i;  // Incomplete: may continue in the next chunk.
      const unsigned char b = s[i + k];
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) {
        *bad = true;
        return i;
      }
    }
    i += len;
  }
  return i;
}

absl::StatusOr<std::unique_ptr<Iconv>> Iconv::Open(const char* to,
                                                   const char* from) {
  iconv_t cd = iconv_open(to, from);
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    return absl::InternalError(
        absl::StrCat("iconv_open(", to, ", ", from, "): ", strerror(errno)));
  }
  return std::unique_ptr<Iconv>(new Iconv(cd));
}

Iconv::~Iconv() { iconv_close(static_cast<iconv_t>(cd_)); }

Iconv::Result Iconv::Convert(const char** in, size_t* in_left,
                             std::string* out) {
  while (*in_left > 0) {
    const size_t old = out->size();
    const size_t room = *in_left * 2 + 16;
    out->resize(old + room);
    char* dst = out->data() + old;
    size_t dst_left = room;
    char* src = const_cast<char*>(*in);
    const size_t rc =
        iconv(static_cast<iconv_t>(cd_), &src, in_left, &dst, &dst_left);
    const int err = errno;
    *in = src;
    out->resize(old + (room - dst_left));
    if (rc != static_cast<size_t>(-1)) return Result::kOk;
    if (err == E2BIG) continue;
    if (err == EINVAL) return Result::kIncomplete;
    return Result::kInvalid;
  }
  return Result::kOk;
}

const char* IconvName(TextEncoding encoding) {
  switch (encoding) {
    case TextEncoding::kGbk:
      return "GBK";
    case TextEncoding::kGb18030:
      return "GB18030";
    default:
      return "UTF-8";
  }
}

absl::StatusOr<std::string> FromUtf8(absl::string_view utf8,
                                     TextEncoding encoding) {
  if (encoding == TextEncoding::kUtf8 || encoding == TextEncoding::kAuto) {
    return std::string(utf8);
  }
  auto cd = Iconv::Open(IconvName(encoding), "UTF-8");
  if (!cd.ok()) return cd.status();
  std::string out;
  const char* in = utf8.data();
  size_t left = utf8.size();
  if ((*cd)->Convert(&in, &left, &out) != Iconv::Result::kOk) {
    return absl::InvalidArgumentError(
        absl::StrCat("内容含有 ", EncodingName(encoding),
                     " 编码无法表示的字符（如生僻字），请改用 UTF-8 编码导出"));
  }
  return out;
}

namespace {

class FdSource final : public ByteSource {
 public:
  explicit FdSource(int fd) : fd_(fd) {}
  ~FdSource() override { close(fd_); }
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    while (true) {
      const ssize_t r = read(fd_, buf, n);
      if (r >= 0) return static_cast<size_t>(r);
      if (errno == EINTR) continue;
      return absl::InternalError(
          absl::StrCat("读取文件失败: ", strerror(errno)));
    }
  }

 private:
  int fd_;
};

class MemSource final : public ByteSource {
 public:
  explicit MemSource(absl::string_view bytes) : bytes_(bytes) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    const size_t k = std::min(n, bytes_.size());
    std::memcpy(buf, bytes_.data(), k);
    bytes_.remove_prefix(k);
    return k;
  }

 private:
  absl::string_view bytes_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ByteSource>> FileSource(
    const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    const std::string msg =
        absl::StrCat("无法打开文件 ", path, ": ", strerror(err));
    return err == ENOENT ? absl::NotFoundError(msg)
                         : absl::InvalidArgumentError(msg);
  }
  return std::unique_ptr<ByteSource>(new FdSource(fd));
}

std::unique_ptr<ByteSource> MemorySource(absl::string_view bytes) {
  return std::make_unique<MemSource>(bytes);
}

std::string ColumnLetters(size_t index) {
  std::string s;
  size_t n = index + 1;
  while (n > 0) {
    const size_t r = (n - 1) % 26;
    s.insert(s.begin(), static_cast<char>('A' + r));
    n = (n - 1) / 26;
  }
  return s;
}

namespace {
bool IsFormulaStart(char c) {
  return c == '=' || c == '+' || c == '-' || c == '@';
}
}  // namespace

std::string EscapeFormula(absl::string_view value) {
  if (!value.empty() && (IsFormulaStart(value[0]) || value[0] == '\'')) {
    return absl::StrCat("'", value);
  }
  return std::string(value);
}

absl::string_view UnescapeFormula(absl::string_view value) {
  if (value.size() >= 2 && value[0] == '\'' &&
      (IsFormulaStart(value[1]) || value[1] == '\'')) {
    value.remove_prefix(1);
  }
  return value;
}

void AppendCsvField(absl::string_view value, std::string* out) {
  bool quote = !value.empty() && (value.front() == ' ' || value.back() == ' ');
  for (char c : value) {
    if (c == ',' || c == '"' || c == '\r' || c == '\n') {
      quote = true;
      break;
    }
  }
  if (!quote) {
    out->append(value.data(), value.size());
    return;
  }
  out->push_back('"');
  for (char c : value) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

}  // namespace unionsync::ingest::internal
