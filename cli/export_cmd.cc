#include "cli/export_cmd.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/format.h"
#include "cli/unionctl.h"
#include "common/status_macros.h"
#include "ingest/table.h"
#include "unionsync/v1/export.grpc.pb.h"
#include "unionsync/v1/export.pb.h"

namespace unionsync::cli {
namespace {

// The largest export the node hands out, plus room for the envelope.
constexpr int kMaxDownloadBytes = (64 << 20) + (1 << 20);

absl::Status FromGrpc(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      s.error_message());
}

struct FieldName {
  const char* name;
  v1::ExportField field;
};
constexpr FieldName kFields[] = {
    {"gender", v1::EXPORT_GENDER},
    {"ethnicity", v1::EXPORT_ETHNICITY},
    {"id_number", v1::EXPORT_ID_NUMBER},
    {"phone", v1::EXPORT_PHONE},
    {"education", v1::EXPORT_EDUCATION},
    {"workplace", v1::EXPORT_WORKPLACE},
    {"join_date", v1::EXPORT_JOIN_DATE},
    {"card_number", v1::EXPORT_CARD_NUMBER},
    {"migrant_worker", v1::EXPORT_MIGRANT_WORKER},
    {"dues_status", v1::EXPORT_DUES_STATUS},
};

std::string NameOf(int field) {
  for (const FieldName& f : kFields) {
    if (f.field == field) return f.name;
  }
  return absl::StrCat(field);
}

template <typename Repeated>
std::string Fields(const Repeated& fields) {
  if (fields.empty()) return "-";
  return absl::StrJoin(fields, ",", [](std::string* out, int f) {
    absl::StrAppend(out, NameOf(f));
  });
}

const char* StateName(v1::ExportState s) {
  switch (s) {
    case v1::EXPORT_PENDING:
      return "待审批 pending";
    case v1::EXPORT_APPROVED:
      return "已批准 approved";
    case v1::EXPORT_REJECTED:
      return "已驳回 rejected";
    case v1::EXPORT_DOWNLOADED:
      return "已导出 downloaded";
    case v1::EXPORT_EXPIRED:
      return "已过期 expired";
    default:
      return "-";
  }
}

std::string Approvals(const v1::ExportStatus& s) {
  std::vector<std::string> out;
  for (const auto& a : s.approvals()) {
    out.push_back(
        absl::StrCat(a.level() == v1::APPROVAL_LEADER ? "leader " : "upper ",
                     a.approver(), a.approved() ? " ok" : " REJECTED"));
  }
  return out.empty() ? "-" : absl::StrJoin(out, "; ");
}

std::string FieldsHelp() {
  std::vector<std::string> names;
  for (const FieldName& f : kFields) names.push_back(f.name);
  return absl::StrJoin(names, ", ");
}

absl::StatusOr<ParsedArgs> Parse(const VerbSpec& spec,
                                 const std::vector<std::string>& args) {
  std::vector<std::string> words = args;
  for (std::string& w : words) {
    if (w == "-o") w = "--output";
  }
  return ParseVerbArgs(spec, words);
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

VerbSpec ExportRequestVerbSpec() {
  return VerbSpec{
      "export request",
      "Ask to export your union's members (needs two approvals).",
      {},
      {FlagSpec{"org", FlagType::kValue, "ORG",
                "Your organisation (default: your own)", false},
       FlagSpec{"purpose", FlagType::kValue, "TEXT",
                "The business need (用途), up to 200 characters", true},
       FlagSpec{"fields", FlagType::kValue, "F,F...",
                "Member fields besides the name: " + FieldsHelp(), true},
       FlagSpec{"recipient", FlagType::kValue, "NAME",
                "Who receives the file (接收人); no '-'", true},
       FlagSpec{"subtree", FlagType::kBool, "",
                "Also the members of the organisations below", false},
       FlagSpec{"days", FlagType::kValue, "N",
                "Valid for N days (1..30, default 7)", false}},
      "Only the data administrator of the organisation itself may ask, at "
      "its node (R10.1).\nThe export then needs the approval of the unit's "
      "responsible leader (单位负责人,\n`export approve` with a UNIT_LEADER "
      "account) and of the upper-tier union (a data\nadministrator of the "
      "parent organisation, at its node). ID and phone numbers are\nmasked "
      "unless both approvals name them. Prints the request id.",
      {"unionctl export request --purpose 年度慰问名单 --fields "
       "workplace,phone --recipient 张三"}};
}

VerbSpec ExportApproveVerbSpec() {
  return VerbSpec{
      "export approve",
      "Approve (or reject) an export request as leader or upper tier.",
      {{"REQUEST_ID", "From `export list`"}},
      {FlagSpec{"reject", FlagType::kBool, "", "Reject the request", false},
       FlagSpec{"allow-fields", FlagType::kValue, "F,F...",
                "The requested fields you allow (default: all requested but "
                "id_number and phone)",
                false},
       FlagSpec{"note", FlagType::kValue, "TEXT", "A remark, kept", false}},
      "A UNIT_LEADER account approves as the unit's responsible leader (at "
      "the unit's node);\na data administrator of the unit's parent "
      "organisation approves as the upper tier\n(at the parent's node). The "
      "requester can never approve; each level decides once,\nbefore the "
      "request expires. Whoever approves is responsible (R11).",
      {"unionctl export approve 3f2a9c0d11e4b7a8",
       "unionctl export approve 3f2a9c0d11e4b7a8 --allow-fields "
       "workplace,phone",
       "unionctl export approve 3f2a9c0d11e4b7a8 --reject --note 用途不明确"}};
}

VerbSpec ExportListVerbSpec() {
  return VerbSpec{"export list",
                  "Export requests of your organisation (and of its children).",
                  {},
                  {FlagSpec{"org", FlagType::kValue, "ORG",
                            "One organisation: your own or a child", false}},
                  "",
                  {"unionctl export list"}};
}

VerbSpec ExportDownloadVerbSpec() {
  return VerbSpec{
      "export download",
      "Download an approved export, once.",
      {{"REQUEST_ID", "From `export request`"}},
      {FlagSpec{"output", FlagType::kValue, "FILE",
                "Where to save it (also -o FILE)", true},
       FlagSpec{"format", FlagType::kValue, "csv|xlsx",
                "File format (default xlsx)", false}},
      "Only the requester, at the node hosting the organisation, once both "
      "approvals are in,\nbefore the request expires, and only once: the "
      "node records the download before it\nsends the file. The file carries "
      "a fingerprint naming the request and the recipient.",
      {"unionctl export download 3f2a9c0d11e4b7a8 -o 名单.xlsx"}};
}

VerbSpec ExportTraceVerbSpec() {
  return VerbSpec{
      "export trace",
      "Find the export request a (leaked) file came from.",
      {{"FILE", "An exported file (.csv or .xlsx)", true}},
      {FlagSpec{"fingerprint", FlagType::kValue, "FP",
                "The fingerprint itself instead of a file", false}},
      "The fingerprint is read from the file on this computer (the file is "
      "not sent) and\nchecked against the request it names, at this node or "
      "any node above the one\nthat produced it: who asked, who approved, who "
      "downloaded it when, and for whom\n(R10.4). Data administrators of the "
      "organisation or above it.",
      {"unionctl export trace 名单.xlsx"}};
}

absl::StatusOr<std::vector<int>> ParseExportFields(absl::string_view list) {
  std::vector<int> out;
  for (absl::string_view word :
       absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    const std::string w =
        absl::AsciiStrToLower(absl::StripAsciiWhitespace(word));
    bool found = false;
    for (const FieldName& f : kFields) {
      if (w == f.name) {
        out.push_back(f.field);
        found = true;
      }
    }
    if (!found) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown field \"", w, "\" (expected ", FieldsHelp(), ")"));
    }
  }
  return out;
}

