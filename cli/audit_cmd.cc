#include "cli/audit_cmd.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "cli/format.h"
#include "cli/unionctl.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "unionsync/v1/admin.grpc.pb.h"
#include "unionsync/v1/admin.pb.h"

namespace unionsync::cli {
namespace {

constexpr int kMaxLimit = 100'000;

absl::Status FromGrpc(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      s.error_message());
}

const char* OutcomeName(v1::AuditOutcome outcome) {
  switch (outcome) {
    case v1::AUDIT_OK:
      return "ok";
    case v1::AUDIT_DENIED:
      return "DENIED";
    case v1::AUDIT_FAILED:
      return "failed";
    default:
      return "-";
  }
}

// Up to `n` display-width-safe characters of a UTF-8 `text` (cut at a
// character boundary), with "…" when cut.
std::string Shorten(const std::string& text, size_t n) {
  if (text.size() <= n) return text;
  size_t cut = n;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return text.substr(0, cut) + "…";
}

}  // namespace

VerbSpec AuditVerifyVerbSpec() {
  return VerbSpec{
      "audit verify",
      "Check that this node's audit log is intact, or find the first broken "
      "entry.",
      {},
      {},
      "Walks the hash chain of the node's audit log from the first entry to "
      "the recorded head:\nevery entry must match its own hash and link to "
      "the one before. A changed, removed\nor inserted entry is named by its "
      "sequence number; the exit status is then 1.\nOnly the data "
      "administrator of the node's own organisation may verify; the check "
      "is\nitself audited. Parent nodes also check the chain head of every "
      "child node as it\nreplicates (`unionctl links`).",
      {"unionctl audit verify", "unionctl --json audit verify"}};
}

VerbSpec AuditSearchVerbSpec() {
  return VerbSpec{
      "audit search",
      "Find audit entries by person, organisation, action and time.",
      {},
      {FlagSpec{"actor", FlagType::kValue, "USER",
                "Who acted: a username (or a node id)", false},
       FlagSpec{"org", FlagType::kValue, "ORG",
                "The actor's organisation or the organisation acted on", false},
       FlagSpec{"since", FlagType::kValue, "TIME",
                "From this time on (RFC 3339, or YYYY-MM-DD in UTC+8)", false},
       FlagSpec{"until", FlagType::kValue, "TIME",
                "Before this time (a day YYYY-MM-DD: up to its end)", false},
       FlagSpec{"action", FlagType::kValue, "ACTION",
                "e.g. Login, GetMember, ListMembers, DisableAccount", false},
       FlagSpec{"limit", FlagType::kValue, "N",
                "Print at most N entries (default 100)", false}},
      "Entries are listed oldest first: sequence, time (UTC+8), actor, "
      "actor's organisation,\naction, target, outcome (ok, DENIED for "
      "refusals, failed for bad input) and detail.\nThe data administrator "
      "of the node's own organisation searches everything; other\ndata "
      "administrators search one organisation of their subtree at a time "
      "(--org, default\ntheir own). Every search is itself audited.",
      {"unionctl audit search --actor g1admin --since 2026-11-01",
       "unionctl audit search --org 430102.1 --action GetMember",
       "unionctl audit search --since 2026-11-27T09:00:00+08:00 --until "
       "2026-11-27T12:00:00+08:00"}};
}

absl::StatusOr<int64_t> ParseAuditTime(absl::string_view text,
                                       bool end_of_day) {
  static const absl::TimeZone kChina = absl::FixedTimeZone(8 * 3600);
  absl::CivilDay day;
  if (text.size() == 10 && absl::ParseCivilTime(text, &day)) {
    if (end_of_day) day += 1;
    return absl::ToUnixMillis(absl::FromCivil(day, kChina));
  }
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, text, &t, &err)) {
    return absl::ToUnixMillis(t);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("bad time \"", text,
                   "\": use RFC 3339 (2026-11-27T10:00:00+08:00) or a day "
                   "YYYY-MM-DD (UTC+8)"));
}

absl::StatusOr<AuditSearchArgs> ParseAuditSearch(
    const std::vector<std::string>& args, v1::SearchAuditRequest* req) {
  ASSIGN_OR_RETURN(ParsedArgs a, ParseVerbArgs(AuditSearchVerbSpec(), args));
  req->Clear();
  for (const char* flag : {"actor", "org", "action", "since", "until"}) {
    if (a.Has(flag) && a.Get(flag).empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("flag --", flag, " must not be empty"));
    }
  }
  req->set_actor(a.Get("actor"));
  req->set_org_id(a.Get("org"));
  req->set_action(a.Get("action"));
  if (a.Has("since")) {
    ASSIGN_OR_RETURN(int64_t ms, ParseAuditTime(a.Get("since"), false));
    req->set_from_ms(ms);
  }
  if (a.Has("until")) {
    ASSIGN_OR_RETURN(int64_t ms, ParseAuditTime(a.Get("until"), true));
    req->set_to_ms(ms);
  }
  if (req->from_ms() < 0 || req->to_ms() < 0) {
    return absl::InvalidArgumentError("times before 1970 are not in any log");
  }
  if (req->to_ms() > 0 && req->to_ms() <= req->from_ms()) {
    return absl::InvalidArgumentError("--until must be after --since");
  }
  AuditSearchArgs out;
  if (a.Has("limit")) {
    if (!absl::SimpleAtoi(a.Get("limit"), &out.limit) || out.limit < 1 ||
        out.limit > kMaxLimit) {
      return absl::InvalidArgumentError(
          absl::StrCat("--limit: a number from 1 to ", kMaxLimit));
    }
  }
  req->set_page_size(std::min(out.limit, 1000));
  return out;
}

