#include "cli/ingest_cmd.h"

#include <grpcpp/grpcpp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/format.h"
#include "cli/unionctl.h"
#include "common/status_macros.h"
#include "unionsync/v1/ingest.grpc.pb.h"
#include "unionsync/v1/ingest.pb.h"

namespace unionsync::cli {
namespace {

// Bytes per upload message (the node accepts messages up to 1 MiB).
constexpr size_t kChunkBytes = 256 * 1024;
constexpr int kBarWidth = 30;

FlagSpec ValueFlag(std::string name, std::string value_name, std::string help) {
  return FlagSpec{std::move(name), FlagType::kValue, std::move(value_name),
                  std::move(help), false};
}
FlagSpec BoolFlag(std::string name, std::string help) {
  return FlagSpec{std::move(name), FlagType::kBool, "", std::move(help), false};
}

absl::Status FromGrpc(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      s.error_message());
}

absl::StatusOr<v1::FileFormat> ParseFormat(const std::string& v, bool import) {
  const std::string s = absl::AsciiStrToLower(v);
  if (s.empty() || (import && s == "auto")) return v1::FILE_FORMAT_AUTO;
  if (s == "xlsx") return v1::FILE_FORMAT_XLSX;
  if (s == "csv") return v1::FILE_FORMAT_CSV;
  return absl::InvalidArgumentError(
      absl::StrCat("bad value for --format: \"", v, "\" (expected ",
                   import ? "auto, xlsx or csv" : "xlsx or csv", ")"));
}

absl::StatusOr<v1::TextEncoding> ParseEncoding(const std::string& v,
                                               bool import) {
  const std::string s = absl::AsciiStrToLower(v);
  if (s.empty() || (import && s == "auto")) return v1::TEXT_ENCODING_AUTO;
  if (s == "utf8" || s == "utf-8") return v1::TEXT_ENCODING_UTF8;
  if (s == "gbk") return v1::TEXT_ENCODING_GBK;
  if (s == "gb18030") return v1::TEXT_ENCODING_GB18030;
  return absl::InvalidArgumentError(absl::StrCat(
      "bad value for --encoding: \"", v, "\" (expected ",
      import ? "auto, utf8, gbk or gb18030" : "utf8, gbk or gb18030", ")"));
}

bool FileExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

absl::Status WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

std::string Mib(int64_t bytes) {
  return absl::StrFormat("%.1f MiB", static_cast<double>(bytes) / (1 << 20));
}

const char* PhaseName(v1::ImportPhase phase) {
  switch (phase) {
    case v1::IMPORT_UPLOADING:
      return "上传";
    case v1::IMPORT_VALIDATING:
      return "校验";
    case v1::IMPORT_COMMITTING:
      return "写入";
    case v1::IMPORT_DONE:
      return "完成";
    default:
      return "";
  }
}

// Progress on standard error: a bar redrawn in place on a terminal, a line
// per phase otherwise (and nothing with --json).
class ProgressView {
 public:
  ProgressView(std::ostream* err, bool terminal, bool quiet)
      : err_(err), terminal_(terminal), quiet_(quiet) {}

  void Upload(int64_t sent, int64_t total) {
    if (quiet_) return;
    if (terminal_) {
      Draw("上传", sent, total, absl::StrCat(Mib(sent), "/", Mib(total)));
    } else if (!upload_line_) {
      upload_line_ = true;
      *err_ << "uploading " << Mib(total) << "\n";
    }
  }

  void Update(const v1::ImportProgress& p) {
    if (quiet_ || p.phase() == v1::IMPORT_UPLOADING) return;
    const v1::ImportCounts& c = p.counts();
    if (terminal_) {
      if (p.phase() == v1::IMPORT_DONE) return;
      const int64_t rows =
          p.phase() == v1::IMPORT_COMMITTING
              ? c.committed_rows() + c.unchanged() + c.invalid_rows()
              : c.rows_read();
      Draw(PhaseName(p.phase()), rows, c.total_rows(),
           c.total_rows() > 0 ? absl::StrCat(rows, "/", c.total_rows(), " 行")
                              : absl::StrCat(rows, " 行"));
      return;
    }
    if (p.phase() != last_phase_) {
      last_phase_ = p.phase();
      if (p.phase() == v1::IMPORT_VALIDATING) *err_ << "validating\n";
      if (p.phase() == v1::IMPORT_COMMITTING) *err_ << "committing\n";
    }
  }

