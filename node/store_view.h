// The replication core's view of a node (repl::NodeView) over its Store.
#ifndef UNIONSYNC_NODE_STORE_VIEW_H_
#define UNIONSYNC_NODE_STORE_VIEW_H_

#include <functional>
#include <map>
#include <string>

#include "repl/link_core.h"
#include "repl/node_view.h"
#include "store/store.h"

namespace unionsync {

class StoreView final : public repl::NodeView {
 public:
  explicit StoreView(const Store* store) : store_(store) {}

  std::string node_id() const override { return store_->node_id(); }
  std::string incarnation() const override { return store_->incarnation(); }
  uint64_t log_end() const override { return store_->next_log_pos(); }
  uint64_t own_last_seq() const override { return store_->own_last_seq(); }
  absl::StatusOr<std::vector<v1::Change>> ReadLog(uint64_t from,
                                                  size_t max) const override {
    return store_->ReadLog(from, max);
  }
  absl::StatusOr<std::vector<v1::Change>> ReadDownLog(
      uint64_t from, size_t max) const override {
    return store_->ReadDownLog(from, max);
  }
  absl::StatusOr<bool> InSubtree(const std::string& org,
                                 const std::string& ancestor) const override {
    return store_->IsInSubtree(org, ancestor);
  }
  absl::StatusOr<repl::Cursor> GetCursor(
      const std::string& peer) const override;
  absl::StatusOr<uint64_t> AppliedSeq(
      const std::string& origin,
      const std::string& incarnation) const override {
    return store_->AppliedSeq(origin, incarnation);
  }
  absl::StatusOr<repl::SubtreeDigest> Digest(
      const std::string& org) const override;
  absl::StatusOr<std::vector<v1::Change>> Snapshot(
      const std::string& org) const override {
    return store_->OrgSnapshot(org);
  }
  absl::StatusOr<std::vector<std::string>> Children(
      const std::string& org) const override;
  repl::AuditChainHead audit_head() const override {
    AuditHead h = store_->audit_head();
    return repl::AuditChainHead{h.seq, h.hash};
  }
  absl::StatusOr<std::string> AuditHashAt(uint64_t seq) const override;
  absl::StatusOr<std::optional<v1::AuditHeadState>> PeerAuditHead(
      const std::string& peer) const override;
  // Heartbeats: what the node's links below say (set by the link worker,
  // which calls it on its own thread).
  std::map<std::string, int64_t> SeenBelow() const override {
    return seen_below_ ? seen_below_() : std::map<std::string, int64_t>();
  }
  void set_seen_below(std::function<std::map<std::string, int64_t>()> f) {
    seen_below_ = std::move(f);
  }

 private:
  const Store* store_;
  std::function<std::map<std::string, int64_t>()> seen_below_;
};

// Persists one Ready::apply of a link core into `store`. The rvalue form moves
// the changes instead of copying them.
absl::StatusOr<repl::ApplyOutcome> ApplyToStore(Store& store,
                                                repl::ApplyRequest&& req);
absl::StatusOr<repl::ApplyOutcome> ApplyToStore(Store& store,
                                                const repl::ApplyRequest& req);

// Persists one Ready::audit_head of a parent-side link core: the child's head
// in local state and, on an alarm, an audit entry ("AuditChainAlarm") and, at
// the hub (the node whose organisation has no parent), an open
// AUDIT_CHAIN_BROKEN warning about the child. One commit.
absl::Status RecordAuditHead(Store& store, const repl::AuditHeadUpdate& update,
                             int64_t now_ms);

}  // namespace unionsync

#endif  // UNIONSYNC_NODE_STORE_VIEW_H_
