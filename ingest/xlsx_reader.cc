// Streaming XLSX reader. The zip is opened with minizip; xl/workbook.xml and
// its relationships name the sheet; xl/sharedStrings.xml is held (bounded);
// the sheet XML is decompressed in 64 KiB chunks and parsed with expat, which
// is suspended at the end of every row so that exactly one row is held.
//
// Defences: any DTD or entity declaration is refused (billion laughs); tags,
// entity references and cells are bounded before expat or we buffer them;
// decompressed bytes are bounded in total and in ratio to the compressed size
// of each part (zip bombs); formulas are refused.
#include <expat.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "ingest/internal.h"
#include "ingest/table.h"
#include "unzip.h"

namespace unionsync::ingest::internal {
namespace {

constexpr size_t kChunk = 64 * 1024;
constexpr uint64_t kRatioFloor = 1 << 20;  // Ratio checked beyond 1 MiB.
constexpr size_t kMaxSheets = 1024;
constexpr size_t kMaxRefBytes = 64;  // An entity or character reference.

absl::Status Invalid(absl::string_view msg) {
  return absl::InvalidArgumentError(msg);
}

absl::Status NotXlsx() {
  return Invalid(
      "文件不是有效的 XLSX 文件（无法按 zip "
      "格式打开），可能已损坏、不完整或根本不是 "
      "Excel 文件；请在 Excel 或 WPS 中重新另存为 .xlsx 后再导入");
}

absl::Status Corrupt(absl::string_view part) {
  return Invalid(absl::StrCat("XLSX 文件已损坏（部件 ", part,
                              " 无法解压或校验失败），请重新保存后再导入"));
}

// ---- Zip access ----

// Bytes in memory exposed to minizip through its I/O callbacks.
struct MemFile {
  const char* data = nullptr;
  uint64_t size = 0;
  uint64_t pos = 0;
};

voidpf ZCALLBACK MemOpen(voidpf opaque, const void*, int) { return opaque; }
uLong ZCALLBACK MemRead(voidpf, voidpf stream, void* buf, uLong size) {
  auto* f = static_cast<MemFile*>(stream);
  const uint64_t n = std::min<uint64_t>(size, f->size - f->pos);
  std::memcpy(buf, f->data + f->pos, n);
  f->pos += n;
  return static_cast<uLong>(n);
}
uLong ZCALLBACK MemWrite(voidpf, voidpf, const void*, uLong) { return 0; }
ZPOS64_T ZCALLBACK MemTell(voidpf, voidpf stream) {
  return static_cast<MemFile*>(stream)->pos;
}
long ZCALLBACK MemSeek(voidpf, voidpf stream, ZPOS64_T offset, int origin) {
  auto* f = static_cast<MemFile*>(stream);
  uint64_t base = 0;
  switch (origin) {
    case ZLIB_FILEFUNC_SEEK_CUR:
      base = f->pos;
      break;
    case ZLIB_FILEFUNC_SEEK_END:
      base = f->size;
      break;
    case ZLIB_FILEFUNC_SEEK_SET:
      break;
    default:
      return -1;
  }
  if (offset > f->size || base + offset > f->size) return -1;
  f->pos = base + offset;
  return 0;
}
int ZCALLBACK MemClose(voidpf, voidpf) { return 0; }
int ZCALLBACK MemError(voidpf, voidpf) { return 0; }

class Zip {
 public:
  explicit Zip(const ReaderLimits& limits) : limits_(limits) {}
  ~Zip() {
    if (uf_ != nullptr) {
      if (entry_open_) unzCloseCurrentFile(uf_);
      unzClose(uf_);
    }
  }

  absl::Status Open(const std::string& path, absl::string_view bytes) {
    if (!path.empty()) {
      uf_ = unzOpen64(path.c_str());
    } else {
      mem_.data = bytes.data();
      mem_.size = bytes.size();
      zlib_filefunc64_def funcs = {MemOpen, MemRead,  MemWrite, MemTell,
                                   MemSeek, MemClose, MemError, &mem_};
      uf_ = unzOpen2_64("memory", &funcs);
    }
    if (uf_ == nullptr) return NotXlsx();
    return absl::OkStatus();
  }