  void End() {
    if (!quiet_ && terminal_ && drawn_) *err_ << "\r\033[K" << std::flush;
  }

 private:
  void Draw(absl::string_view label, int64_t done, int64_t total,
            const std::string& detail) {
    drawn_ = true;
    std::string bar;
    if (total > 0) {
      const int64_t filled =
          std::min<int64_t>(kBarWidth, done * kBarWidth / total);
      bar = absl::StrCat("[", std::string(filled, '#'),
                         std::string(kBarWidth - filled, '.'), "] ",
                         std::min<int64_t>(100, done * 100 / total), "% ");
    }
    *err_ << "\r\033[K" << label << " " << bar << detail << std::flush;
  }

  std::ostream* err_;
  const bool terminal_;
  const bool quiet_;
  bool drawn_ = false;
  bool upload_line_ = false;
  v1::ImportPhase last_phase_ = v1::IMPORT_PHASE_UNSPECIFIED;
};

void AddToken(grpc::ClientContext* ctx, const std::string& token) {
  if (!token.empty()) {
    ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  }
}

absl::Status RunTemplate(const CommandLine& cl, const Io& io,
                         const IngestConnect& connect, bool* usage_error,
                         bool* rpc_error) {
  v1::GetTemplateRequest req;
  auto args = ParseTemplate(cl.args, &req);
  if (!args.ok()) {
    *usage_error = true;
    return args.status();
  }
  // No session needed; with one, ask the node that issued it.
  auto conn = connect(/*with_session=*/true);
  if (!conn.ok()) conn = connect(/*with_session=*/false);
  if (!conn.ok()) return conn.status();
  auto stub = v1::IngestService::NewStub(conn->channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(
                       static_cast<int64_t>(cl.global.timeout_seconds * 1000)));
  v1::GetTemplateResponse resp;
  grpc::Status s = stub->GetTemplate(&ctx, req, &resp);
  if (!s.ok()) {
    *rpc_error = true;
    return FromGrpc(s);
  }
  std::string path = args->output;
  if (path.empty()) {
    path = resp.filename();
    if (FileExists(path)) {
      return absl::AlreadyExistsError(absl::StrCat(
          path, " exists; give --output FILE (or -o FILE) to overwrite"));
    }
  }
  RETURN_IF_ERROR(WriteFile(path, resp.content()));
  if (cl.global.json) {
    *io.out << "{\"path\":" << JsonQuote(path)
            << ",\"filename\":" << JsonQuote(resp.filename())
            << ",\"content_type\":" << JsonQuote(resp.content_type())
            << ",\"bytes\":" << resp.content().size() << "}\n";
  } else {
    *io.out << "模板已保存 (template saved): " << path << " ("
            << resp.content().size() << " bytes)\n";
  }
  return absl::OkStatus();
}

absl::Status RunImport(const CommandLine& cl, const Io& io,
                       const IngestConnect& connect, bool* usage_error,
                       bool* rpc_error) {
  const bool orgs = cl.verb == "import orgs";
  v1::ImportOptions options;
  auto args = ParseImport(cl.args, orgs, &options);
  if (!args.ok()) {
    *usage_error = true;
    return args.status();
  }
  std::ifstream in(args->file, std::ios::binary);
  if (!in) {
    *usage_error = true;
    return absl::InvalidArgumentError(absl::StrCat("cannot open ", args->file));
  }
  in.seekg(0, std::ios::end);
  const int64_t size = static_cast<int64_t>(in.tellg());
  in.seekg(0, std::ios::beg);
  options.set_size_bytes(size);
  const size_t slash = args->file.find_last_of('/');
  options.set_filename(
      slash == std::string::npos ? args->file : args->file.substr(slash + 1));

  ASSIGN_OR_RETURN(IngestConnection conn, connect(/*with_session=*/true));
  auto stub = v1::IngestService::NewStub(conn.channel);
  grpc::ClientContext ctx;  // No deadline: a large file takes a while.
  AddToken(&ctx, conn.token);
  auto stream = stub->Import(&ctx);
  const bool terminal = io.err == &std::cerr && isatty(STDERR_FILENO) == 1;
  ProgressView view(io.err, terminal, cl.global.json);

  v1::ImportRequest first;
  *first.mutable_options() = options;
  bool sending = stream->Write(first);
  std::string buf(kChunkBytes, '\0');
  int64_t sent = 0;
  while (sending && in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const std::streamsize n = in.gcount();
    if (n <= 0) break;
    v1::ImportRequest chunk;
    chunk.set_chunk(buf.data(), static_cast<size_t>(n));
    sending = stream->Write(chunk);
    sent += n;
    view.Upload(sent, size);
  }
  if (sending) stream->WritesDone();

  v1::ImportProgress p;
  std::optional<v1::ImportSummary> summary;
  while (stream->Read(&p)) {
    view.Update(p);
    if (p.has_summary()) summary = p.summary();
  }
  grpc::Status status = stream->Finish();
  view.End();
  if (!status.ok()) {
    *rpc_error = true;
    return FromGrpc(status);
  }
  if (!summary.has_value()) {
    return absl::InternalError("the node ended the import without a summary");
  }
  if (!args->errors_file.empty() && !summary->error_report_csv().empty()) {
    RETURN_IF_ERROR(WriteFile(args->errors_file, summary->error_report_csv()));
  }
  if (cl.global.json) {
    v1::ImportSummary shown = *summary;
    shown.clear_error_report_csv();  // In the --errors file.
    *io.out << FormatJson(shown);
  } else {
    *io.out << FormatImportSummary(*summary);
    if (!summary->error_report_csv().empty()) {
      if (!args->errors_file.empty()) {
        *io.out << "错误报告已保存 (error report saved): " << args->errors_file
                << "\n";
      } else {
        *io.out << "hint: --errors FILE saves the full error report (CSV, "
                   "opens in Excel/WPS)\n";
      }
    }
  }
  if (!summary->ok() && options.mode() == v1::IMPORT_ALL_OR_NOTHING) {
    return absl::FailedPreconditionError(absl::StrCat(
        summary->total_errors(), " error(s) in ",
        summary->counts().invalid_rows(), " row(s): ",
        options.dry_run() ? "the dry run found problems"
                          : "nothing was imported (all or nothing); fix the "
                            "rows or use --valid-rows-only"));
  }
  return absl::OkStatus();
}

}  // namespace

