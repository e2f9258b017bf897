// What the replication core reads from its node. The core never writes: what
// to persist comes out of LinkCore::TakeReady() for the driver to apply.
// Production implements this over the RocksDB store (node/store_view.h);
// implementations must be deterministic for the simulation to replay.
#ifndef UNIONSYNC_REPL_NODE_VIEW_H_
#define UNIONSYNC_REPL_NODE_VIEW_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "unionsync/v1/model.pb.h"

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
};

}  // namespace unionsync::repl

#endif  // UNIONSYNC_REPL_NODE_VIEW_H_