  bool Has(const std::string& name) {
    return unzLocateFile(uf_, name.c_str(), 1) == UNZ_OK;
  }

  // Opens entry `name`; NOT_FOUND if the zip has none.
  absl::Status OpenEntry(const std::string& name) {
    if (entry_open_) {
      unzCloseCurrentFile(uf_);
      entry_open_ = false;
    }
    if (unzLocateFile(uf_, name.c_str(), 1) != UNZ_OK) {
      return absl::NotFoundError(name);
    }
    unz_file_info64 info;
    if (unzGetCurrentFileInfo64(uf_, &info, nullptr, 0, nullptr, 0, nullptr,
                                0) != UNZ_OK) {
      return Corrupt(name);
    }
    if (info.flag & 1) {
      return Invalid("XLSX 文件设置了打开密码（已加密），请取消密码后再导入");
    }
    entry_name_ = name;
    entry_compressed_ = std::max<uint64_t>(info.compressed_size, 1);
    entry_out_ = 0;
    // Refuse early on what the zip declares; what is actually inflated is
    // counted in Read whatever the declaration says.
    RETURN_IF_ERROR(CheckSizes(info.uncompressed_size));
    if (unzOpenCurrentFile(uf_) != UNZ_OK) return Corrupt(name);
    entry_open_ = true;
    return absl::OkStatus();
  }

  // Up to `n` bytes of the open entry; 0 at its end (after the CRC check).
  absl::StatusOr<size_t> Read(char* buf, size_t n) {
    if (!entry_open_) return 0;
    const int r = unzReadCurrentFile(uf_, buf, static_cast<unsigned>(n));
    if (r < 0) return Corrupt(entry_name_);
    if (r == 0) {
      entry_open_ = false;
      if (unzCloseCurrentFile(uf_) != UNZ_OK) return Corrupt(entry_name_);
      return 0;
    }
    entry_out_ += r;
    total_out_ += r;
    RETURN_IF_ERROR(CheckSizes(entry_out_));
    return static_cast<size_t>(r);
  }

 private:
  absl::Status CheckSizes(uint64_t entry_bytes) const {
    if (total_out_ > limits_.max_uncompressed_bytes ||
        entry_bytes > limits_.max_uncompressed_bytes) {
      return Invalid(absl::StrCat(
          "XLSX 文件解压后超过 ", limits_.max_uncompressed_bytes >> 20,
          " MiB 的上限（部件 ", entry_name_,
          "），可能是恶意构造的“压缩炸弹”文件，已拒绝"));
    }
    if (entry_bytes > kRatioFloor &&
        entry_bytes / entry_compressed_ > limits_.max_compression_ratio) {
      return Invalid(
          absl::StrCat("XLSX 文件的部件 ", entry_name_, " 压缩比异常（超过 ",
                       limits_.max_compression_ratio,
                       " 倍），可能是恶意构造的“压缩炸弹”文件，已拒绝"));
    }
    return absl::OkStatus();
  }

  const ReaderLimits limits_;
  unzFile uf_ = nullptr;
  MemFile mem_;
  bool entry_open_ = false;
  std::string entry_name_;
  uint64_t entry_compressed_ = 1;
  uint64_t entry_out_ = 0;
  uint64_t total_out_ = 0;
};

// ---- XML over expat ----

absl::string_view LocalName(const XML_Char* name) {
  absl::string_view s(name);
  const size_t colon = s.rfind(':');
  return colon == absl::string_view::npos ? s : s.substr(colon + 1);
}

// The value of the attribute whose local name is `local` ("" if none).
// `prefixed`: only a prefixed one (r:id), as opposed to an unprefixed one.
absl::string_view Attr(const XML_Char** attrs, absl::string_view local,
                       bool prefixed = false) {
  for (int i = 0; attrs[i] != nullptr; i += 2) {
    const absl::string_view name(attrs[i]);
    const bool has_prefix = name.find(':') != absl::string_view::npos;
    if (has_prefix == prefixed && LocalName(attrs[i]) == local) {
      return attrs[i + 1];
    }
  }
  return absl::string_view();
}

// One XML part of the zip, parsed in chunks; subclasses handle elements.
class XmlStream {
 public:
  XmlStream(Zip* zip, const ReaderLimits& limits)
      : zip_(zip), max_tag_(limits.max_cell_bytes + 4096) {
    parser_ = XML_ParserCreate(nullptr);
    XML_SetUserData(parser_, this);
    XML_SetElementHandler(parser_, &XmlStream::StartThunk,
                          &XmlStream::EndThunk);
    XML_SetCharacterDataHandler(parser_, &XmlStream::TextThunk);
    XML_SetStartDoctypeDeclHandler(parser_, &XmlStream::DoctypeThunk);
    XML_SetEntityDeclHandler(parser_, &XmlStream::EntityThunk);
  }
  virtual ~XmlStream() { XML_ParserFree(parser_); }
  XmlStream(const XmlStream&) = delete;
  XmlStream& operator=(const XmlStream&) = delete;