VerbSpec TemplateVerbSpec() {
  return VerbSpec{
      "template",
      "Download the unified collection template (R5): member or org.",
      {{"KIND", "member (会员信息采集表) or org (工会组织信息采集表)"}},
      {ValueFlag("format", "xlsx|csv", "File format (default xlsx)"),
       ValueFlag("encoding", "utf8|gbk|gb18030",
                 "CSV only: text encoding (default utf8, with BOM)"),
       ValueFlag("output", "FILE",
                 "Where to save it (also -o FILE; default the suggested "
                 "name, e.g. 会员信息采集模板.xlsx, in the current "
                 "directory)")},
      "The XLSX template has the Chinese headers (required ones in red), a "
      "填写说明 sheet\nexplaining every column, and drop-down lists for coded "
      "fields. Fill it in Excel or WPS\nand load it with `unionctl import`. "
      "No login is needed.",
      {"unionctl template member",
       "unionctl template org --format csv --encoding gbk -o orgs.csv"}};
}

namespace {
std::vector<FlagSpec> ImportFlags(bool orgs) {
  std::vector<FlagSpec> flags;
  if (!orgs) {
    flags.push_back(ValueFlag(
        "org", "ORG",
        "Grassroots union the members belong to (default: your own)"));
  }
  flags.push_back(
      BoolFlag("dry-run", "Check every row and report, write nothing"));
  flags.push_back(BoolFlag(
      "valid-rows-only",
      "Write the valid rows even when others have errors (default: all or "
      "nothing)"));
  flags.push_back(
      ValueFlag("format", "auto|xlsx|csv", "File format (default: detected)"));
  flags.push_back(ValueFlag(
      "encoding", "auto|utf8|gbk|gb18030",
      "CSV only: text encoding (default: detected; UTF-8 with or without BOM, "
      "else GB18030)"));
  flags.push_back(
      ValueFlag("errors", "FILE",
                "Save the error report (CSV: 行号,列,内容,问题) to FILE"));
  return flags;
}

constexpr char kImportDetails[] =
    "The file is uploaded to the node, checked cell by cell, and written in "
    "batches; progress\nis shown on a terminal. Rows with errors are listed "
    "(row, column, value, reason, in\nChinese) and --errors saves them all "
    "as a CSV to fix the spreadsheet with.\nAll or nothing (the default): "
    "nothing is written unless every row is valid; exit\nstatus 1 when rows "
    "were refused. --valid-rows-only writes the others and exits 0.\n"
    "Importing the same file again changes nothing.";
}  // namespace

