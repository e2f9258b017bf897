#include "node/exporter.h"

#include <algorithm>
#include <deque>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "ingest/table.h"
#include "ingest/writer.h"

namespace unionsync {
namespace {

constexpr char kKeyLocal[] = "export/key";
constexpr char kPrefix[] = "EXP-";
constexpr size_t kIdHex = 16;
constexpr size_t kMacHex = 32;
constexpr int64_t kDayMs = 24 * 60 * 60 * 1000;

std::string Target(absl::string_view id) { return absl::StrCat("export/", id); }

bool IsLowerHex(absl::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

absl::Status ValidateRequestId(absl::string_view id) {
  if (id.size() != kIdHex || !IsLowerHex(id)) {
    return absl::InvalidArgumentError(
        "request_id: must be 16 lower-case hexadecimal characters");
  }
  return absl::OkStatus();
}

// The export request `id`; NOT_FOUND says "no export request '<id>'" and
// then `where`.
absl::StatusOr<v1::ExportRequest> FindRequest(const Store& store,
                                              absl::string_view id,
                                              absl::string_view where) {
  auto request = store.GetExportRequest(id);
  if (absl::IsNotFound(request.status())) {
    return absl::NotFoundError(
        absl::StrCat("no export request '", id, "'", where));
  }
  return request;
}

std::string FieldNames(const std::vector<v1::ExportField>& fields) {
  return absl::StrJoin(fields, ",", [](std::string* out, v1::ExportField f) {
    absl::StrAppend(out, v1::ExportField_Name(f));
  });
}

// Valid, distinct fields in enum order.
absl::StatusOr<std::vector<v1::ExportField>> CleanFields(
    absl::string_view name,
    const google::protobuf::RepeatedField<int>& fields) {
  std::set<int> seen;
  for (int f : fields) {
    if (!v1::ExportField_IsValid(f) || f == v1::EXPORT_FIELD_UNSPECIFIED) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": unknown field ", f));
    }
    seen.insert(f);
  }
  std::vector<v1::ExportField> out;
  for (int f : seen) out.push_back(static_cast<v1::ExportField>(f));
  return out;
}

bool Has(const std::vector<v1::ExportField>& fields, v1::ExportField f) {
  return std::find(fields.begin(), fields.end(), f) != fields.end();
}

std::string LevelName(v1::ApprovalLevel level) {
  return level == v1::APPROVAL_LEADER ? "the unit's responsible leader"
                                      : "the upper-tier union";
}

// `m` with the fields the export does not carry cleared (ID and phone numbers
// are masked by the exporter instead).
v1::Member Restricted(v1::Member m,
                      const std::vector<v1::ExportField>& fields) {
  if (!Has(fields, v1::EXPORT_GENDER)) m.set_gender(v1::GENDER_UNSPECIFIED);
  if (!Has(fields, v1::EXPORT_ETHNICITY)) m.clear_ethnicity();
  if (!Has(fields, v1::EXPORT_EDUCATION)) {
    m.set_education(v1::EDUCATION_UNSPECIFIED);
  }
  if (!Has(fields, v1::EXPORT_WORKPLACE)) m.clear_workplace();
  if (!Has(fields, v1::EXPORT_JOIN_DATE)) m.clear_join_date();
  if (!Has(fields, v1::EXPORT_CARD_NUMBER)) m.clear_card_number();
  if (!Has(fields, v1::EXPORT_MIGRANT_WORKER)) m.set_migrant_worker(false);
  if (!Has(fields, v1::EXPORT_DUES_STATUS)) {
    m.set_dues_status(v1::DUES_STATUS_UNSPECIFIED);
  }
  return m;
}

}  // namespace