  // Opens `part` and parses it until its end (true) or until a handler calls
  // Suspend (false).
  absl::Status Begin(const std::string& part) {
    part_ = part;
    return zip_->OpenEntry(part);
  }
  absl::StatusOr<bool> Run() {
    while (true) {
      XML_Status st;
      if (suspended_) {
        suspended_ = false;
        st = XML_ResumeParser(parser_);
      } else {
        if (finished_) return true;
        void* buf = XML_GetBuffer(parser_, kChunk);
        if (buf == nullptr) {
          return absl::ResourceExhaustedError("XML 解析缓冲区分配失败");
        }
        ASSIGN_OR_RETURN(const size_t n,
                         zip_->Read(static_cast<char*>(buf), kChunk));
        RETURN_IF_ERROR(Guard(static_cast<const char*>(buf), n));
        final_ = n == 0;
        st = XML_ParseBuffer(parser_, static_cast<int>(n), final_);
      }
      if (!error_.ok()) return error_;
      if (st == XML_STATUS_ERROR) return XmlError();
      if (st == XML_STATUS_SUSPENDED) {
        suspended_ = true;
        return false;
      }
      if (final_) {
        finished_ = true;
        return true;
      }
    }
  }

 protected:
  virtual void OnStart(absl::string_view local, const XML_Char** attrs) = 0;
  virtual void OnEnd(absl::string_view local) = 0;
  virtual void OnText(const char* s, int len) {}

  // For handlers: stop with an error / pause after this event.
  void Fail(absl::Status status) {
    if (error_.ok()) error_ = std::move(status);
    XML_StopParser(parser_, XML_FALSE);
  }
  void Suspend() { XML_StopParser(parser_, XML_TRUE); }
  bool failed() const { return !error_.ok(); }
  const std::string& part() const { return part_; }
  // Context for XML syntax errors (the sheet adds the row).
  virtual std::string Where() const { return ""; }

 private:
  static void StartThunk(void* self, const XML_Char* name,
                         const XML_Char** attrs) {
    auto* s = static_cast<XmlStream*>(self);
    if (!s->failed()) s->OnStart(LocalName(name), attrs);
  }
  static void EndThunk(void* self, const XML_Char* name) {
    auto* s = static_cast<XmlStream*>(self);
    if (!s->failed()) s->OnEnd(LocalName(name));
  }
  static void TextThunk(void* self, const XML_Char* text, int len) {
    auto* s = static_cast<XmlStream*>(self);
    if (!s->failed()) s->OnText(text, len);
  }
  static void DoctypeThunk(void* self, const XML_Char*, const XML_Char*,
                           const XML_Char*, int) {
    auto* s = static_cast<XmlStream*>(self);
    s->Fail(Invalid(absl::StrCat("XLSX 文件的部件 ", s->part_,
                                 " 含有 DTD 声明（<!DOCTYPE>）。Excel 和 WPS "
                                 "保存的文件不会有，为防止“实体"
                                 "膨胀”攻击已拒绝")));
  }
  static void EntityThunk(void* self, const XML_Char*, int, const XML_Char*,
                          int, const XML_Char*, const XML_Char*,
                          const XML_Char*, const XML_Char*) {
    auto* s = static_cast<XmlStream*>(self);
    s->Fail(Invalid(absl::StrCat(
        "XLSX 文件的部件 ", s->part_,
        " 含有实体声明（<!ENTITY>），为防止“实体膨胀”攻击已拒绝")));
  }