VerbSpec ImportMembersVerbSpec() {
  return VerbSpec{
      "import members",
      "Import members from a filled member template (XLSX or CSV).",
      {{"FILE", "The filled template (.xlsx or .csv)"}},
      ImportFlags(false),
      absl::StrCat(
          kImportDetails,
          "\nA member is identified by the ID number: a new one is added, a "
          "known one of this\nunion is updated when a field differs, one "
          "in another union is an error (transfer\nfirst). Only the union's "
          "own data administrator may import (R4, R10.2)."),
      {"unionctl import members 会员.xlsx --dry-run",
       "unionctl import members members.csv --org 430102.1.3 --encoding gbk "
       "--errors errors.csv"}};
}

VerbSpec ImportOrgsVerbSpec() {
  return VerbSpec{
      "import orgs",
      "Register child organisations from a filled organisation template.",
      {{"FILE", "The filled template (.xlsx or .csv)"}},
      ImportFlags(true),
      absl::StrCat(
          kImportDetails,
          "\nEvery row registers a direct child of your own organisation (R2), "
          "as `org create`\ndoes, without its administrator account: create "
          "those with `unionctl account create`.\nAn organisation already "
          "registered with the same data is left unchanged."),
      {"unionctl import orgs 下级组织.xlsx --dry-run"}};
}

absl::StatusOr<TemplateArgs> ParseTemplate(const std::vector<std::string>& args,
                                           v1::GetTemplateRequest* req) {
  std::vector<std::string> words = args;
  for (std::string& w : words) {
    if (w == "-o") w = "--output";
  }
  ASSIGN_OR_RETURN(ParsedArgs a, ParseVerbArgs(TemplateVerbSpec(), words));
  const std::string kind = absl::AsciiStrToLower(a.Positional(0));
  if (kind == "member" || kind == "members") {
    req->set_kind(v1::TEMPLATE_MEMBER);
  } else if (kind == "org" || kind == "orgs") {
    req->set_kind(v1::TEMPLATE_ORG);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("bad template kind \"", a.Positional(0),
                     "\" (expected member or org)"));
  }
  ASSIGN_OR_RETURN(v1::FileFormat format, ParseFormat(a.Get("format"), false));
  req->set_format(format == v1::FILE_FORMAT_AUTO ? v1::FILE_FORMAT_XLSX
                                                 : format);
  ASSIGN_OR_RETURN(v1::TextEncoding enc,
                   ParseEncoding(a.Get("encoding"), false));
  if (a.Has("encoding") && req->format() != v1::FILE_FORMAT_CSV) {
    return absl::InvalidArgumentError(
        "--encoding applies to CSV only: add --format csv");
  }
  req->set_encoding(enc);
  TemplateArgs out;
  out.output = a.Get("output");
  if (a.Has("output") && out.output.empty()) {
    return absl::InvalidArgumentError("flag --output must not be empty");
  }
  return out;
}