std::string FormatExportStatuses(const std::vector<v1::ExportStatus>& list) {
  if (list.empty()) return "no export requests\n";
  std::vector<std::vector<std::string>> rows = {
      {"ID", "ORG", "STATE", "REQUESTER", "RECIPIENT", "FIELDS", "EXPIRES",
       "APPROVALS"}};
  for (const auto& s : list) {
    const auto& r = s.request();
    rows.push_back({r.id(), r.org_id(), StateName(s.state()), r.requester(),
                    r.recipient(), Fields(r.fields()),
                    FormatTimeMs(r.expires_at_ms()), Approvals(s)});
  }
  return FormatTable(rows);
}

std::string FormatExportStatus(const v1::ExportStatus& s) {
  const auto& r = s.request();
  std::string out = absl::StrCat(
      "申请编号 request:   ", r.id(), "\n", "组织 org:           ", r.org_id(),
      r.include_subtree() ? " (含下级 with subtree)" : "", "\n",
      "状态 state:         ", StateName(s.state()), "\n",
      "申请人 requester:   ", r.requester(), " at ",
      FormatTimeMs(r.created_at_ms()), "\n",
      "用途 purpose:       ", r.purpose(), "\n",
      "接收人 recipient:   ", r.recipient(), "\n",
      "申请字段 fields:    ", Fields(r.fields()), "\n",
      "有效期至 expires:   ", FormatTimeMs(r.expires_at_ms()), "\n");
  for (const auto& a : s.approvals()) {
    absl::StrAppend(
        &out,
        a.level() == v1::APPROVAL_LEADER ? "单位负责人 leader:  "
                                         : "上级工会 upper tier: ",
        a.approver(), " (", a.approver_org(), ") ",
        a.approved() ? "批准 approved" : "驳回 REJECTED", " at ",
        FormatTimeMs(a.decided_at_ms()),
        a.approved() ? absl::StrCat(", allows ", Fields(a.allowed_fields()))
                     : "",
        a.note().empty() ? "" : absl::StrCat(", note: ", a.note()), "\n");
  }
  if (!s.effective_fields().empty()) {
    absl::StrAppend(&out, "导出字段 exported:  ", Fields(s.effective_fields()),
                    " (ID and phone numbers masked unless listed)\n");
  }
  if (r.downloaded_at_ms() != 0) {
    absl::StrAppend(&out, "导出 downloaded:    by ", r.downloaded_by(), " at ",
                    FormatTimeMs(r.downloaded_at_ms()), ", ", r.member_count(),
                    " members, ", r.file_format(), "\n",
                    "指纹 fingerprint:   ", r.fingerprint(), "\n");
  }
  return out;
}