  // Bounds what expat would have to buffer whole before reporting it: a tag
  // (with its attributes, comments and CDATA included) and an entity or
  // character reference. Character data is reported in pieces and bounded by
  // the handlers.
  absl::Status Guard(const char* p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      const char c = p[i];
      if (!in_markup_) {
        if (in_ref_) {
          if (c == ';' || c == '<') {
            in_ref_ = false;
          } else if (++ref_len_ > kMaxRefBytes) {
            return Invalid(
                absl::StrCat("XLSX 文件的部件 ", part_, Where(),
                             " 含有过长的实体引用（&...;），文件已损坏"
                             "或是恶意构造的"));
          }
        }
        if (c == '&') {
          in_ref_ = true;
          ref_len_ = 0;
        } else if (c == '<') {
          in_markup_ = true;
          in_ref_ = false;
          markup_len_ = 0;
          quote_ = 0;
        } else if (!in_ref_) {
          // Skip to the next '<' or '&'.
          size_t j = i + 1;
          while (j < n && p[j] != '<' && p[j] != '&') ++j;
          i = j - 1;
        }
        continue;
      }
      if (++markup_len_ > max_tag_) {
        return Invalid(absl::StrCat(
            "XLSX 文件的部件 ", part_, Where(), " 含有超过 ", max_tag_,
            " 字节的标记（标签、属性或注释），超过了单元格长度上限，已拒绝"));
      }
      if (quote_ != 0) {
        if (c == quote_) {
          quote_ = 0;
        } else if (c == '<') {  // Not in an attribute value after all.
          quote_ = 0;
          markup_len_ = 0;
        }
      } else if (c == '"' || c == '\'') {
        quote_ = c;
      } else if (c == '>') {
        in_markup_ = false;
      } else if (c == '<') {
        markup_len_ = 0;
      }
    }
    return absl::OkStatus();
  }

  absl::Status XmlError() const {
    return Invalid(absl::StrCat(
        "XLSX 文件的部件 ", part_, Where(), " 不是格式正确的 XML（第 ",
        XML_GetCurrentLineNumber(parser_), " 行第 ",
        XML_GetCurrentColumnNumber(parser_), " 列：",
        XML_ErrorString(XML_GetErrorCode(parser_)), "），文件可能已损坏"));
  }

  Zip* const zip_;
  const size_t max_tag_;
  XML_Parser parser_;
  std::string part_;
  absl::Status error_;
  bool suspended_ = false;
  bool final_ = false;
  bool finished_ = false;
  // Guard state.
  bool in_markup_ = false;
  char quote_ = 0;
  size_t markup_len_ = 0;
  bool in_ref_ = false;
  size_t ref_len_ = 0;
};

// Parses a small part (workbook, relationships, properties) whole.
absl::Status ParseWhole(XmlStream& stream, const std::string& part) {
  RETURN_IF_ERROR(stream.Begin(part));
  ASSIGN_OR_RETURN(const bool done, stream.Run());
  if (!done) return absl::InternalError("unexpected suspension");
  return absl::OkStatus();
}

struct SheetEntry {
  std::string name;
  std::string rel_id;
  bool hidden = false;
};

class WorkbookParser final : public XmlStream {
 public:
  using XmlStream::XmlStream;
  std::vector<SheetEntry> sheets;
  bool date1904 = false;

 protected:
  void OnStart(absl::string_view local, const XML_Char** attrs) override {
    if (local == "workbookPr") {
      const absl::string_view v = Attr(attrs, "date1904");
      date1904 = v == "1" || v == "true";
    } else if (local == "sheet" && sheets.size() < kMaxSheets) {
      SheetEntry e;
      e.name = std::string(Attr(attrs, "name"));
      e.rel_id = std::string(Attr(attrs, "id", /*prefixed=*/true));
      const absl::string_view state = Attr(attrs, "state");
      e.hidden = state == "hidden" || state == "veryHidden";
      sheets.push_back(std::move(e));
    }
  }
  void OnEnd(absl::string_view) override {}
};

struct Relationship {
  std::string id;
  std::string type;
  std::string target;
};

class RelsParser final : public XmlStream {
 public:
  using XmlStream::XmlStream;
  std::vector<Relationship> rels;