std::vector<v1::ExportField> EffectiveFields(
    const v1::ExportRequest& request,
    const std::vector<v1::ExportApproval>& approvals) {
  std::vector<v1::ExportField> out;
  for (int f : request.fields()) {
    const auto field = static_cast<v1::ExportField>(f);
    bool allowed = !approvals.empty();
    for (const v1::ExportApproval& a : approvals) {
      if (!a.approved() ||
          std::find(a.allowed_fields().begin(), a.allowed_fields().end(), f) ==
              a.allowed_fields().end()) {
        allowed = false;
      }
    }
    if (allowed && !Has(out, field)) out.push_back(field);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Exporter::Exporter(Store* store, const Clock* clock, Authenticator* auth,
                   ExporterOptions options)
    : store_(store), clock_(clock), auth_(auth), options_(options) {}

std::string Exporter::Fingerprint(absl::string_view key,
                                  const v1::ExportRequest& request,
                                  int64_t downloaded_at_ms) {
  const std::string mac =
      HmacSha256(key, absl::StrCat(request.id(), "|", request.recipient(), "|",
                                   request.requester(), "|", downloaded_at_ms));
  return absl::StrCat(kPrefix, request.id(), "-", request.recipient(), "-",
                      HexEncode(mac).substr(0, kMacHex));
}

absl::StatusOr<std::string> Exporter::RequestIdOf(
    absl::string_view fingerprint) {
  fingerprint = absl::StripAsciiWhitespace(fingerprint);
  const size_t last = fingerprint.rfind('-');
  if (!absl::StartsWith(fingerprint, kPrefix) ||
      fingerprint.size() < 4 + kIdHex + 3 + kMacHex ||
      fingerprint[4 + kIdHex] != '-' || last == absl::string_view::npos ||
      last <= 4 + kIdHex + 1 || fingerprint.size() - last - 1 != kMacHex ||
      !IsLowerHex(fingerprint.substr(4, kIdHex)) ||
      !IsLowerHex(fingerprint.substr(last + 1))) {
    return absl::InvalidArgumentError(
        "not an export fingerprint of unionsync (EXP-<request>-<recipient>-"
        "<check>)");
  }
  return std::string(fingerprint.substr(4, kIdHex));
}

v1::AuditEntry Exporter::AuditOf(
    const Viewer& viewer, const RequestContext& ctx, absl::string_view action,
    absl::string_view target, absl::string_view target_org,
    v1::AuditOutcome outcome, absl::string_view detail) const {
  v1::AuditEntry e;
  e.set_time_ms(clock_->NowMs());
  e.set_actor(viewer.username);
  e.set_actor_org(viewer.org_id);
  e.set_action(std::string(action));
  e.set_target(std::string(target));
  e.set_outcome(outcome);
  e.set_detail(std::string(detail.substr(0, 500)));
  e.set_peer(ctx.peer);
  e.set_target_org(std::string(target_org));
  return e;
}

absl::Status Exporter::Audit(const Viewer& viewer, const RequestContext& ctx,
                             absl::string_view action, absl::string_view target,
                             absl::string_view target_org, absl::Status status,
                             absl::string_view detail) {
  const v1::AuditOutcome outcome = status.ok() ? v1::AUDIT_OK
                                   : absl::IsPermissionDenied(status)
                                       ? v1::AUDIT_DENIED
                                       : v1::AUDIT_FAILED;
  const std::string text =
      status.ok() ? std::string(detail) : std::string(status.message());
  WriteSet w;
  w.Audit(AuditOf(viewer, ctx, action, target, target_org, outcome, text));
  RETURN_IF_ERROR(store_->Commit(w, viewer.username).status());
  return status;
}

bool Exporter::HostedHere(const std::string& org_id) const {
  auto org = store_->GetOrg(org_id);
  return org.ok() && org->host_node() == store_->node_id();
}

absl::StatusOr<std::string> Exporter::NodeKey() {
  absl::MutexLock lock(&key_mu_);
  if (!key_.empty()) return key_;
  ASSIGN_OR_RETURN(std::optional<std::string> held,
                   store_->GetLocal(kKeyLocal));
  if (held.has_value() && held->size() == 32) {
    key_ = *held;
    return key_;
  }
  ASSIGN_OR_RETURN(std::string key, RandomBytes(32));
  WriteSet w;
  w.PutLocal(kKeyLocal, key);
  RETURN_IF_ERROR(store_->Commit(w, "system").status());
  key_ = key;
  return key_;
}

absl::StatusOr<v1::ExportStatus> Exporter::StatusOf(
    v1::ExportRequest request) const {
  v1::ExportStatus out;
  ASSIGN_OR_RETURN(std::vector<v1::ExportApproval> approvals,
                   store_->ExportApprovals(request.id()));
  bool rejected = false, leader = false, upper = false;
  for (const auto& a : approvals) {
    if (!a.approved()) rejected = true;
    if (a.approved() && a.level() == v1::APPROVAL_LEADER) leader = true;
    if (a.approved() && a.level() == v1::APPROVAL_UPPER_TIER) upper = true;
    *out.add_approvals() = a;
  }
  if (request.downloaded_at_ms() != 0) {
    out.set_state(v1::EXPORT_DOWNLOADED);
  } else if (rejected) {
    out.set_state(v1::EXPORT_REJECTED);
  } else if (clock_->NowMs() >= request.expires_at_ms()) {
    out.set_state(v1::EXPORT_EXPIRED);
  } else if (leader && upper) {
    out.set_state(v1::EXPORT_APPROVED);
  } else {
    out.set_state(v1::EXPORT_PENDING);
  }
  if (leader && upper && !rejected) {
    for (v1::ExportField f : EffectiveFields(request, approvals)) {
      out.add_effective_fields(f);
    }
  }
  *out.mutable_request() = std::move(request);
  return out;
}

std::string RequestDigest(const v1::ExportRequest& r) {
  std::string what = absl::StrCat(r.id(), "|", r.org_id(), "|",
                                  r.include_subtree(), "|", r.requester(), "|",
                                  r.purpose(), "|", r.recipient(), "|",
                                  r.expires_at_ms(), "|");
  for (int f : r.fields()) absl::StrAppend(&what, f, ",");
  return Sha256(what);
}

// ---------------------------------------------------------------------------------------------

absl::StatusOr<v1::RequestExportResponse> Exporter::RequestExport(
    const RequestContext& ctx, const v1::RequestExportRequest& req) {
  constexpr absl::string_view kAction = "RequestExport";
  ASSIGN_OR_RETURN(Viewer viewer, auth_->Authenticate(ctx, kAction));
  const std::string org_id =
      req.org_id().empty() ? viewer.org_id : req.org_id();
  const std::string target = absl::StrCat("org/", org_id);
  auto refuse = [&](absl::Status s) {
    return Audit(viewer, ctx, kAction, target, org_id, std::move(s));
  };
  if (viewer.role != v1::DATA_ADMIN || viewer.org_id != org_id) {
    return refuse(absl::PermissionDeniedError(
        absl::StrCat("only the data administrator of '", org_id,
                     "' itself may request an export of its members (R10.2)")));
  }
  if (!HostedHere(org_id)) {
    return refuse(absl::FailedPreconditionError(absl::StrCat(
        "organisation '", org_id,
        "' is not hosted on this node: request the export at its node")));
  }
  if (auto s = ValidateText("purpose", req.purpose(), 200, true); !s.ok()) {
    return refuse(s);
  }
  if (auto s = ValidateText("recipient", req.recipient(), 50, true); !s.ok()) {
    return refuse(s);
  }
  if (absl::StrContains(req.recipient(), '-')) {
    return refuse(absl::InvalidArgumentError(
        "recipient: must not contain '-' (it separates the parts of the "
        "fingerprint)"));
  }
  if (req.include_subtree()) {
    // Every unit whose members leave needs its own leader's approval
    // (R10.1): one export per unit.
    return refuse(absl::InvalidArgumentError(
        "include_subtree: exports are per unit, each approved by that unit's "
        "own leader and its upper tier; request one export for each "
        "grassroots union"));
  }
  auto fields = CleanFields("fields", req.fields());
  if (!fields.ok()) return refuse(fields.status());
  if (fields->empty()) {
    return refuse(
        absl::InvalidArgumentError("fields: name at least one field"));
  }
  const int days =
      req.valid_days() == 0 ? options_.default_valid_days : req.valid_days();
  if (days < 1 || days > options_.max_valid_days) {
    return refuse(absl::InvalidArgumentError(
        absl::StrCat("valid_days: must be 1..", options_.max_valid_days)));
  }
  ASSIGN_OR_RETURN(std::string random, RandomBytes(kIdHex / 2));
  const int64_t now = clock_->NowMs();
  v1::ExportRequest r;
  r.set_id(HexEncode(random));
  r.set_org_id(org_id);
  r.set_include_subtree(req.include_subtree());
  r.set_requester(viewer.username);
  r.set_purpose(req.purpose());
  for (v1::ExportField f : *fields) r.add_fields(f);
  r.set_recipient(req.recipient());
  r.set_created_at_ms(now);
  r.set_expires_at_ms(now + days * kDayMs);
  WriteSet w;
  w.PutExportRequest(r);
  w.Audit(AuditOf(viewer, ctx, kAction, Target(r.id()), org_id, v1::AUDIT_OK,
                  absl::StrCat("fields ", FieldNames(*fields), "; recipient ",
                               r.recipient(), "; valid ", days, " days")));
  if (auto s = store_->Commit(w, viewer.username).status(); !s.ok()) {
    return refuse(s);
  }
  v1::RequestExportResponse resp;
  ASSIGN_OR_RETURN(*resp.mutable_export_(), StatusOf(std::move(r)));
  return resp;
}

absl::StatusOr<v1::ApproveExportResponse> Exporter::ApproveExport(
    const RequestContext& ctx, const v1::ApproveExportRequest& req) {
  constexpr absl::string_view kAction = "ApproveExport";
  ASSIGN_OR_RETURN(Viewer viewer, auth_->Authenticate(ctx, kAction));
  const std::string target = Target(req.request_id());
  std::string target_org;
  auto refuse = [&](absl::Status s) {
    return Audit(viewer, ctx, kAction, target, target_org, std::move(s));
  };
  if (auto s = ValidateRequestId(req.request_id()); !s.ok()) return refuse(s);
  auto request = FindRequest(*store_, req.request_id(),
                             " on this node (not arrived yet?)");
  if (!request.ok()) return refuse(request.status());
  target_org = request->org_id();
  auto org = store_->GetOrg(request->org_id());
  if (!org.ok()) return refuse(org.status());

  // The level follows from the caller's role.
  v1::ApprovalLevel level;
  if (viewer.role == v1::UNIT_LEADER) {
    level = v1::APPROVAL_LEADER;
  } else if (viewer.role == v1::DATA_ADMIN || viewer.role == v1::REVIEWER) {
    level = v1::APPROVAL_UPPER_TIER;
  } else {
    return refuse(absl::PermissionDeniedError(
        "only a unit's responsible leader or the upper-tier union's data "
        "administrator or reviewer may approve an export"));
  }
  if (viewer.username == request->requester()) {
    return refuse(absl::PermissionDeniedError(
        "self-approval: you requested this export; it must be approved by "
        "others (R11: whoever approves is responsible)"));
  }
  // Independent approvers: never an account the requester created.
  if (auto me = store_->GetAccount(viewer.username);
      !me.ok() || me->created_by() == request->requester()) {
    return refuse(absl::PermissionDeniedError(
        me.ok() ? absl::StrCat("your account was created by the requester '",
                               request->requester(),
                               "'; an approver must be independent of the "
                               "requester (R11)")
                : std::string("your account is not held on this node")));
  }
  if (level == v1::APPROVAL_LEADER) {
    if (viewer.org_id != request->org_id()) {
      return refuse(absl::PermissionDeniedError(
          absl::StrCat("only the responsible leader of '", request->org_id(),
                       "' may approve its export as leader; you lead '",
                       viewer.org_id, "'")));
    }
    if (!HostedHere(request->org_id())) {
      return refuse(absl::FailedPreconditionError(
          absl::StrCat("the leader's approval is given at the node hosting '",
                       request->org_id(), "'")));
    }
  } else {
    if (viewer.org_id != org->parent_id()) {
      const std::string why =
          viewer.org_id == request->org_id()
              ? "the unit itself cannot approve as its upper tier"
              : absl::StrCat("'", viewer.org_id, "' is not the upper tier of '",
                             request->org_id(), "'");
      return refuse(absl::PermissionDeniedError(absl::StrCat(
          "wrong tier: ", why, "; only a data administrator of its parent '",
          org->parent_id(), "' may approve (R11: tier by tier)")));
    }
    if (!HostedHere(org->parent_id())) {
      return refuse(absl::FailedPreconditionError(absl::StrCat(
          "the upper tier's approval is given at the node hosting '",
          org->parent_id(), "'")));
    }
  }
  const int64_t now = clock_->NowMs();
  if (request->downloaded_at_ms() != 0) {
    return refuse(absl::FailedPreconditionError(
        "the export has already been downloaded"));
  }
  if (now >= request->expires_at_ms()) {
    return refuse(absl::FailedPreconditionError(
        "the export request has expired; the unit must request again"));
  }
  ASSIGN_OR_RETURN(std::vector<v1::ExportApproval> approvals,
                   store_->ExportApprovals(request->id()));
  for (const auto& a : approvals) {
    if (a.level() == level) {
      return refuse(absl::FailedPreconditionError(
          absl::StrCat("already ", a.approved() ? "approved" : "rejected",
                       " by '", a.approver(), "' as ", LevelName(level))));
    }
  }
  auto allowed = CleanFields("allowed_fields", req.allowed_fields());
  if (!allowed.ok()) return refuse(allowed.status());
  std::vector<v1::ExportField> requested;
  for (int f : request->fields()) {
    requested.push_back(static_cast<v1::ExportField>(f));
  }
  if (allowed->empty()) {
    for (v1::ExportField f : requested) {
      if (f != v1::EXPORT_ID_NUMBER && f != v1::EXPORT_PHONE) {
        allowed->push_back(f);
      }
    }
  } else {
    for (v1::ExportField f : *allowed) {
      if (!Has(requested, f)) {
        return refuse(absl::InvalidArgumentError(
            absl::StrCat("allowed_fields: ", v1::ExportField_Name(f),
                         " was not requested")));
      }
    }
  }
  if (auto s = ValidateText("note", req.note(), 200, false); !s.ok()) {
    return refuse(s);
  }
  v1::ExportApproval a;
  a.set_request_id(request->id());
  a.set_org_id(request->org_id());
  a.set_level(level);
  a.set_approver(viewer.username);
  a.set_approver_org(viewer.org_id);
  a.set_approved(!req.reject());
  if (!req.reject()) {
    for (v1::ExportField f : *allowed) a.add_allowed_fields(f);
  }
  a.set_note(req.note());
  a.set_decided_at_ms(now);
  a.set_request_digest(RequestDigest(*request));
  WriteSet w;
  w.PutExportApproval(a);
  w.Audit(AuditOf(
      viewer, ctx, kAction, target, target_org, v1::AUDIT_OK,
      absl::StrCat(req.reject() ? "rejected" : "approved", " as ",
                   v1::ApprovalLevel_Name(level),
                   req.reject()
                       ? ""
                       : absl::StrCat("; allowed ", FieldNames(*allowed)))));
  if (auto s = store_->Commit(w, viewer.username).status(); !s.ok()) {
    return refuse(s);
  }
  v1::ApproveExportResponse resp;
  ASSIGN_OR_RETURN(*resp.mutable_export_(), StatusOf(*std::move(request)));
  return resp;
}

absl::StatusOr<v1::ListExportRequestsResponse> Exporter::ListExportRequests(
    const RequestContext& ctx, const v1::ListExportRequestsRequest& req) {
  constexpr absl::string_view kAction = "ListExportRequests";
  ASSIGN_OR_RETURN(Viewer viewer, auth_->Authenticate(ctx, kAction));
  const std::string org_id =
      req.org_id().empty() ? viewer.org_id : req.org_id();
  auto refuse = [&](absl::Status s) {
    return Audit(viewer, ctx, kAction, absl::StrCat("org/", org_id), org_id,
                 std::move(s));
  };
  if (viewer.role != v1::DATA_ADMIN && viewer.role != v1::UNIT_LEADER) {
    return refuse(absl::PermissionDeniedError(
        "only data administrators and responsible leaders see export "
        "requests"));
  }
  std::vector<std::string> orgs;
  if (org_id == viewer.org_id) {
    orgs.push_back(org_id);
    if (viewer.role == v1::DATA_ADMIN) {
      std::string after;
      while (true) {
        ASSIGN_OR_RETURN(std::vector<v1::Org> children,
                         store_->ListChildren(org_id, after, 1024));
        for (const auto& c : children) orgs.push_back(after = c.id());
        if (children.size() < 1024) break;
      }
    }
  } else {
    auto org = store_->GetOrg(org_id);
    if (viewer.role != v1::DATA_ADMIN || !org.ok() ||
        org->parent_id() != viewer.org_id) {
      return refuse(absl::PermissionDeniedError(absl::StrCat(
          "export requests of '", org_id,
          "' are for its own administrator and leader and its upper tier")));
    }
    orgs.push_back(org_id);
  }
  std::vector<v1::ExportStatus> out;
  for (const std::string& o : orgs) {
    ASSIGN_OR_RETURN(std::vector<std::string> ids,
                     store_->ExportRequestsOfOrg(o));
    for (const std::string& id : ids) {
      ASSIGN_OR_RETURN(v1::ExportRequest r, store_->GetExportRequest(id));
      ASSIGN_OR_RETURN(v1::ExportStatus s, StatusOf(std::move(r)));
      out.push_back(std::move(s));
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.request().created_at_ms() > b.request().created_at_ms();
  });
  v1::ListExportRequestsResponse resp;
  for (auto& s : out) *resp.add_exports() = std::move(s);
  return resp;
}

absl::StatusOr<v1::DownloadExportResponse> Exporter::DownloadExport(
    const RequestContext& ctx, const v1::DownloadExportRequest& req) {
  constexpr absl::string_view kAction = "DownloadExport";
  ASSIGN_OR_RETURN(Viewer viewer, auth_->Authenticate(ctx, kAction));
  const std::string target = Target(req.request_id());
  std::string target_org;
  auto refuse = [&](absl::Status s) {
    return Audit(viewer, ctx, kAction, target, target_org, std::move(s));
  };
  if (auto s = ValidateRequestId(req.request_id()); !s.ok()) return refuse(s);
  absl::MutexLock lock(&download_mu_);
  auto request = FindRequest(*store_, req.request_id(), "");
  if (!request.ok()) return refuse(request.status());
  target_org = request->org_id();
  if (viewer.username != request->requester()) {
    return refuse(absl::PermissionDeniedError(
        absl::StrCat("only the requester '", request->requester(),
                     "' may download this export")));
  }
  if (!HostedHere(request->org_id())) {
    return refuse(absl::FailedPreconditionError(absl::StrCat(
        "download the export at the node hosting '", request->org_id(), "'")));
  }
  if (request->downloaded_at_ms() != 0) {
    return refuse(absl::FailedPreconditionError(
        absl::StrCat("already downloaded by '", request->downloaded_by(),
                     "': an approved export runs once; request a new one")));
  }
  const int64_t now = clock_->NowMs();
  if (now >= request->expires_at_ms()) {
    return refuse(absl::FailedPreconditionError(
        "the export request has expired; request a new one"));
  }
  ASSIGN_OR_RETURN(v1::Org org, store_->GetOrg(request->org_id()));
  ASSIGN_OR_RETURN(std::vector<v1::ExportApproval> approvals,
                   store_->ExportApprovals(request->id()));
  // Both decisions, each by the right tier (checked again here: an approval
  // arrives by replication).
  const v1::ExportApproval* leader = nullptr;
  const v1::ExportApproval* upper = nullptr;
  for (const auto& a : approvals) {
    if (!a.approved()) {
      return refuse(absl::FailedPreconditionError(absl::StrCat(
          "rejected by '", a.approver(), "' (", LevelName(a.level()), ")")));
    }
    // An approval covers exactly the request its approver read.
    if (a.request_digest() != RequestDigest(*request)) continue;
    if (a.level() == v1::APPROVAL_LEADER && a.approver_org() == org.id() &&
        a.approver() != request->requester()) {
      leader = &a;
    }
    if (a.level() == v1::APPROVAL_UPPER_TIER &&
        a.approver_org() == org.parent_id() &&
        a.approver() != request->requester()) {
      upper = &a;
    }
  }
  if (leader == nullptr || upper == nullptr) {
    std::vector<std::string> missing;
    if (leader == nullptr) missing.push_back(LevelName(v1::APPROVAL_LEADER));
    if (upper == nullptr) missing.push_back(LevelName(v1::APPROVAL_UPPER_TIER));
    return refuse(absl::FailedPreconditionError(absl::StrCat(
        "not approved yet: waiting for ", absl::StrJoin(missing, " and "))));
  }
  const std::vector<v1::ExportField> fields =
      EffectiveFields(*request, {*leader, *upper});

  // The members, the organisation's own and (optionally) its subtree's.
  std::vector<v1::Member> members;
  std::deque<std::string> orgs = {org.id()};
  while (!orgs.empty()) {
    const std::string o = orgs.front();
    orgs.pop_front();
    std::string after;
    while (true) {
      ASSIGN_OR_RETURN(std::vector<v1::Member> page,
                       store_->ListMembers(o, after, 1024));
      for (auto& m : page) {
        after = m.id();
        if (m.status() != v1::MEMBER_ACTIVE) continue;
        members.push_back(Restricted(std::move(m), fields));
      }
      if (page.size() < 1024) break;
      if (members.size() > options_.max_members) break;
    }
    if (members.size() > options_.max_members) {
      return refuse(absl::FailedPreconditionError(
          absl::StrCat("more than ", options_.max_members,
                       " members: too many for one export")));
    }
    if (!request->include_subtree()) break;
    after.clear();
    while (true) {
      ASSIGN_OR_RETURN(std::vector<v1::Org> children,
                       store_->ListChildren(o, after, 1024));
      for (const auto& c : children) orgs.push_back(after = c.id());
      if (children.size() < 1024) break;
    }
  }

  ASSIGN_OR_RETURN(std::string key, NodeKey());
  const std::string fingerprint = Fingerprint(key, *request, now);
  const bool csv = req.format() == v1::FILE_FORMAT_CSV;
  ingest::ExportOptions options;
  options.file.format =
      csv ? ingest::FileFormat::kCsv : ingest::FileFormat::kXlsx;
  options.file.fingerprint = fingerprint;
  options.mask.id_number = !Has(fields, v1::EXPORT_ID_NUMBER);
  options.mask.phone = !Has(fields, v1::EXPORT_PHONE);
  auto bytes = ingest::ExportMembersToBytes(members, options);
  if (!bytes.ok()) return refuse(bytes.status());
  if (bytes->size() > options_.max_bytes) {
    return refuse(absl::FailedPreconditionError(
        absl::StrCat("the file would be ", bytes->size(),
                     " bytes, more than the limit of ", options_.max_bytes)));
  }

  // Marked downloaded in the commit of the audit entry, before the bytes
  // leave: a second download is refused even if this reply is lost.
  v1::ExportRequest done = *request;
  done.set_downloaded_at_ms(now);
  done.set_downloaded_by(viewer.username);
  done.set_fingerprint(fingerprint);
  done.set_file_format(csv ? "csv" : "xlsx");
  done.set_member_count(static_cast<int64_t>(members.size()));
  WriteSet w;
  w.PutExportRequest(done);
  w.Audit(
      AuditOf(viewer, ctx, kAction, target, target_org, v1::AUDIT_OK,
              absl::StrCat(members.size(), " members, fields ",
                           FieldNames(fields), "; recipient ", done.recipient(),
                           "; fingerprint ", fingerprint)));
  if (auto s = store_->Commit(w, viewer.username).status(); !s.ok()) {
    return refuse(s);
  }
  v1::DownloadExportResponse resp;
  resp.set_content(*std::move(bytes));
  resp.set_filename(absl::StrCat("export-", done.id(), csv ? ".csv" : ".xlsx"));
  resp.set_fingerprint(fingerprint);
  resp.set_member_count(done.member_count());
  ASSIGN_OR_RETURN(*resp.mutable_export_(), StatusOf(std::move(done)));
  return resp;
}

absl::StatusOr<v1::TraceExportResponse> Exporter::TraceExport(
    const RequestContext& ctx, const v1::TraceExportRequest& req) {
  constexpr absl::string_view kAction = "TraceExport";
  ASSIGN_OR_RETURN(Viewer viewer, auth_->Authenticate(ctx, kAction));
  std::string target = "export/";
  std::string target_org;
  auto refuse = [&](absl::Status s) {
    return Audit(viewer, ctx, kAction, target, target_org, std::move(s));
  };
  if (viewer.role != v1::DATA_ADMIN) {
    return refuse(absl::PermissionDeniedError(
        "exports are traced by data administrators"));
  }
  std::string fingerprint(absl::StripAsciiWhitespace(req.fingerprint()));
  if (fingerprint.empty()) {
    if (req.file().empty()) {
      return refuse(
          absl::InvalidArgumentError("send the file or its fingerprint"));
    }
    auto reader = ingest::OpenTableBytes(req.file());
    if (!reader.ok()) {
      return refuse(absl::InvalidArgumentError(
          absl::StrCat("the file cannot be read as CSV or XLSX: ",
                       reader.status().message())));
    }
    // A CSV reader finds the fingerprint line with the first row.
    if ((*reader)->fingerprint().empty()) (void)(*reader)->Next();
    fingerprint = (*reader)->fingerprint();
    if (fingerprint.empty()) {
      return refuse(
          absl::InvalidArgumentError("the file carries no export fingerprint"));
    }
  }
  auto id = RequestIdOf(fingerprint);
  if (!id.ok()) return refuse(id.status());
  target = Target(*id);
  auto request = FindRequest(*store_, *id, " on this node");
  if (!request.ok()) return refuse(request.status());
  target_org = request->org_id();
  ASSIGN_OR_RETURN(bool inside,
                   store_->IsInSubtree(request->org_id(), viewer.org_id));
  if (!inside) {
    return refuse(absl::PermissionDeniedError(
        absl::StrCat("export '", *id, "' is of '", request->org_id(),
                     "', outside your organisation's subtree")));
  }
  if (request->downloaded_at_ms() == 0 || request->fingerprint().empty()) {
    return refuse(absl::FailedPreconditionError(absl::StrCat(
        "export '", *id, "' was never downloaded: the fingerprint is forged")));
  }
  // Any node holding the request can trace the file: the producing node
  // recorded the fingerprint it issued in the request, which replicates up.
  // The producing node also recomputes the keyed check with its own key.
  if (!ConstantTimeEquals(request->fingerprint(), fingerprint)) {
    return refuse(absl::InvalidArgumentError(
        "the fingerprint does not verify: it was altered or forged (it is not "
        "the one recorded for the request when the file was produced)"));
  }
  const bool producer = HostedHere(request->org_id());
  if (producer) {
    ASSIGN_OR_RETURN(std::string key, NodeKey());
    const std::string expected =
        Fingerprint(key, *request, request->downloaded_at_ms());
    if (!ConstantTimeEquals(expected, fingerprint)) {
      return refuse(absl::InvalidArgumentError(
          "the fingerprint does not verify: it was altered or forged (it is "
          "not the one this node issued for the request)"));
    }
  }
  RETURN_IF_ERROR(
      Audit(viewer, ctx, kAction, target, target_org, absl::OkStatus(),
            absl::StrCat(producer ? "traced (keyed check recomputed)"
                                  : "traced (matched the replicated record)",
                         ": requested by ", request->requester(),
                         ", recipient ", request->recipient())));
  v1::TraceExportResponse resp;
  resp.set_fingerprint(fingerprint);
  ASSIGN_OR_RETURN(*resp.mutable_export_(), StatusOf(*std::move(request)));
  return resp;
}

}  // namespace unionsync