absl::Status RunExportVerb(const CommandLine& cl, const Io& io,
                           const ExportConnect& connect, bool* usage_error,
                           bool* rpc_error) {
  auto deadline = [&](grpc::ClientContext* ctx, const std::string& token) {
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(static_cast<int64_t>(
                          std::llround(cl.global.timeout_seconds * 1000))));
    if (!token.empty()) {
      ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token));
    }
  };
  auto call = [&](auto method, const auto& req, auto* resp,
                  const ExportConnection& conn) -> absl::Status {
    auto stub = v1::ExportService::NewStub(conn.channel);
    grpc::ClientContext ctx;
    deadline(&ctx, conn.token);
    grpc::Status s = ((*stub).*method)(&ctx, req, resp);
    *rpc_error = !s.ok();
    return s.ok() ? absl::OkStatus() : FromGrpc(s);
  };
  auto usage = [&](absl::Status s) {
    *usage_error = true;
    return s;
  };
  std::ostream& out = *io.out;
  using Stub = v1::ExportService::Stub;

  if (cl.verb == "export request") {
    auto a = Parse(ExportRequestVerbSpec(), cl.args);
    if (!a.ok()) return usage(a.status());
    v1::RequestExportRequest req;
    req.set_org_id(a->Get("org"));
    req.set_purpose(a->Get("purpose"));
    req.set_recipient(a->Get("recipient"));
    req.set_include_subtree(a->Has("subtree"));
    auto fields = ParseExportFields(a->Get("fields"));
    if (!fields.ok()) return usage(fields.status());
    for (int f : *fields) req.add_fields(static_cast<v1::ExportField>(f));
    if (a->Has("days")) {
      int days = 0;
      if (!absl::SimpleAtoi(a->Get("days"), &days) || days < 1 || days > 30) {
        return usage(absl::InvalidArgumentError("--days: 1 to 30"));
      }
      req.set_valid_days(days);
    }
    ASSIGN_OR_RETURN(ExportConnection conn, connect());
    v1::RequestExportResponse resp;
    RETURN_IF_ERROR(call(&Stub::RequestExport, req, &resp, conn));
    if (cl.global.json) {
      out << FormatJson(resp);
    } else {
      out << FormatExportStatus(resp.export_())
          << "\n等待审批 waiting for approval by the unit's responsible leader "
             "and the upper-tier union\n";
    }
    return absl::OkStatus();
  }
  if (cl.verb == "export approve") {
    auto a = Parse(ExportApproveVerbSpec(), cl.args);
    if (!a.ok()) return usage(a.status());
    v1::ApproveExportRequest req;
    req.set_request_id(a->Positional(0));
    req.set_reject(a->Has("reject"));
    req.set_note(a->Get("note"));
    if (a->Has("allow-fields")) {
      if (req.reject()) {
        return usage(absl::InvalidArgumentError(
            "--allow-fields and --reject do not go together"));
      }
      auto fields = ParseExportFields(a->Get("allow-fields"));
      if (!fields.ok()) return usage(fields.status());
      for (int f : *fields) {
        req.add_allowed_fields(static_cast<v1::ExportField>(f));
      }
    }
    ASSIGN_OR_RETURN(ExportConnection conn, connect());
    v1::ApproveExportResponse resp;
    RETURN_IF_ERROR(call(&Stub::ApproveExport, req, &resp, conn));
    out << (cl.global.json ? FormatJson(resp)
                           : FormatExportStatus(resp.export_()));
    return absl::OkStatus();
  }
  if (cl.verb == "export list") {
    auto a = Parse(ExportListVerbSpec(), cl.args);
    if (!a.ok()) return usage(a.status());
    v1::ListExportRequestsRequest req;
    req.set_org_id(a->Get("org"));
    ASSIGN_OR_RETURN(ExportConnection conn, connect());
    v1::ListExportRequestsResponse resp;
    RETURN_IF_ERROR(call(&Stub::ListExportRequests, req, &resp, conn));
    out << (cl.global.json
                ? FormatJson(resp)
                : FormatExportStatuses(std::vector<v1::ExportStatus>(
                      resp.exports().begin(), resp.exports().end())));
    return absl::OkStatus();
  }
  if (cl.verb == "export download") {
    auto a = Parse(ExportDownloadVerbSpec(), cl.args);
    if (!a.ok()) return usage(a.status());
    v1::DownloadExportRequest req;
    req.set_request_id(a->Positional(0));
    const std::string format = absl::AsciiStrToLower(a->Get("format", "xlsx"));
    if (format == "csv") {
      req.set_format(v1::FILE_FORMAT_CSV);
    } else if (format == "xlsx") {
      req.set_format(v1::FILE_FORMAT_XLSX);
    } else {
      return usage(absl::InvalidArgumentError(absl::StrCat(
          "bad --format \"", format, "\" (expected csv or xlsx)")));
    }
    const std::string path = a->Get("output");
    ASSIGN_OR_RETURN(ExportConnection conn, connect());
    // A channel of its own: the reply may exceed the default 4 MiB.
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(kMaxDownloadBytes);
    auto channel = grpc::CreateCustomChannel(
        conn.server, conn.creds, args);
    auto stub = v1::ExportService::NewStub(channel);
    grpc::ClientContext ctx;
    deadline(&ctx, conn.token);
    v1::DownloadExportResponse resp;
    grpc::Status s = stub->DownloadExport(&ctx, req, &resp);
    if (!s.ok()) {
      *rpc_error = true;
      return FromGrpc(s);
    }
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file.write(resp.content().data(),
               static_cast<std::streamsize>(resp.content().size()));
    file.close();
    if (!file) {
      return absl::UnavailableError(absl::StrCat(
          "cannot write ", path,
          " (the export is now used up: ask the requester's upper tier for a "
          "new one)"));
    }
    if (cl.global.json) {
      resp.clear_content();
      out << FormatJson(resp);
    } else {
      out << "已导出 (exported): " << path << " (" << resp.member_count()
          << " members, " << resp.content().size() << " bytes)\n"
          << "指纹 (fingerprint): " << resp.fingerprint() << "\n";
    }
    return absl::OkStatus();
  }
  if (cl.verb == "export trace") {
    auto a = Parse(ExportTraceVerbSpec(), cl.args);
    if (!a.ok()) return usage(a.status());
    v1::TraceExportRequest req;
    if (a->Has("fingerprint") == !a->Positional(0).empty()) {
      return usage(
          absl::InvalidArgumentError("give either a FILE or --fingerprint FP"));
    }
    if (a->Has("fingerprint")) {
      req.set_fingerprint(a->Get("fingerprint"));
    } else {
      auto reader = ingest::OpenTableFile(a->Positional(0));
      if (!reader.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "cannot read ", a->Positional(0), ": ", reader.status().message()));
      }
      // A CSV reader finds the fingerprint line with the first row.
      if ((*reader)->fingerprint().empty()) (void)(*reader)->Next();
      if ((*reader)->fingerprint().empty()) {
        return absl::NotFoundError(
            absl::StrCat(a->Positional(0), " carries no export fingerprint"));
      }
      req.set_fingerprint((*reader)->fingerprint());
    }
    ASSIGN_OR_RETURN(ExportConnection conn, connect());
    v1::TraceExportResponse resp;
    RETURN_IF_ERROR(call(&Stub::TraceExport, req, &resp, conn));
    if (cl.global.json) {
      out << FormatJson(resp);
    } else {
      out << "指纹已验证 (fingerprint verified): " << resp.fingerprint() << "\n"
          << FormatExportStatus(resp.export_());
    }
    return absl::OkStatus();
  }
  return usage(absl::InvalidArgumentError(
      absl::StrCat("unknown verb \"", cl.verb, "\"")));
}

}  // namespace unionsync::cli
