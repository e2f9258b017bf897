// CSV writing, member export and the temporary-file plumbing; XLSX writing is
// in xlsx_writer.cc.
#include "ingest/writer.h"

#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/mask.h"
#include "common/status_macros.h"
#include "ingest/internal.h"
#include "ingest/template.h"
#include "ingest/xlsx_writer.h"
#include "unionsync/v1/model.pb.h"

namespace unionsync::ingest {
namespace {

class CsvTableWriter final : public TableWriter {
 public:
  CsvTableWriter(FILE* f, const TemplateSpec& spec, TextEncoding encoding)
      : f_(f), spec_(spec), encoding_(encoding) {}
  ~CsvTableWriter() override {
    if (f_ != nullptr) std::fclose(f_);
  }

  absl::Status Start(absl::string_view fingerprint) {
    if (encoding_ != TextEncoding::kUtf8) {
      ASSIGN_OR_RETURN(iconv_, internal::Iconv::Open(
                                   internal::IconvName(encoding_), "UTF-8"));
    } else {
      RETURN_IF_ERROR(Write("\xEF\xBB\xBF"));
    }
    if (!fingerprint.empty()) {
      line_.clear();
      internal::AppendCsvField(
          absl::StrCat(internal::kFingerprintPrefix, " ", fingerprint), &line_);
      line_.append("\r\n");
      RETURN_IF_ERROR(WriteLine(1));
    }
    line_.clear();
    for (size_t i = 0; i < spec_.columns.size(); ++i) {
      if (i > 0) line_.push_back(',');
      internal::AppendCsvField(spec_.columns[i].header, &line_);
    }
    line_.append("\r\n");
    return WriteLine(0);
  }

  absl::Status AddRow(absl::Span<const std::string> cells) override {
    if (cells.size() != spec_.columns.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("AddRow: ", cells.size(), " cells for ",
                       spec_.columns.size(), " columns"));
    }
    line_.clear();
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) line_.push_back(',');
      internal::AppendCsvField(internal::EscapeFormula(cells[i]), &line_);
    }
    line_.append("\r\n");
    return WriteLine(++rows_);
  }

  absl::Status Finish() override {
    FILE* f = f_;
    f_ = nullptr;
    if (f == nullptr || std::fclose(f) != 0) {
      return absl::InternalError("写入 CSV 文件失败");
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Write(absl::string_view bytes) {
    if (f_ == nullptr ||
        std::fwrite(bytes.data(), 1, bytes.size(), f_) != bytes.size()) {
      return absl::InternalError(
          absl::StrCat("写入 CSV 文件失败: ", strerror(errno)));
    }
    return absl::OkStatus();
  }

  // Writes line_ in the target encoding; `row` names a data row in errors.
  absl::Status WriteLine(int64_t row) {
    if (iconv_ == nullptr) return Write(line_);
    encoded_.clear();
    const char* in = line_.data();
    size_t left = line_.size();
    if (iconv_->Convert(&in, &left, &encoded_) !=
        internal::Iconv::Result::kOk) {
      return absl::InvalidArgumentError(absl::StrCat(
          "第", row, "条数据含有 ", EncodingName(encoding_),
          " 编码无法表示的字符（如生僻字），请改用 UTF-8 编码导出"));
    }
    return Write(encoded_);
  }

  FILE* f_;
  const TemplateSpec& spec_;
  const TextEncoding encoding_;
  std::unique_ptr<internal::Iconv> iconv_;
  std::string line_, encoded_;
  int64_t rows_ = 0;
};

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return absl::InternalError(absl::StrCat("无法读取 ", path));
  std::string out;
  char buf[64 * 1024];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  const bool err = std::ferror(f) != 0;
  std::fclose(f);
  if (err) return absl::InternalError(absl::StrCat("无法读取 ", path));
  return out;
}

