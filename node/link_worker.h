// The gRPC driver of replication: one thread per node that owns every
// repl::LinkCore of the node (one per connected child, plus the uplink core)
// and does all the store applies for them.
//
// gRPC reactors (node/replication_service.h on the parent side, node/uplink.h
// on the child side) never block and never touch a core: they only post
// LinkEvents (stream opened, message read, write done, stream done) into a
// LinkEventQueue and return. The worker thread drains the queue, feeds the
// right core, persists each Ready::apply with ApplyToStore, reports it with
// Applied() before any other input, and only then hands the messages to the
// stream. A commit to the store (an Admin call, or an apply for another link)
// wakes the worker through Store::AddCommitListener so every link sends what
// was just written; the listener only signals.
//
// Streams and reactor lifetime: a reactor is driven through the LinkTransport
// interface, and only by the worker thread. The worker is the only caller of
// the transport's terminal operation (Close: Finish on the server side,
// TryCancel + RemoveHold on the client side), so a reactor cannot reach OnDone
// (and delete itself) while the worker may still call it; after Close the
// worker forgets the transport. Each stream has at most one outstanding write
// and one outstanding read; the rest of its output waits in a per-stream queue
// bounded by the core's window (a stream whose queue exceeds
// `max_outbound_messages` is closed with RESOURCE_EXHAUSTED).
//
// Time: cores get `now_ms` from the node's Clock; ticks (every `tick_ms`) and
// reconnection backoff run on real (steady) time, because they wait for the
// network, not for the domain clock.
#ifndef UNIONSYNC_NODE_LINK_WORKER_H_
#define UNIONSYNC_NODE_LINK_WORKER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "node/store_view.h"
#include "node/audit_throttle.h"
#include "repl/link_core.h"
#include "store/store.h"
#include "unionsync/v1/replication.pb.h"

namespace unionsync {

class Uplink;

// One end of one Link stream as the worker sees it. Implemented by the gRPC
// reactors. All calls come from the worker thread; Close is the last one.
class LinkTransport {
 public:
  // Starts reading the next message (at most one read outstanding); the
  // result comes back as a kRead or kReadFailed event.
  virtual void Read() = 0;
  // Starts writing `message` (at most one write outstanding); the result comes
  // back as a kWriteDone event.
  virtual void Write(v1::LinkMessage message) = 0;
  // Ends the stream with `status` (server: Finish; client: cancel). The
  // transport must not be used afterwards; it deletes itself once gRPC is done
  // with it.
  virtual void Close(const absl::Status& status) = 0;

 protected:
  ~LinkTransport() = default;
};

// A request to the worker thread from another thread, with its answer.
struct LinkCommand {
  // kUrgeAuditReport: report the audit head to the parent now (peer unused).
  enum class Kind { kForceResync, kUrgeAuditReport };
  Kind kind = Kind::kForceResync;
  std::string peer;
  absl::Status result;  // Written by the worker before `done` is notified.
  absl::Notification done;
};

struct LinkEvent {
  enum class Kind {
    kChildOpened,  // A child opened a stream (parent side).
    kRead,         // A message arrived (ok) ...
    kReadFailed,   // ... or the stream can no longer be read.
    kWriteDone,    // The outstanding write finished (`ok`).
    kDone,         // The reactor is done (OnDone), with the final `status`.
    kCommand,      // A LinkCommand for the worker thread.
  };
  Kind kind = Kind::kRead;
  uint64_t stream = 0;
  bool ok = true;
  // kChildOpened: the transport the worker drives from now on.
  LinkTransport* transport = nullptr;
  // kChildOpened: the peer's organisation id from its certificate (or why
  // there is none). kRead on the uplink's first message: the same for the
  // parent's certificate.
  absl::StatusOr<std::string> peer_org = std::string();
  std::string peer_address;  // kChildOpened: the network peer, for audits.
  absl::Status status;       // kDone.
  v1::LinkMessage message;   // kRead.
  std::shared_ptr<LinkCommand> command;
};

// The worker's mailbox: the state shared between reactors (any gRPC thread),
// the store's commit listener and the worker thread. Reactors hold it by
// shared_ptr, so a reactor finishing after the worker is gone is harmless.
// Thread-safe.
class LinkEventQueue {
 public:
  // Queues `event` and wakes the worker; false (event dropped) once closed.
  bool Post(LinkEvent event) ABSL_LOCKS_EXCLUDED(mu_);
  // A store commit happened: wake the worker so every link sends it.
  void NotifyCommit() ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t NewStreamId() { return next_stream_.fetch_add(1); }

  // Reactor bookkeeping, so Stop() can wait until gRPC is done with them.
  void ReactorStarted() ABSL_LOCKS_EXCLUDED(mu_);
  void ReactorDone() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  friend class LinkWorker;

  struct Batch {
    std::deque<LinkEvent> events;
    bool commit = false;
    bool closed = false;
  };
  // Waits until there is something to do, the queue is closed, or `timeout`.
  Batch Wait(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);
  void Close() ABSL_LOCKS_EXCLUDED(mu_);
  // Waits until every reactor is done, at most `timeout`; false on timeout.
  bool WaitReactorsDone(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);

