// The replication core of one end of a child-parent link, without I/O.
//
// In the style of etcd-io/raft's RawNode: the driver feeds it inputs
// (Connect, Step with a received message, Applied after persisting, Tick,
// LogAppended) and takes a Ready holding what to persist and what to send. The
// driver must persist `Ready::apply` durably, report it with Applied(), and
// only then send the messages of later Readies (acknowledgements are produced
// by Applied, so an ack never precedes the commit it covers). The core reads
// its node through NodeView and holds no wall clock: time comes in as `now_ms`.
//
// Both directions use the same machinery:
//   up   (child -> parent): every log entry whose origin lies in the child's
//        subtree (its own changes and those relayed from below);
//   down (parent -> child): registrations and accounts anchored in the child's
//        subtree whose origin is outside it (written by the parent or above).
// A sender keeps at most `window` unacknowledged batches; the backlog stays in
// the log on disk. See docs/REPLICATION.md.
//
// Not thread-safe: one driver thread owns each LinkCore.
#ifndef UNIONSYNC_REPL_LINK_CORE_H_
#define UNIONSYNC_REPL_LINK_CORE_H_

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "repl/node_view.h"
#include "unionsync/v1/replication.pb.h"

namespace unionsync::repl {

// The replication protocol versions this build speaks. A session speaks the
// highest both ends speak (negotiated in the Hello exchange).
inline constexpr uint32_t kProtocolVersion = 1;
inline constexpr uint32_t kMinProtocolVersion = 1;

// The version a session speaks when this side speaks [kMinProtocolVersion,
// kProtocolVersion] and the peer [peer_min, peer_max] (peer_min 0: peer_max
// only); FAILED_PRECONDITION naming both ranges when they do not overlap.
absl::StatusOr<uint32_t> NegotiateProtocol(uint32_t peer_max,
                                           uint32_t peer_min);

struct LinkConfig {
  size_t max_batch_changes = 2000;
  size_t max_batch_bytes = 2 << 20;
  // Unacknowledged batches in flight per direction.
  size_t window = 4;
  // Log entries read per scan step (a down scan skips many).
  size_t scan_step = 4096;
  // Digest comparison when quiescent, after the first one of each session.
  int64_t probe_interval_ms = 60'000;
  // After a NOT_QUIESCENT verdict.
  int64_t probe_retry_ms = 1'000;
  // A stream with unacknowledged batches and no acknowledgement for this long
  // is stalled: the driver closes it and reconnects.
  int64_t stall_timeout_ms = 30'000;
  // Child: at most one audit head report per this interval (and only when
  // the head moved).
  int64_t audit_report_interval_ms = 5'000;
};

// Which end of the link this core is.
enum class Side { kChild, kParent };

// A received batch to persist, with the checkpoint that goes with it.
struct ApplyRequest {
  bool from_parent = false;  // Otherwise from the child.
  std::string peer;
  std::string peer_incarnation;
  uint64_t last_pos = 0;
  std::vector<v1::Change> changes;
  bool repair = false;
};

struct ApplyOutcome {
  int applied = 0;
  int duplicates = 0;
  int rejected = 0;
};

// Parent side: what to record of the child's audit chain (the local key
// AuditHeadKey(peer)). A non-empty `alarm` says the chain went back or was
// rewritten: the driver audits it (and the hub raises a warning).
struct AuditHeadUpdate {
  std::string peer;
  v1::AuditHeadState state;
  std::string alarm;
};

struct Ready {
  // Persist first (then call Applied), unless empty.
  std::optional<ApplyRequest> apply;
  // Persist too (parent side), before sending.
  std::optional<AuditHeadUpdate> audit_head;
  // Then send, in order.
  std::vector<v1::LinkMessage> send;
  // Child only: the parent found this store older than what it already holds
  // from it; start a new store incarnation before reconnecting.
  bool new_incarnation = false;
  // Non-OK: end the stream with this status (protocol violation, stall, ...).
  absl::Status close;
};

enum class LinkState { kIdle, kHandshaking, kStreaming, kClosed };
enum class DigestState { kUnknown, kChecking, kAgree, kDiffer, kRepairing };

struct LinkStats {
  Side side = Side::kChild;
  std::string peer;
  LinkState state = LinkState::kIdle;
  // Sending side.
  uint64_t log_end = 0;  // Next local log position.
  uint64_t scanned = 0;  // Local log read up to here (exclusive).
  uint64_t acked = 0;    // Peer applied everything up to this position.
  size_t inflight = 0;   // Unacknowledged batches.
  int64_t last_ack_ms = 0;
  uint64_t sent_changes = 0;
  // Oldest unacknowledged change's HLC physical time (0 when none).
  int64_t oldest_unacked_ms = 0;
  // Receiving side.
  uint64_t applied_peer_pos = 0;
  uint64_t received_changes = 0;
  uint64_t applied_changes = 0;
  uint64_t duplicate_changes = 0;
  uint64_t rejected_changes = 0;
  int64_t last_receive_ms = 0;
  // Any message from the peer (a batch, an ack, a probe: an idle child still
  // probes every probe_interval_ms).
  int64_t last_heard_ms = 0;
  // Verification: the last comparison of the child's subtree, as the child
  // learnt it from the parent's verdict, or as the parent made it.
  DigestState digest = DigestState::kUnknown;
  int64_t last_agree_ms = 0;
  uint64_t repairs = 0;
  uint64_t sessions = 0;
  // Audit chain heads. Parent side: the child's last checked head and the
  // alarms raised on it; child side: what the parent holds of this node's
  // chain (hash not known).
  uint64_t audit_seq = 0;
  std::string audit_hash;
  int64_t audit_seen_ms = 0;
  uint64_t audit_alarms = 0;
  std::string audit_alarm;
  int64_t audit_alarm_ms = 0;
  // Parent side: the nodes below the child, with when the child last heard
  // from each, as its latest probes said (node id -> unix ms).
  std::map<std::string, int64_t> descendants_seen;
};

// Heartbeats. Adds to `seen` (node id -> unix ms, the later time kept) what a
// parent-side link says about the child and the nodes below it: the child's
// last message or acknowledgement, and its descendants_seen. Other links add
// nothing.
void AddSeenBelow(const LinkStats& link, std::map<std::string, int64_t>* seen);

class LinkCore {
 public:
  // `self` is this node's id; `peer` the other end's (for a parent, the
  // child's id from its certificate; for a child, its parent's node id).
  LinkCore(Side side, std::string self, std::string peer, const NodeView* view,
           LinkConfig config = {});