// A temporary file path that is removed when this goes out of scope.
class TempPath {
 public:
  static absl::StatusOr<TempPath> Create() {
    const char* dir = getenv("TMPDIR");
    std::string tmpl =
        absl::StrCat(dir != nullptr && *dir != '\0' ? dir : "/tmp",
                     "/unionsync-ingest-XXXXXX");
    const int fd = mkstemp(tmpl.data());
    if (fd < 0) {
      return absl::InternalError(
          absl::StrCat("无法创建临时文件: ", strerror(errno)));
    }
    close(fd);
    return TempPath(std::move(tmpl));
  }
  TempPath(TempPath&& other) : path_(std::move(other.path_)) {
    other.path_.clear();
  }
  ~TempPath() {
    if (!path_.empty()) unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  explicit TempPath(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

absl::string_view EnumText(absl::Span<const absl::string_view> values,
                           int value) {
  return value >= 1 && value <= static_cast<int>(values.size())
             ? values[value - 1]
             : absl::string_view();
}

}  // namespace

absl::StatusOr<std::unique_ptr<TableWriter>> TableWriter::Create(
    const std::string& path, const TemplateSpec& spec,
    const WriteOptions& options) {
  if (options.format != FileFormat::kCsv) {
    return internal::CreateXlsxWriter(path, spec, options);
  }
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return absl::InternalError(
        absl::StrCat("无法创建 ", path, ": ", strerror(errno)));
  }
  const TextEncoding encoding = options.encoding == TextEncoding::kAuto
                                    ? TextEncoding::kUtf8
                                    : options.encoding;
  auto writer = std::make_unique<CsvTableWriter>(f, spec, encoding);
  RETURN_IF_ERROR(writer->Start(options.fingerprint));
  return std::unique_ptr<TableWriter>(std::move(writer));
}

absl::Status WriteTemplate(const TemplateSpec& spec, const std::string& path,
                           const WriteOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<TableWriter> w,
                   TableWriter::Create(path, spec, options));
  return w->Finish();
}

absl::StatusOr<std::string> TemplateBytes(const TemplateSpec& spec,
                                          const WriteOptions& options) {
  ASSIGN_OR_RETURN(TempPath tmp, TempPath::Create());
  RETURN_IF_ERROR(WriteTemplate(spec, tmp.path(), options));
  return ReadFile(tmp.path());
}

std::vector<std::string> MemberToCells(const v1::Member& m,
                                       const MaskOptions& mask) {
  const TemplateSpec& spec = MemberTemplate();
  std::vector<std::string> cells;
  cells.reserve(spec.columns.size());
  for (const ColumnSpec& c : spec.columns) {
    std::string v;
    switch (c.field) {
      case Field::kName:
        v = m.name();
        break;
      case Field::kGender:
        v = std::string(EnumText(GenderValues(), m.gender()));
        break;
      case Field::kEthnicity:
        v = m.ethnicity();
        break;
      case Field::kIdNumber:
        v = mask.id_number ? MaskIdNumber(m.id_number()) : m.id_number();
        break;
      case Field::kPhone:
        v = mask.phone && !m.phone().empty() ? MaskPhone(m.phone()) : m.phone();
        break;
      case Field::kEducation:
        v = std::string(EnumText(EducationValues(), m.education()));
        break;
      case Field::kWorkplace:
        v = m.workplace();
        break;
      case Field::kJoinDate:
        v = m.join_date();
        break;
      case Field::kCardNumber:
        v = m.card_number();
        break;
      case Field::kMigrantWorker:
        v = m.migrant_worker() ? "是" : "否";
        break;
      case Field::kDuesStatus:
        v = std::string(EnumText(DuesValues(), m.dues_status()));
        break;
      default:
        break;
    }
    cells.push_back(std::move(v));
  }
  return cells;
}

absl::StatusOr<std::unique_ptr<MemberExporter>> MemberExporter::Create(
    const std::string& path, const ExportOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<TableWriter> writer,
                   TableWriter::Create(path, MemberTemplate(), options.file));
  return std::unique_ptr<MemberExporter>(
      new MemberExporter(std::move(writer), options.mask));
}

absl::Status MemberExporter::Add(const v1::Member& member) {
  return writer_->AddRow(MemberToCells(member, mask_));
}

absl::Status MemberExporter::Finish() { return writer_->Finish(); }

absl::StatusOr<std::string> ExportMembersToBytes(
    absl::Span<const v1::Member> members, const ExportOptions& options) {
  ASSIGN_OR_RETURN(TempPath tmp, TempPath::Create());
  ASSIGN_OR_RETURN(std::unique_ptr<MemberExporter> exporter,
                   MemberExporter::Create(tmp.path(), options));
  for (const v1::Member& m : members) RETURN_IF_ERROR(exporter->Add(m));
  RETURN_IF_ERROR(exporter->Finish());
  return ReadFile(tmp.path());
}

}  // namespace unionsync::ingest