 protected:
  void OnStart(absl::string_view local, const XML_Char** attrs) override {
    if (local != "Relationship" || rels.size() >= 4 * kMaxSheets) return;
    if (Attr(attrs, "TargetMode") == "External") return;
    rels.push_back({std::string(Attr(attrs, "Id")),
                    std::string(Attr(attrs, "Type")),
                    std::string(Attr(attrs, "Target"))});
  }
  void OnEnd(absl::string_view) override {}
};

// docProps/custom.xml: <property name="导出指纹"><vt:lpwstr>...</vt:lpwstr>.
class CustomPropsParser final : public XmlStream {
 public:
  CustomPropsParser(Zip* zip, const ReaderLimits& limits)
      : XmlStream(zip, limits), max_(limits.max_cell_bytes) {}
  std::string fingerprint;

 protected:
  void OnStart(absl::string_view local, const XML_Char** attrs) override {
    if (local == "property") {
      in_fingerprint_ = Attr(attrs, "name") == kFingerprintProperty;
    }
  }
  void OnEnd(absl::string_view local) override {
    if (local == "property") in_fingerprint_ = false;
  }
  void OnText(const char* s, int len) override {
    if (in_fingerprint_ && fingerprint.size() + len <= max_) {
      fingerprint.append(s, len);
    }
  }

 private:
  const size_t max_;
  bool in_fingerprint_ = false;
};

// xl/sharedStrings.xml into one arena; rich-text runs (<r><t>) are joined,
// phonetic runs (<rPh>) skipped.
class SharedStringsParser final : public XmlStream {
 public:
  SharedStringsParser(Zip* zip, const ReaderLimits& limits)
      : XmlStream(zip, limits), limits_(limits) {}
  std::string arena;
  std::vector<uint32_t> ends;  // End offset of string i in `arena`.

 protected:
  void OnStart(absl::string_view local, const XML_Char**) override {
    if (local == "si") {
      in_si_ = true;
      start_ = arena.size();
    } else if (local == "rPh") {
      ++rph_depth_;
    } else if (local == "t" && in_si_ && rph_depth_ == 0) {
      in_t_ = true;
    }
  }
  void OnEnd(absl::string_view local) override {
    if (local == "si") {
      in_si_ = false;
      if (Budget(0)) ends.push_back(static_cast<uint32_t>(arena.size()));
    } else if (local == "rPh") {
      if (rph_depth_ > 0) --rph_depth_;
    } else if (local == "t") {
      in_t_ = false;
    }
  }
  void OnText(const char* s, int len) override {
    if (!in_t_) return;
    if (arena.size() - start_ + len > limits_.max_cell_bytes) {
      Fail(
          Invalid(absl::StrCat("XLSX 文件的共享字符串表中第 ", ends.size() + 1,
                               " 段文字超过了单元格 ", limits_.max_cell_bytes,
                               " 字节的长度上限；请检查是否误粘贴了大段内容")));
      return;
    }
    if (Budget(len)) arena.append(s, len);
  }

 private:
  // Whether `extra` more bytes fit; each string also costs its 4-byte offset.
  bool Budget(size_t extra) {
    if (arena.size() + extra + (ends.size() + 1) * sizeof(uint32_t) <=
        limits_.max_shared_strings_bytes) {
      return true;
    }
    Fail(Invalid(absl::StrCat("XLSX 文件的共享字符串表超过 ",
                              limits_.max_shared_strings_bytes >> 20,
                              " MiB 的上限；请分成多个较小的文件导入")));
    return false;
  }

  const ReaderLimits limits_;
  bool in_si_ = false;
  bool in_t_ = false;
  int rph_depth_ = 0;
  size_t start_ = 0;
};

// Parses "AB12" into the 0-based column index (27); false if not a cell
// reference.
bool ParseCellRef(absl::string_view ref, size_t* col) {
  size_t i = 0, c = 0;
  while (i < ref.size() &&
         absl::ascii_isupper(static_cast<unsigned char>(ref[i]))) {
    c = c * 26 + (ref[i] - 'A' + 1);
    if (++i > 3) return false;  // Excel's last column is XFD.
  }
  if (i == 0) return false;
  for (size_t k = i; k < ref.size(); ++k) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(ref[k]))) return false;
  }
  *col = c - 1;
  return true;
}