  absl::Mutex mu_;
  std::deque<LinkEvent> events_ ABSL_GUARDED_BY(mu_);
  bool commit_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  int64_t live_reactors_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<uint64_t> next_stream_{1};
};

struct LinkWorkerOptions {
  std::string node_id;  // This node (== its organisation id).
  repl::LinkConfig link;
  int64_t tick_ms = 200;
  // A stream whose queued output exceeds this is closed (the core's window
  // keeps a healthy stream far below it).
  size_t max_outbound_messages = 1024;
  // A closing stream gets this long to flush its last messages.
  int64_t close_flush_ms = 5000;
};

// Why the child `child` (the organisation id from its certificate) may not
// open a replication link to the node `self`: PERMISSION_DENIED with a reason
// unless the organisation is registered here, runs its own node
// (host_node == child) and its parent is hosted on this node. Other codes are
// store errors.
absl::Status AuthorizeChildLink(const Store& store, const std::string& self,
                                const std::string& child);

// Thread-safety: the public methods are thread-safe. Everything about cores
// and streams is confined to the worker thread (no lock needed); what other
// threads read (link stats, the denied-link counter) is published under a
// mutex or atomically.
class LinkWorker {
 public:
  // `store` and `clock` must outlive the worker; `uplink` (null when the node
  // has no parent) too. The uplink's backoff state is used only by the worker
  // thread.
  LinkWorker(Store* store, const Clock* clock, LinkWorkerOptions options,
             Uplink* uplink);
  ~LinkWorker();

  LinkWorker(const LinkWorker&) = delete;
  LinkWorker& operator=(const LinkWorker&) = delete;

  // Starts the thread and registers the store's commit listener.
  void Start();
  // Closes every stream, joins the thread, unregisters the listener, and
  // waits (bounded) until gRPC is done with every reactor. Idempotent.
  void Stop();

  // Where reactors post their events.
  std::shared_ptr<LinkEventQueue> events() const { return events_; }

  // Stats of every link (children in id order, then the uplink), as of the
  // worker's last pass.
  std::vector<repl::LinkStats> LinkStatus() const
      ABSL_LOCKS_EXCLUDED(stats_mu_);
  // Forgets the checkpoint of `child`'s link and closes its stream, so it
  // reconnects and resends from the start. NOT_FOUND when `child` may not
  // link here; UNAVAILABLE when the worker is not running.
  absl::Status ForceResync(const std::string& child);
  // Waits until the parent holds this node's audit chain up to `seq` (the
  // uplink reports the head at once and the parent acknowledges it), at most
  // `timeout`. OK when the node has no parent; UNAVAILABLE otherwise.
  absl::Status WaitAuditHeld(uint64_t seq, absl::Duration timeout);
  // Link attempts refused (PERMISSION_DENIED / UNAUTHENTICATED, audited).
  int64_t denied_links() const { return denied_links_.load(); }

 private:
  struct Stream {
    uint64_t id = 0;
    bool uplink = false;
    std::string peer;
    LinkTransport* transport = nullptr;
    std::deque<v1::LinkMessage> out;
    bool writing = false;
    bool closing = false;
    bool parent_verified = false;  // Uplink: the parent's certificate checked.
    absl::Status close_status;
    int64_t opened_ms = 0;           // Steady time.
    int64_t closing_since_ms = 0;    // Steady time.
    int64_t streaming_since_ms = 0;  // Steady time; 0 until streaming.
  };

  void Run();
  void Handle(LinkEvent& event, int64_t now_ms);
  void OnChildOpened(LinkEvent& event, int64_t now_ms);
  void OnRead(Stream& stream, LinkEvent& event, int64_t now_ms);
  void OnCommand(LinkCommand& command);
  void DenyLink(LinkTransport* transport, const std::string& actor,
                const std::string& peer_address, const absl::Status& why);
  // Commits the summaries of refused links counted rather than audited.
  void FlushLinkAudit(bool everything);
  void MaybeConnectUplink(int64_t now_ms);
  // Takes every Ready of the stream's core: apply, Applied, queue sends,
  // close. Then flushes.
  void Pump(Stream& stream, int64_t now_ms);
  void Enqueue(Stream& stream, v1::LinkMessage message);
  // Starts the next write if none is outstanding.
  void Flush(Stream& stream);
  // Ends the stream's session. `flush`: send what is queued first.
  void BeginClose(Stream& stream, absl::Status status, bool flush);
  // Closes the transports of closing streams that are flushed (or out of
  // time). The only place (with Stop) where streams are forgotten.
  void SweepClosed();
  // Closes the transport and forgets the stream.
  void FinishClose(uint64_t id);
  repl::LinkCore* CoreOf(const Stream& stream);
  bool IsCurrent(const Stream& stream) const;
  void PublishStats();
  int64_t SteadyMs() const;

  Store* const store_;
  const Clock* const clock_;
  const LinkWorkerOptions options_;
  Uplink* const uplink_;
  const std::shared_ptr<LinkEventQueue> events_ =
      std::make_shared<LinkEventQueue>();
  std::thread thread_;
  absl::Mutex lifecycle_mu_;
  bool started_ ABSL_GUARDED_BY(lifecycle_mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(lifecycle_mu_) = false;

  // Worker thread only.
  std::map<uint64_t, Stream> streams_;
  std::map<std::string, std::unique_ptr<repl::LinkCore>> child_cores_;
  std::map<std::string, uint64_t> child_stream_;  // Child -> current stream.
  std::unique_ptr<repl::LinkCore> uplink_core_;
  uint64_t uplink_stream_ = 0;          // 0: none.
  int64_t next_uplink_attempt_ms_ = 0;  // Steady time.
  std::unique_ptr<StoreView> view_;

  std::atomic<int64_t> denied_links_{0};
  // Refused links per source: a few a minute audited one by one, the rest
  // summarised (worker thread only, but thread-safe anyway).
  AuditThrottle link_audit_;
  mutable absl::Mutex stats_mu_;
  std::vector<repl::LinkStats> stats_ ABSL_GUARDED_BY(stats_mu_);
};

}  // namespace unionsync

#endif  // UNIONSYNC_NODE_LINK_WORKER_H_
