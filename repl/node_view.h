// What the replication core reads from its node. The core never writes: what
// to persist comes out of LinkCore::TakeReady() for the driver to apply.
// Production implements this over the RocksDB store (node/store_view.h);
// implementations must be deterministic for the simulation to replay.
#ifndef UNIONSYNC_REPL_NODE_VIEW_H_
#define UNIONSYNC_REPL_NODE_VIEW_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "unionsync/v1/model.pb.h"
#include "unionsync/v1/replication.pb.h"

namespace unionsync::repl {

struct Cursor {
  std::string peer_incarnation;
  uint64_t pos = 0;
};

struct SubtreeDigest {
  std::string digest;      // Subtree digest of the organisation.
  std::string own_digest;  // Of its own records only.
  std::vector<std::pair<std::string, std::string>> children;  // (id, digest)
};

// The head of a node's hash-chained audit log.
struct AuditChainHead {
  uint64_t seq = 0;
  std::string hash;
};

class NodeView {
 public:
  virtual ~NodeView() = default;

  virtual std::string node_id() const = 0;
  virtual std::string incarnation() const = 0;
  // Position the next log entry will get.
  virtual uint64_t log_end() const = 0;
  // Sequence of the newest local change of the current incarnation.
  virtual uint64_t own_last_seq() const = 0;
  // Log entries with log_pos >= from, at most `max`.
  virtual absl::StatusOr<std::vector<v1::Change>> ReadLog(uint64_t from,
                                                          size_t max) const = 0;
  // Only entries a parent may send down (registrations and accounts written
  // here or received from above), log_pos >= from, at most `max`.
  virtual absl::StatusOr<std::vector<v1::Change>> ReadDownLog(
      uint64_t from, size_t max) const = 0;
  // True when `org` is `ancestor` or lies below it.
  virtual absl::StatusOr<bool> InSubtree(const std::string& org,
                                         const std::string& ancestor) const = 0;
  virtual absl::StatusOr<Cursor> GetCursor(const std::string& peer) const = 0;
  virtual absl::StatusOr<uint64_t> AppliedSeq(
      const std::string& origin, const std::string& incarnation) const = 0;
  // NOT_FOUND when this node does not hold the organisation.
  virtual absl::StatusOr<SubtreeDigest> Digest(
      const std::string& org) const = 0;
  // Repair snapshot of one organisation's own records.
  virtual absl::StatusOr<std::vector<v1::Change>> Snapshot(
      const std::string& org) const = 0;
  // Children of `org` held here, in id order.
  virtual absl::StatusOr<std::vector<std::string>> Children(
      const std::string& org) const = 0;

  // Heartbeats: the nodes below this one that run their own node, with the
  // last time this node heard from each (node id -> unix ms). A view without
  // links below reports none.
  virtual std::map<std::string, int64_t> SeenBelow() const { return {}; }

  // Audit chain heads (docs/REPLICATION.md, "Audit chain heads"). A view
  // without an audit log reports the empty chain.
  // This node's audit head.
  virtual AuditChainHead audit_head() const {
    return AuditChainHead{0, std::string(32, '\0')};
  }
  // The hash of entry `seq` of this node's audit log, recomputed from the
  // entry (32 zero bytes for 0); NOT_FOUND when there is no such entry.
  virtual absl::StatusOr<std::string> AuditHashAt(uint64_t seq) const {
    if (seq == 0) return std::string(32, '\0');
    return absl::NotFoundError("no audit log");
  }
  // What this node last recorded of `peer`'s audit chain; nullopt when
  // nothing.
  virtual absl::StatusOr<std::optional<v1::AuditHeadState>> PeerAuditHead(
      const std::string& peer) const {
    return std::optional<v1::AuditHeadState>();
  }
};

}  // namespace unionsync::repl

#endif  // UNIONSYNC_REPL_NODE_VIEW_H_