// The worksheet, one row per Run.
class SheetParser final : public XmlStream {
 public:
  SheetParser(Zip* zip, const ReaderLimits& limits,
              const SharedStringsParser* strings)
      : XmlStream(zip, limits), limits_(limits), strings_(strings) {}

  Row row;
  bool row_ready = false;
  size_t BytesHeld() const { return row.BytesHeld() + value_.capacity(); }

 protected:
  std::string Where() const override {
    return last_row_ > 0 ? absl::StrCat("（第 ", last_row_, " 行附近）") : "";
  }

  void OnStart(absl::string_view local, const XML_Char** attrs) override {
    if (local == "sheetData") {
      in_data_ = true;
      return;
    }
    if (!in_data_) return;
    if (local == "row") {
      StartRow(attrs);
    } else if (local == "c") {
      StartCell(attrs);
    } else if (!in_cell_) {
      return;
    } else if (local == "f") {
      Fail(
          Invalid(absl::StrCat("单元格 ", CellName(),
                               " 含有公式，不能导入。请选中数据后复制，再用"
                               "“选择性粘贴 → 数值”去掉公式，保存后重新导入")));
    } else if (local == "v") {
      collecting_ = true;
    } else if (local == "is") {
      in_is_ = true;
    } else if (local == "rPh") {
      ++rph_depth_;
    } else if (local == "t" && in_is_ && rph_depth_ == 0) {
      collecting_ = true;
    }
  }

  void OnEnd(absl::string_view local) override {
    if (!in_data_) return;
    if (local == "v" || local == "t") {
      collecting_ = false;
    } else if (local == "rPh") {
      if (rph_depth_ > 0) --rph_depth_;
    } else if (local == "is") {
      in_is_ = false;
    } else if (local == "c") {
      EndCell();
    } else if (local == "row") {
      EndRow();
    } else if (local == "sheetData") {
      in_data_ = false;
    }
  }

  void OnText(const char* s, int len) override {
    if (!collecting_) return;
    if (value_.size() + len > limits_.max_cell_bytes) {
      Fail(Invalid(absl::StrCat(
          "单元格 ", CellName(), " 的内容超过了 ", limits_.max_cell_bytes,
          " 字节的长度上限；请检查该单元格（可能误粘贴了大段内容）")));
      return;
    }
    value_.append(s, len);
  }

 private:
  std::string CellName() const {
    return absl::StrCat(ColumnLetters(col_), row.number());
  }

  void StartRow(const XML_Char** attrs) {
    int64_t number = last_row_ + 1;
    const absl::string_view r = Attr(attrs, "r");
    if (!r.empty() && (r.size() > 9 || !absl::SimpleAtoi(r, &number))) {
      Fail(Invalid(absl::StrCat("工作表中第 ", last_row_ + 1,
                                " 行附近的行号无效，文件可能已损坏")));
      return;
    }
    if (number <= last_row_) {
      Fail(Invalid(absl::StrCat("工作表中的行顺序错误（第 ", number,
                                " 行出现在第 ", last_row_,
                                " 行之后），文件可能已损坏")));
      return;
    }
    last_row_ = number;
    row.Reset(number);
    next_col_ = 0;
    in_row_ = true;
  }

  void StartCell(const XML_Char** attrs) {
    if (!in_row_) {
      Fail(Invalid("工作表中有不在任何行内的单元格，文件已损坏"));
      return;
    }
    size_t col = next_col_;
    const absl::string_view r = Attr(attrs, "r");
    if (!r.empty() && !ParseCellRef(r, &col)) {
      Fail(Invalid(absl::StrCat("第 ", row.number(),
                                " 行有无效的单元格引用，文件可能已损坏")));
      return;
    }
    if (col < next_col_) {
      Fail(Invalid(absl::StrCat("第 ", row.number(),
                                " 行的单元格顺序错误，文件可能已损坏")));
      return;
    }
    col_ = col;
    next_col_ = col + 1;
    // 's' shared string, 'b' boolean, 'e' error, 'n' number, 'i' inline
    // string, 'f' a formula's cached text ("str"), 'd' an ISO 8601 date.
    const absl::string_view t = Attr(attrs, "t");
    type_ = t.empty() || t == "n" ? 'n'
            : t == "s"            ? 's'
            : t == "b"            ? 'b'
            : t == "e"            ? 'e'
            : t == "str"          ? 'f'
            : t == "d"            ? 'd'
                                  : 'i';
    value_.clear();
    in_cell_ = true;
    in_is_ = false;
    rph_depth_ = 0;
  }

