#include "node/admin.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/crypto.h"
#include "common/org_rules.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "node/admin_internal.h"

namespace unionsync {

using namespace admin_internal;  // NOLINT: this layer's own helpers.

// ---------------------------------------------------------------------------------------------
// Operators

absl::Status Admin::RequireOperator(const Caller& caller,
                                    absl::string_view action,
                                    absl::string_view reason) {
  // The role (operator or data administrator) was checked by the policy
  // table; operators act for the node's own organisation only.
  if (caller.session.org_id != store_->node_id()) {
    return Deny(caller, action, absl::StrCat("node/", store_->node_id()),
                reason);
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::GetReplicationStatusResponse> Admin::GetReplicationStatus(
    const CallContext& ctx, const v1::GetReplicationStatusRequest&) {
  constexpr absl::string_view kAction = "GetReplicationStatus";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  RETURN_IF_ERROR(RequireOperator(caller, kAction));
  v1::GetReplicationStatusResponse resp;
  if (replication_ != nullptr) resp = replication_->ReplicationStatus();
  resp.set_node_id(store_->node_id());
  resp.set_incarnation(store_->incarnation());
  resp.set_log_end(store_->next_log_pos());
  return resp;
}

absl::StatusOr<v1::ForceResyncResponse> Admin::ForceResync(
    const CallContext& ctx, const v1::ForceResyncRequest& req) {
  constexpr absl::string_view kAction = "ForceResync";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  RETURN_IF_ERROR(RequireOperator(caller, kAction));
  const std::string target = absl::StrCat("node/", req.child_id());
  if (auto s = ValidateIdentifier("child_id", req.child_id()); !s.ok()) {
    return Fail(caller, kAction, target, s);
  }
  if (replication_ == nullptr) {
    return Fail(caller, kAction, target,
                absl::FailedPreconditionError(
                    "this node has no replication configured"));
  }
  if (auto s = replication_->ForceResync(req.child_id()); !s.ok()) {
    return Fail(caller, kAction, target, s);
  }
  RETURN_IF_ERROR(AuditOnly(AuditOf(caller, kAction, target, v1::AUDIT_OK)));
  return v1::ForceResyncResponse();
}

// ---------------------------------------------------------------------------------------------
// Audit log

absl::StatusOr<v1::VerifyAuditResponse> Admin::VerifyAudit(
    const CallContext& ctx, const v1::VerifyAuditRequest&) {
  constexpr absl::string_view kAction = "VerifyAudit";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  RETURN_IF_ERROR(RequireOperator(
      caller, kAction,
      "the node's audit log is verified by the data administrator of the "
      "node's own organisation"));
  const std::string target = absl::StrCat("node/", store_->node_id());
  absl::StatusOr<AuditVerification> v = store_->VerifyAudit();
  if (!v.ok()) return Fail(caller, kAction, target, v.status());
  v1::VerifyAuditResponse resp;
  resp.set_intact(v->intact);
  resp.set_entries(v->entries);
  resp.set_first_broken_seq(v->first_broken);
  resp.set_head_seq(v->head.seq);
  resp.set_head_hash(v->head.hash);
  resp.set_detail(v->detail);
  RETURN_IF_ERROR(AuditOnly(
      AuditOf(caller, kAction, target, v1::AUDIT_OK,
              v->intact ? absl::StrCat("intact: ", v->entries, " entries")
                        : absl::StrCat("broken at entry ", v->first_broken,
                                       ": ", v->detail))));
  return resp;
}

absl::StatusOr<v1::SearchAuditResponse> Admin::SearchAudit(
    const CallContext& ctx, const v1::SearchAuditRequest& req) {
  constexpr absl::string_view kAction = "SearchAudit";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  const std::string target = absl::StrCat("audit/", store_->node_id());
  auto fail = [&](absl::Status s) {
    return Fail(caller, kAction, target, std::move(s));
  };
  AuditQuery q;
  // Usernames, node and organisation ids and action names: short, and
  // never with '/' (the index key separator).
  for (const auto& [field, value] :
       {std::pair<const char*, const std::string*>{"actor", &req.actor()},
        {"org_id", &req.org_id()},
        {"action", &req.action()}}) {
    const bool ok =
        value->size() <= 64 &&
        std::all_of(value->begin(), value->end(), [](char c) {
          return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                 c == '.' || c == '-' || c == '_' || c == '@';
        });
    if (!ok) {
      return fail(absl::InvalidArgumentError(absl::StrCat(
          field, ": at most 64 letters, digits and '.', '-', '_', '@'")));
    }
  }
  if (req.from_ms() < 0 || req.to_ms() < 0 ||
      (req.to_ms() > 0 && req.to_ms() <= req.from_ms())) {
    return fail(absl::InvalidArgumentError(
        "from_ms / to_ms: times in ms since the epoch, from before to"));
  }
  auto size = PageSize(req.page_size());
  if (!size.ok()) return fail(size.status());
  auto token = DecodePageToken(req.page_token());
  if (!token.ok()) return fail(token.status());
  if (!token->empty() && !absl::SimpleAtoi(*token, &q.after_seq)) {
    return fail(absl::InvalidArgumentError(
        "page_token: not a token this server issued"));
  }
  q.actor = req.actor();
  q.org_id = req.org_id();
  q.action = req.action();
  q.from_ms = req.from_ms();
  q.to_ms = req.to_ms();
  q.limit = static_cast<size_t>(*size);
  const bool op = caller.session.org_id == store_->node_id();
  if (req.subtree()) {
    // The parent tier's view: everything done in or to its subtree (or to
    // the subtree of one organisation in it).
    q.subtree_of = q.org_id.empty() ? caller.session.org_id : q.org_id;
    q.org_id.clear();
    RETURN_IF_ERROR(RequireInSubtree(caller, kAction, q.subtree_of));
  } else if (!op) {
    // Least access (R10.2, R11): one organisation of the caller's subtree at
    // a time, entries whose actor or target belongs to it.
    if (q.org_id.empty()) q.org_id = caller.session.org_id;
    RETURN_IF_ERROR(RequireInSubtree(caller, kAction, q.org_id));
  }
  absl::StatusOr<AuditPage> page = store_->SearchAudit(q);
  if (!page.ok()) return fail(page.status());
  v1::SearchAuditResponse resp;
  for (auto& e : page->entries) *resp.add_entries() = std::move(e);
  if (page->resume_after != 0) {
    resp.set_next_page_token(Base64Encode(absl::StrCat(page->resume_after)));
  }
  std::string filters;
  for (const auto& [name, value] :
       {std::pair<const char*, std::string>{"actor", q.actor},
        {"org", q.org_id},
        {"subtree", q.subtree_of},
        {"action", q.action},
        {"from_ms", q.from_ms > 0 ? absl::StrCat(q.from_ms) : ""},
        {"to_ms", q.to_ms > 0 ? absl::StrCat(q.to_ms) : ""},
        {"after", q.after_seq > 0 ? absl::StrCat(q.after_seq) : ""}}) {
    if (!value.empty()) absl::StrAppend(&filters, name, "=", value, " ");
  }
  v1::AuditEntry e =
      AuditOf(caller, kAction, target, v1::AUDIT_OK,
              absl::StrCat(filters, "-> ", resp.entries_size(), " entries"));
  e.set_target_org(q.org_id.empty() ? q.subtree_of : q.org_id);
  RETURN_IF_ERROR(AuditOnly(std::move(e)));
  return resp;
}


}  // namespace unionsync