  // The transport is up: starts a session (the child sends its Hello).
  void Connect(int64_t now_ms);
  // The transport is gone; the session ends. Pending applies still count.
  void Disconnect();
  // A message from the peer (taken by value: its changes are moved into the
  // apply queue). An error ends the session (see Ready::close).
  void Step(v1::LinkMessage message, int64_t now_ms);
  // The driver durably persisted the last Ready::apply (or failed to).
  void Applied(const absl::StatusOr<ApplyOutcome>& outcome, int64_t now_ms);
  // New local log entries may exist.
  void LogAppended();
  void Tick(int64_t now_ms);
  // Asks for a digest comparison at the next quiescent moment (child side).
  void RequestProbe();
  // Child side: report the audit chain head at the next chance, ignoring the
  // report interval (someone waits until the parent holds an entry).
  void UrgeAuditReport() { audit_urgent_ = true; }

  // Everything to do now; empty when nothing.
  Ready TakeReady(int64_t now_ms);
  bool HasReady() const;

  const LinkStats& stats() const { return stats_; }
  Side side() const { return side_; }
  const std::string& peer() const { return peer_; }

 private:
  struct Inflight {
    uint64_t first = 0;
    uint64_t last = 0;
    int64_t oldest_ms = 0;
  };

  void Fail(absl::Status status);
  void OnHello(const v1::Hello& hello, int64_t now_ms);
  void OnBatch(v1::ChangeBatch& batch, int64_t now_ms);
  void OnAck(const v1::Ack& ack, int64_t now_ms);
  void OnProbe(const v1::DigestProbe& probe, int64_t now_ms);
  void RecordSeenBelow(const v1::DigestProbe& probe, int64_t now_ms);
  void OnVerdict(const v1::DigestVerdict& verdict, int64_t now_ms);
  void OnRepair(v1::RepairSnapshot& repair);
  void OnAuditReport(const v1::AuditHeadReport& report, int64_t now_ms);
  void OnAuditAck(const v1::AuditHeadAck& ack, int64_t now_ms);
  void MaybeReportAudit(int64_t now_ms);
  void ShowAuditState(const v1::AuditHeadState& state);
  // Reads the log and queues batches while the window allows.
  absl::Status FillWindow(int64_t now_ms);
  absl::StatusOr<bool> Crosses(const v1::Change& change) const;
  bool SenderQuiescent() const;
  bool ReceiverQuiescent() const;
  void MaybeProbe(int64_t now_ms);
  absl::Status SendProbe(const std::string& org);
  absl::Status SendSnapshot(const std::string& org);
  void Send(v1::LinkMessage message) { out_.push_back(std::move(message)); }

