#include "node/store_view.h"

#include "common/status_macros.h"

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