std::string FormatAuditVerify(const v1::VerifyAuditResponse& r) {
  const std::string head = HexEncode(r.head_hash());
  if (r.intact()) {
    return absl::StrCat("audit log intact: ", r.entries(), " entries, head ",
                        r.head_seq(), " ", head.substr(0, 16), "\n");
  }
  return absl::StrCat("audit log BROKEN at entry ", r.first_broken_seq(), ": ",
                      r.detail(), "\n", r.entries(),
                      " entries before it are intact; recorded head ",
                      r.head_seq(), " ", head.substr(0, 16), "\n");
}

std::string FormatAuditEntries(const std::vector<v1::AuditEntry>& entries) {
  if (entries.empty()) return "no audit entries match\n";
  std::vector<std::vector<std::string>> rows = {
      {"SEQ", "TIME", "ACTOR", "ORG", "ACTION", "TARGET", "OUTCOME", "DETAIL"}};
  for (const v1::AuditEntry& e : entries) {
    rows.push_back({absl::StrCat(e.seq()), FormatTimeMs(e.time_ms()), e.actor(),
                    e.actor_org().empty() ? "-" : e.actor_org(), e.action(),
                    e.target().empty() ? "-" : e.target(),
                    OutcomeName(e.outcome()),
                    e.detail().empty() ? "-" : Shorten(e.detail(), 60)});
  }
  return FormatTable(rows, {0});
}

absl::Status RunAuditVerb(const CommandLine& cl, const Io& io,
                          const AuditConnect& connect, bool* usage_error,
                          bool* rpc_error) {
  auto call = [&](auto method, const auto& req, auto* resp,
                  const AuditConnection& conn) -> absl::Status {
    auto stub = v1::AdminService::NewStub(conn.channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::milliseconds(static_cast<int64_t>(
                         std::llround(cl.global.timeout_seconds * 1000))));
    if (!conn.token.empty()) {
      ctx.AddMetadata("authorization", absl::StrCat("Bearer ", conn.token));
    }
    grpc::Status s = ((*stub).*method)(&ctx, req, resp);
    *rpc_error = !s.ok();
    return s.ok() ? absl::OkStatus() : FromGrpc(s);
  };
  std::ostream& out = *io.out;
  if (cl.verb == "audit verify") {
    if (auto s = ParseVerbArgs(AuditVerifyVerbSpec(), cl.args).status();
        !s.ok()) {
      *usage_error = true;
      return s;
    }
    ASSIGN_OR_RETURN(AuditConnection conn, connect());
    v1::VerifyAuditResponse resp;
    RETURN_IF_ERROR(call(&v1::AdminService::Stub::VerifyAudit,
                         v1::VerifyAuditRequest(), &resp, conn));
    out << (cl.global.json ? FormatJson(resp) : FormatAuditVerify(resp));
    if (!resp.intact()) {
      return absl::DataLossError(absl::StrCat(
          "the audit log is broken at entry ", resp.first_broken_seq()));
    }
    return absl::OkStatus();
  }
  v1::SearchAuditRequest req;
  absl::StatusOr<AuditSearchArgs> args = ParseAuditSearch(cl.args, &req);
  if (!args.ok()) {
    *usage_error = true;
    return args.status();
  }
  ASSIGN_OR_RETURN(AuditConnection conn, connect());
  // Follow the pages until the limit: a page may be short (the server looks
  // at a bounded number of entries per call).
  v1::SearchAuditResponse all;
  std::set<std::string> seen;
  for (;;) {
    req.set_page_size(std::min(1000, args->limit - all.entries_size()));
    v1::SearchAuditResponse page;
    RETURN_IF_ERROR(
        call(&v1::AdminService::Stub::SearchAudit, req, &page, conn));
    for (auto& e : *page.mutable_entries()) *all.add_entries() = std::move(e);
    all.set_next_page_token(page.next_page_token());
    if (page.next_page_token().empty() || all.entries_size() >= args->limit) {
      break;
    }
    if (!seen.insert(page.next_page_token()).second) {
      return absl::InternalError(
          "the server returned a page token twice; stopping");
    }
    req.set_page_token(page.next_page_token());
  }
  if (cl.global.json) {
    out << FormatJson(all);
    return absl::OkStatus();
  }
  out << FormatAuditEntries(
      std::vector<v1::AuditEntry>(all.entries().begin(), all.entries().end()));
  if (!all.next_page_token().empty()) {
    out << "more entries may match: raise --limit or narrow the search\n";
  }
  return absl::OkStatus();
}

}  // namespace unionsync::cli