absl::StatusOr<ImportArgs> ParseImport(const std::vector<std::string>& args,
                                       bool orgs, v1::ImportOptions* options) {
  ASSIGN_OR_RETURN(ParsedArgs a, ParseVerbArgs(orgs ? ImportOrgsVerbSpec()
                                                    : ImportMembersVerbSpec(),
                                               args));
  options->set_kind(orgs ? v1::TEMPLATE_ORG : v1::TEMPLATE_MEMBER);
  if (!orgs) options->set_org_id(a.Get("org"));
  if (a.Has("org") && options->org_id().empty()) {
    return absl::InvalidArgumentError("flag --org must not be empty");
  }
  options->set_dry_run(a.Has("dry-run"));
  options->set_mode(a.Has("valid-rows-only") ? v1::IMPORT_VALID_ROWS_ONLY
                                             : v1::IMPORT_ALL_OR_NOTHING);
  ASSIGN_OR_RETURN(v1::FileFormat format, ParseFormat(a.Get("format"), true));
  options->set_format(format);
  ASSIGN_OR_RETURN(v1::TextEncoding enc,
                   ParseEncoding(a.Get("encoding"), true));
  if (enc != v1::TEXT_ENCODING_AUTO && format == v1::FILE_FORMAT_XLSX) {
    return absl::InvalidArgumentError(
        "--encoding applies to CSV files only (XLSX is always Unicode)");
  }
  options->set_encoding(enc);
  ImportArgs out;
  out.file = a.Positional(0);
  out.errors_file = a.Get("errors");
  if (a.Has("errors") && out.errors_file.empty()) {
    return absl::InvalidArgumentError("flag --errors must not be empty");
  }
  return out;
}

std::string FormatImportSummary(const v1::ImportSummary& s) {
  const v1::ImportCounts& c = s.counts();
  std::string out = absl::StrCat(s.message(), "\n");
  std::vector<std::vector<std::string>> rows = {
      {"行数", "正确", "错误", "新增", "更新", "未变", "已写入"},
      {absl::StrCat(c.rows_read()), absl::StrCat(c.valid_rows()),
       absl::StrCat(c.invalid_rows()), absl::StrCat(c.created()),
       absl::StrCat(c.updated()), absl::StrCat(c.unchanged()),
       s.written() ? "是" : "否"}};
  absl::StrAppend(&out, FormatTable(rows, {0, 1, 2, 3, 4, 5}));
  if (s.errors_size() > 0) {
    absl::StrAppend(&out, "\n错误",
                    s.total_errors() > s.errors_size()
                        ? absl::StrCat("（前", s.errors_size(), "条，共",
                                       s.total_errors(), "条）")
                        : "",
                    ":\n");
    std::vector<std::vector<std::string>> errors = {
        {"行号", "列", "内容", "问题"}};
    for (const v1::ImportCellError& e : s.errors()) {
      errors.push_back({absl::StrCat(e.row()),
                        e.column().empty() ? "-" : e.column(),
                        e.value().empty() ? "-" : e.value(), e.reason()});
    }
    absl::StrAppend(&out, FormatTable(errors, {0}));
  }
  if (!s.fingerprint().empty()) {
    absl::StrAppend(&out, "导出指纹: ", s.fingerprint(), "\n");
  }
  return out;
}

absl::Status RunIngestVerb(const CommandLine& cl, const Io& io,
                           const IngestConnect& connect, bool* usage_error,
                           bool* rpc_error) {
  if (cl.verb == "template") {
    return RunTemplate(cl, io, connect, usage_error, rpc_error);
  }
  if (cl.verb == "import members" || cl.verb == "import orgs") {
    return RunImport(cl, io, connect, usage_error, rpc_error);
  }
  return absl::InternalError(absl::StrCat("not an ingest verb: ", cl.verb));
}

}  // namespace unionsync::cli