  const Side side_;
  const std::string self_;
  const std::string peer_;
  const NodeView* view_;
  const LinkConfig config_;
  LinkStats stats_;

  // Session.
  std::string peer_incarnation_;
  std::vector<v1::LinkMessage> out_;
  absl::Status close_;
  bool new_incarnation_ = false;

  int64_t last_progress_ms_ = 0;  // Last ack, or first send after idle.

  // Sending side.
  bool sending_ = false;  // Handshake done; may send batches.
  uint64_t next_read_ = 1;
  uint64_t peer_acked_ = 0;   // Last position the peer acknowledged.
  uint64_t unsent_from_ = 1;  // First position of the next batch.
  std::deque<Inflight> inflight_;

  // Receiving side.
  uint64_t receive_floor_ = 0;  // Batches must start above this position.
  std::deque<ApplyRequest> to_apply_;
  bool apply_outstanding_ = false;
  uint64_t outstanding_last_pos_ = 0;
  bool outstanding_repair_ = false;

  // Verification (probes are sent by the child, answered by the parent).
  bool probe_requested_ = true;
  bool probe_outstanding_ = false;
  int64_t next_probe_ms_ = 0;
  std::deque<std::string> probe_queue_;  // Organisations to narrow down.
  int64_t next_seen_ms_ = 0;  // Parent: next probe whose heartbeats count.
  std::set<std::string> snapshot_sent_;  // This round, to avoid loops.
  static constexpr int kMaxRepairRounds = 3;
  int repair_rounds_ = 0;

  // Audit chain heads (the child reports, the parent checks and records).
  bool audit_supported_ = false;  // Child: the parent's Hello asked for them.
  uint32_t session_version_ = kProtocolVersion;  // Negotiated at the Hello.
  bool audit_outstanding_ = false;  // Child: a report awaits its ack.
  bool audit_force_ = false;        // Child: report even an unmoved head.
  uint64_t audit_acked_seq_ = 0;    // Child: what the parent holds.
  int64_t next_audit_report_ms_ = 0;
  bool audit_urgent_ = false;  // Child: report now, ignoring the interval.
  std::optional<AuditHeadUpdate> pending_audit_;  // Parent: to persist.
};

// The local-state key under which a parent keeps a child's audit head.
std::string AuditHeadKey(const std::string& child);

}  // namespace unionsync::repl

#endif  // UNIONSYNC_REPL_LINK_CORE_H_