  void EndCell() {
    in_cell_ = false;
    collecting_ = false;
    CellType type = CellType::kText;
    absl::string_view text = value_;
    switch (type_) {
      case 's': {  // Shared string.
        size_t index;
        if (value_.empty()) return;
        if (!absl::SimpleAtoi(value_, &index) ||
            index >= strings_->ends.size()) {
          Fail(Invalid(absl::StrCat("单元格 ", CellName(),
                                    " 引用了不存在的共享字符串，文件已损坏")));
          return;
        }
        const size_t begin = index == 0 ? 0 : strings_->ends[index - 1];
        text = absl::string_view(strings_->arena)
                   .substr(begin, strings_->ends[index] - begin);
        break;
      }
      case 'b':
        if (value_.empty()) return;
        type = CellType::kBool;
        text = value_ == "1" || value_ == "true" ? "TRUE" : "FALSE";
        break;
      case 'e':
        type = CellType::kError;
        break;
      case 'n':
        type = CellType::kNumber;
        break;
      default:  // inlineStr, str (a formula's cached text), d (ISO date).
        break;
    }
    if (text.empty()) return;
    if (col_ >= limits_.max_columns) {
      Fail(Invalid(absl::StrCat("单元格 ", CellName(), " 超出了最多 ",
                                limits_.max_columns,
                                " 列的限制；请删除模板以外的列")));
      return;
    }
    Cell* cell = row.MutableCell(col_);
    cell->type = type;
    cell->text.assign(text.data(), text.size());
  }

  void EndRow() {
    in_row_ = false;
    row.TrimTrailingEmpty();
    if (row.number() > limits_.max_rows) {
      if (row.size() == 0) return;  // Formatting only; nothing to import.
      Fail(Invalid(absl::StrCat("工作表超过了最多 ", limits_.max_rows,
                                " 行的限制；请分成多个文件导入")));
      return;
    }
    row_ready = true;
    Suspend();
  }

  const ReaderLimits limits_;
  const SharedStringsParser* const strings_;  // May be null.
  bool in_data_ = false;
  bool in_row_ = false;
  bool in_cell_ = false;
  bool in_is_ = false;
  bool collecting_ = false;
  int rph_depth_ = 0;
  int64_t last_row_ = 0;
  size_t next_col_ = 0;
  size_t col_ = 0;
  char type_ = 'n';
  std::string value_;
};

