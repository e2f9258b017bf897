#include "node/store_view.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "monitor/records.h"

namespace unionsync {

absl::StatusOr<repl::Cursor> StoreView::GetCursor(
    const std::string& peer) const {
  ASSIGN_OR_RETURN(LinkCursor c, store_->GetCursor(peer));
  return repl::Cursor{c.peer_incarnation, c.pos};
}

absl::StatusOr<repl::SubtreeDigest> StoreView::Digest(
    const std::string& org) const {
  RETURN_IF_ERROR(store_->GetOrg(org).status());
  repl::SubtreeDigest out;
  ASSIGN_OR_RETURN(v1::SubtreeCounters counters, store_->GetCounters(org));
  out.digest = counters.digest();
  ASSIGN_OR_RETURN(out.own_digest, store_->OwnDigest(org));
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<v1::Org> children,
                     store_->ListChildren(org, after, 1024));
    for (const auto& child : children) {
      after = child.id();
      ASSIGN_OR_RETURN(v1::SubtreeCounters c, store_->GetCounters(child.id()));
      out.children.emplace_back(child.id(), c.digest());
    }
    if (children.size() < 1024) break;
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> StoreView::Children(
    const std::string& org) const {
  std::vector<std::string> out;
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<v1::Org> children,
                     store_->ListChildren(org, after, 1024));
    for (const auto& child : children) out.push_back(after = child.id());
    if (children.size() < 1024) break;
  }
  return out;
}

absl::StatusOr<std::string> StoreView::AuditHashAt(uint64_t seq) const {
  if (seq == 0) return std::string(32, '\0');
  ASSIGN_OR_RETURN(std::vector<v1::AuditEntry> entries,
                   store_->ReadAudit(seq, 1));
  if (entries.empty() || entries[0].seq() != seq) {
    return absl::NotFoundError(absl::StrCat("no audit entry ", seq));
  }
  return Store::AuditEntryHash(entries[0]);
}

absl::StatusOr<std::optional<v1::AuditHeadState>> StoreView::PeerAuditHead(
    const std::string& peer) const {
  ASSIGN_OR_RETURN(std::optional<std::string> raw,
                   store_->GetLocal(repl::AuditHeadKey(peer)));
  if (!raw.has_value()) return std::optional<v1::AuditHeadState>();
  v1::AuditHeadState state;
  if (!state.ParseFromString(*raw)) {
    return absl::DataLossError(
        absl::StrCat("undecodable audit head of ", peer));
  }
  return std::optional<v1::AuditHeadState>(std::move(state));
}

absl::Status RecordAuditHead(Store& store, const repl::AuditHeadUpdate& update,
                             int64_t now_ms) {
  WriteSet w;
  w.PutLocal(repl::AuditHeadKey(update.peer), update.state.SerializeAsString());
  if (!update.alarm.empty()) {
    v1::AuditEntry e;
    e.set_time_ms(now_ms);
    e.set_actor("system");
    e.set_action("AuditChainAlarm");
    e.set_target(absl::StrCat("node/", update.peer));
    e.set_target_org(update.peer);
    e.set_outcome(v1::AUDIT_DENIED);
    e.set_detail(update.alarm.substr(0, 500));
    w.Audit(std::move(e));
    auto own = store.GetOrg(store.node_id());
    if (own.ok() && own->parent_id().empty()) {
      WarningSpec spec;
      spec.id = absl::StrCat("audit/", update.peer);
      spec.kind = v1::AUDIT_CHAIN_BROKEN;
      spec.severity = v1::SEVERITY_SERIOUS;
      spec.org_id = update.peer;
      spec.subject = update.peer;
      spec.text =
          absl::StrCat("节点「", update.peer,
                       "」的审计日志与上次同步时不一致（记录被删除或改写），"
                       "请立即核查该节点的服务器和数据访问情况。详情：",
                       update.alarm);
      std::optional<v1::Warning> existing;
      auto held = store.GetWarning(spec.id);
      if (held.ok()) {
        existing = *std::move(held);
      } else if (!absl::IsNotFound(held.status())) {
        return held.status();
      }
      if (auto raised = RaiseWarning(existing, spec, now_ms)) {
        w.PutWarning(*std::move(raised));
      }
    }
  }
  return store.Commit(w, "system").status();
}

absl::StatusOr<repl::ApplyOutcome> ApplyToStore(Store& store,
                                                const repl::ApplyRequest& req) {
  repl::ApplyRequest copy = req;
  return ApplyToStore(store, std::move(copy));
}

absl::StatusOr<repl::ApplyOutcome> ApplyToStore(Store& store,
                                                repl::ApplyRequest&& req) {
  ReplicatedBatch batch;
  batch.source = req.from_parent ? ReplicatedBatch::Source::kParent
                                 : ReplicatedBatch::Source::kChild;
  batch.peer = req.peer;
  batch.peer_incarnation = req.peer_incarnation;
  batch.last_pos = req.last_pos;
  batch.changes = std::move(req.changes);
  batch.repair = req.repair;
  ASSIGN_OR_RETURN(ApplyResult r, store.ApplyReplicated(std::move(batch)));
  return repl::ApplyOutcome{r.applied, r.duplicates, r.rejected};
}

}  // namespace unionsync