// "worksheets/sheet1.xml" relative to "xl/", or "/xl/..." absolute.
std::string ResolveTarget(absl::string_view target) {
  std::vector<std::string> parts;
  if (!absl::StartsWith(target, "/")) parts.push_back("xl");
  for (absl::string_view p : absl::StrSplit(target, '/', absl::SkipEmpty())) {
    if (p == ".") continue;
    if (p == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.emplace_back(p);
  }
  std::string out;
  for (const std::string& p : parts) {
    if (!out.empty()) out.push_back('/');
    out += p;
  }
  return out;
}

class XlsxReader final : public TableReader {
 public:
  explicit XlsxReader(const ReaderOptions& options)
      : options_(options), zip_(options.limits) {}

  absl::Status Init(const std::string& path, absl::string_view bytes);

  absl::StatusOr<const Row*> Next() override {
    if (done_) return nullptr;
    sheet_->row_ready = false;
    ASSIGN_OR_RETURN(const bool finished, sheet_->Run());
    if (sheet_->row_ready) return &sheet_->row;
    if (finished) done_ = true;
    return nullptr;
  }
  const std::string& fingerprint() const override { return fingerprint_; }
  bool date1904() const override { return date1904_; }
  size_t BytesHeld() const override {
    size_t n = fingerprint_.capacity() + (sheet_ ? sheet_->BytesHeld() : 0);
    if (strings_ != nullptr) {
      n += strings_->arena.capacity() +
           strings_->ends.capacity() * sizeof(uint32_t);
    }
    // The expat buffer (a chunk plus at most one bounded tag) and zlib's
    // inflate state and window.
    return n + 2 * kChunk + options_.limits.max_cell_bytes + 4096 + 64 * 1024;
  }

 private:
  const ReaderOptions options_;
  Zip zip_;
  std::unique_ptr<SharedStringsParser> strings_;
  std::unique_ptr<SheetParser> sheet_;
  std::string fingerprint_;
  bool date1904_ = false;
  bool done_ = false;
};

absl::Status XlsxReader::Init(const std::string& path,
                              absl::string_view bytes) {
  RETURN_IF_ERROR(zip_.Open(path, bytes));
  const ReaderLimits& limits = options_.limits;

  WorkbookParser workbook(&zip_, limits);
  if (absl::Status s = ParseWhole(workbook, "xl/workbook.xml"); !s.ok()) {
    if (absl::IsNotFound(s)) {
      return Invalid(
          "文件不是有效的 XLSX 文件：找不到 "
          "xl/workbook.xml（文件可能已损坏、不完整，"
          "或只是普通的 zip 压缩包）；请上传 Excel 或 WPS 保存的 .xlsx 文件");
    }
    return s;
  }
  date1904_ = workbook.date1904;
  const SheetEntry* chosen = nullptr;
  for (const SheetEntry& e : workbook.sheets) {
    if (!options_.sheet_name.empty() && e.name == options_.sheet_name) {
      chosen = &e;
      break;
    }
  }
  for (const SheetEntry& e : workbook.sheets) {
    if (chosen == nullptr && !e.hidden) chosen = &e;
  }
  if (chosen == nullptr) {
    return Invalid("XLSX 文件中没有可见的工作表，无法导入");
  }

  RelsParser rels(&zip_, limits);
  if (absl::Status s = ParseWhole(rels, "xl/_rels/workbook.xml.rels");
      !s.ok()) {
    if (absl::IsNotFound(s)) {
      return Invalid(
          "XLSX 文件不完整（缺少 xl/_rels/workbook.xml.rels），找不到工作表；请"
          "重新保存后再导入");
    }
    return s;
  }
  std::string sheet_part, strings_part;
  for (const Relationship& r : rels.rels) {
    if (r.id == chosen->rel_id && absl::EndsWith(r.type, "/worksheet")) {
      sheet_part = ResolveTarget(r.target);
    }
    if (absl::EndsWith(r.type, "/sharedStrings")) {
      strings_part = ResolveTarget(r.target);
    }
  }
  const std::string missing_sheet = absl::StrCat(
      "XLSX 文件中找不到工作表“", chosen->name,
      "”的数据（可能是图表页或文件不完整）；请确认第一个工作表是数据表");
  if (sheet_part.empty() || !zip_.Has(sheet_part))
    return Invalid(missing_sheet);
  if (strings_part.empty() && zip_.Has("xl/sharedStrings.xml")) {
    strings_part = "xl/sharedStrings.xml";
  }
  if (!strings_part.empty() && zip_.Has(strings_part)) {
    strings_ = std::make_unique<SharedStringsParser>(&zip_, limits);
    RETURN_IF_ERROR(ParseWhole(*strings_, strings_part));
  }
  if (zip_.Has("docProps/custom.xml")) {
    CustomPropsParser props(&zip_, limits);
    RETURN_IF_ERROR(ParseWhole(props, "docProps/custom.xml"));
    fingerprint_ = std::string(absl::StripAsciiWhitespace(props.fingerprint));
  }
  sheet_ = std::make_unique<SheetParser>(&zip_, limits, strings_.get());
  if (absl::Status s = sheet_->Begin(sheet_part); !s.ok()) {
    return absl::IsNotFound(s) ? Invalid(missing_sheet) : s;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<TableReader>> OpenXlsx(
    const std::string& path, absl::string_view bytes,
    const ReaderOptions& options) {
  auto reader = std::make_unique<XlsxReader>(options);
  RETURN_IF_ERROR(reader->Init(path, bytes));
  return std::unique_ptr<TableReader>(std::move(reader));
}

}  // namespace unionsync::ingest::internal
