#include "node/link_worker.h"

#include <chrono>
#include <iostream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "node/store_view.h"
#include "node/uplink.h"

namespace unionsync {
namespace {

constexpr absl::Duration kReactorDrainTimeout = absl::Seconds(5);
constexpr absl::Duration kCommandTimeout = absl::Seconds(30);

// Replication runs in the background: what goes wrong is logged for the
// operator (the link stats carry the state for the status API).
void LogLink(const std::string& what) { LogWarning("replication", what); }

}  // namespace

// ---------------------------------------------------------------------------
// LinkEventQueue

bool LinkEventQueue::Post(LinkEvent event) {
  absl::MutexLock lock(&mu_);
  if (closed_) return false;
  events_.push_back(std::move(event));
  return true;
}

void LinkEventQueue::NotifyCommit() {
  absl::MutexLock lock(&mu_);
  commit_ = true;
}

void LinkEventQueue::ReactorStarted() {
  absl::MutexLock lock(&mu_);
  ++live_reactors_;
}

void LinkEventQueue::ReactorDone() {
  absl::MutexLock lock(&mu_);
  --live_reactors_;
}

LinkEventQueue::Batch LinkEventQueue::Wait(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return !events_.empty() || commit_ || closed_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  Batch batch;
  batch.events.swap(events_);
  batch.commit = std::exchange(commit_, false);
  batch.closed = closed_;
  return batch;
}

void LinkEventQueue::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

bool LinkEventQueue::WaitReactorsDone(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto done = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return live_reactors_ == 0;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
}

// ---------------------------------------------------------------------------
// Authorisation

absl::Status AuthorizeChildLink(const Store& store, const std::string& self,
                                const std::string& child) {
  if (child == self) {
    return absl::PermissionDeniedError(
        absl::StrCat("'", child, "' is this node itself"));
  }
  absl::StatusOr<v1::Org> org = store.GetOrg(child);
  if (absl::IsNotFound(org.status())) {
    return absl::PermissionDeniedError(absl::StrCat(
        "organisation '", child, "' is not registered at node '", self, "'"));
  }
  RETURN_IF_ERROR(org.status());
  if (org->host_node() != child) {
    return absl::PermissionDeniedError(
        absl::StrCat("organisation '", child, "' does not run its own node (",
                     org->host_node().empty()
                         ? std::string("no host node")
                         : absl::StrCat("hosted on '", org->host_node(), "'"),
                     ")"));
  }
  if (org->parent_id().empty()) {
    return absl::PermissionDeniedError(
        absl::StrCat("organisation '", child, "' has no parent"));
  }
  absl::StatusOr<v1::Org> parent = store.GetOrg(org->parent_id());
  if (absl::IsNotFound(parent.status())) {
    return absl::PermissionDeniedError(
        absl::StrCat("the parent '", org->parent_id(), "' of '", child,
                     "' is not held at node '", self, "'"));
  }
  RETURN_IF_ERROR(parent.status());
  if (parent->host_node() != self) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the parent '", parent->id(), "' of '", child, "' is hosted on node '",
        parent->host_node(), "', not on '", self, "'"));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// LinkWorker

LinkWorker::LinkWorker(Store* store, const Clock* clock,
                       LinkWorkerOptions options, Uplink* uplink)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      uplink_(uplink),
      view_(std::make_unique<StoreView>(store)) {
  // The uplink's probes carry what the links below heard (worker thread).
  view_->set_seen_below([this] {
    std::map<std::string, int64_t> seen;
    for (const auto& [child, core] : child_cores_) {
      repl::AddSeenBelow(core->stats(), &seen);
    }
    return seen;
  });
  if (uplink_ != nullptr) {
    uplink_core_ = std::make_unique<repl::LinkCore>(
        repl::Side::kChild, options_.node_id, uplink_->options().parent_id,
        view_.get(), options_.link);
  }
}

LinkWorker::~LinkWorker() { Stop(); }

void LinkWorker::Start() {
  absl::MutexLock lock(&lifecycle_mu_);
  if (started_) return;
  started_ = true;
  std::shared_ptr<LinkEventQueue> events = events_;
  // Only a signal: the listener runs on whichever thread committed (often an
  // Admin RPC, sometimes the worker itself) and must never touch a core.
  store_->AddCommitListener([events] { events->NotifyCommit(); });
  thread_ = std::thread([this] { Run(); });
}

void LinkWorker::Stop() {
  {
    absl::MutexLock lock(&lifecycle_mu_);
    if (stopped_) return;
    stopped_ = true;
    if (!started_) {
      events_->Close();
      return;
    }
  }
  events_->Close();
  thread_.join();
  // The store's listener keeps the (closed) queue alive and is harmless.
  if (!events_->WaitReactorsDone(kReactorDrainTimeout)) {
    LogLink("some replication streams did not finish within 5 s of stopping");
  }
}

std::vector<repl::LinkStats> LinkWorker::LinkStatus() const {
  absl::MutexLock lock(&stats_mu_);
  return stats_;
}

absl::Status LinkWorker::ForceResync(const std::string& child) {
  auto command = std::make_shared<LinkCommand>();
  command->kind = LinkCommand::Kind::kForceResync;
  command->peer = child;
  LinkEvent e;
  e.kind = LinkEvent::Kind::kCommand;
  e.command = command;
  if (!events_->Post(std::move(e))) {
    return absl::UnavailableError("replication is not running");
  }
  if (!command->done.WaitForNotificationWithTimeout(kCommandTimeout)) {
    return absl::DeadlineExceededError(
        "the replication worker did not answer within 30 s");
  }
  return command->result;
}

absl::Status LinkWorker::WaitAuditHeld(uint64_t seq, absl::Duration timeout) {
  if (uplink_ == nullptr) return absl::OkStatus();
  const absl::Time deadline = absl::Now() + timeout;
  auto held = [&] {
    for (const repl::LinkStats& s : LinkStatus()) {
      if (s.side == repl::Side::kChild && s.audit_seq >= seq) return true;
    }
    return false;
  };
  while (!held()) {
    auto command = std::make_shared<LinkCommand>();
    command->kind = LinkCommand::Kind::kUrgeAuditReport;
    LinkEvent e;
    e.kind = LinkEvent::Kind::kCommand;
    e.command = command;
    if (!events_->Post(std::move(e))) {
      return absl::UnavailableError("replication is not running");
    }
    command->done.WaitForNotificationWithDeadline(deadline);
    if (absl::Now() >= deadline) {
      return absl::UnavailableError(
          "the parent node has not confirmed that it holds the audit entry "
          "of this access (is the link to the parent down?); full numbers are "
          "shown only while the parent can see who asked for them");
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::OkStatus();
}

int64_t LinkWorker::SteadyMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void LinkWorker::Run() {
  int64_t next_tick = SteadyMs() + options_.tick_ms;
  bool closed = false;
  while (!closed) {
    int64_t wake = next_tick;
    if (uplink_ != nullptr && uplink_stream_ == 0) {
      wake = std::min(wake, next_uplink_attempt_ms_);
    }
    const int64_t wait_ms = std::max<int64_t>(0, wake - SteadyMs());
    LinkEventQueue::Batch batch = events_->Wait(absl::Milliseconds(wait_ms));
    closed = batch.closed;
    const int64_t now = clock_->NowMs();
    for (LinkEvent& event : batch.events) Handle(event, now);
    if (batch.commit) {
      for (auto& [id, core] : child_cores_) core->LogAppended();
      if (uplink_core_ != nullptr) uplink_core_->LogAppended();
    }
    const bool tick = SteadyMs() >= next_tick;
    if (tick) {
      next_tick = SteadyMs() + options_.tick_ms;
      FlushLinkAudit(/*everything=*/false);
      for (auto& [id, stream] : streams_) {
        if (stream.closing || !IsCurrent(stream)) continue;
        repl::LinkCore* core = CoreOf(stream);
        core->Tick(now);
        // The core watches a streaming link; a peer that never completes the
        // handshake is the driver's to drop.
        if (core->stats().state == repl::LinkState::kHandshaking &&
            SteadyMs() - stream.opened_ms > options_.link.stall_timeout_ms) {
          BeginClose(stream,
                     absl::DeadlineExceededError(absl::StrCat(
                         "no handshake from ", stream.peer, " within ",
                         options_.link.stall_timeout_ms / 1000, " s")),
                     /*flush=*/false);
        }
      }
    }
    if (!closed) MaybeConnectUplink(now);
    // Every live stream: a commit, a tick or an apply for another link may
    // have given its core something to send.
    std::vector<uint64_t> ids;
    for (const auto& [id, stream] : streams_) ids.push_back(id);
    for (uint64_t id : ids) Pump(streams_.at(id), now);
    // Streams closed during this pass: close their transports once flushed
    // (or when they cannot flush). Only here are streams erased, so the
    // handlers above may hold references to them.
    SweepClosed();
    PublishStats();
  }
  FlushLinkAudit(/*everything=*/true);
  // Stopping: end every stream. Reactors created from now on finish
  // themselves (their Post fails).
  std::vector<uint64_t> ids;
  for (const auto& [id, stream] : streams_) ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = streams_.find(id);
    if (it == streams_.end()) continue;
    if (IsCurrent(it->second)) CoreOf(it->second)->Disconnect();
    it->second.close_status =
        absl::UnavailableError("the node is shutting down");
    FinishClose(id);
  }
  child_stream_.clear();
  uplink_stream_ = 0;
  PublishStats();
}

void LinkWorker::Handle(LinkEvent& event, int64_t now_ms) {
  if (event.kind == LinkEvent::Kind::kCommand) {
    OnCommand(*event.command);
    return;
  }
  if (event.kind == LinkEvent::Kind::kChildOpened) {
    OnChildOpened(event, now_ms);
    return;
  }
  if (event.kind == LinkEvent::Kind::kDone) {
    if (uplink_ != nullptr && !event.status.ok() &&
        event.status.code() != absl::StatusCode::kCancelled) {
      LogLink(absl::StrCat("uplink to ", uplink_->options().parent_id,
                           " ended: ", event.status.ToString()));
    }
    return;
  }
  auto it = streams_.find(event.stream);
  // Events of streams already closed here are late echoes: ignore them.
  if (it == streams_.end()) return;
  Stream& stream = it->second;
  switch (event.kind) {
    case LinkEvent::Kind::kRead:
      if (!stream.closing) OnRead(stream, event, now_ms);
      return;
    case LinkEvent::Kind::kReadFailed:
      // The peer went away (or finished the call): nothing more will pass.
      BeginClose(stream, absl::UnavailableError("the peer closed the stream"),
                 /*flush=*/false);
      return;
    case LinkEvent::Kind::kWriteDone:
      stream.writing = false;
      if (!event.ok) {
        // Nothing more can be written: drop what waits, so a stream already
        // flushing its close finishes now instead of after the flush timeout.
        stream.out.clear();
        BeginClose(stream, absl::UnavailableError("write failed"),
                   /*flush=*/false);
        return;
      }
      Flush(stream);
      return;
    default:
      return;
  }
}

void LinkWorker::FlushLinkAudit(bool everything) {
  std::vector<v1::AuditEntry> due =
      link_audit_.TakeDue(clock_->NowMs(), everything);
  if (due.empty()) return;
  WriteSet w;
  for (v1::AuditEntry& e : due) {
    e.set_target(absl::StrCat("node/", options_.node_id));
    w.Audit(std::move(e));
  }
  if (auto s = store_->Commit(w, "system").status(); !s.ok()) {
    LogLink(absl::StrCat("cannot audit refused links: ", s.ToString()));
  }
}

void LinkWorker::DenyLink(LinkTransport* transport, const std::string& actor,
                          const std::string& peer_address,
                          const absl::Status& why) {
  denied_links_.fetch_add(1);
  if (!link_audit_.Admit("ReplicationLink", peer_address, clock_->NowMs())) {
    transport->Close(why);  // Counted into the interval's summary entry.
    return;
  }
  WriteSet w;
  v1::AuditEntry e;
  e.set_actor(actor.empty() ? "unauthenticated" : actor);
  e.set_actor_org(actor);
  e.set_action("ReplicationLink");
  e.set_target(absl::StrCat("node/", options_.node_id));
  e.set_outcome(v1::AUDIT_DENIED);
  e.set_detail(std::string(why.message()).substr(0, 500));
  e.set_peer(peer_address);
  w.Audit(std::move(e));
  if (auto s = store_->Commit(w, actor.empty() ? "system" : actor).status();
      !s.ok()) {
    LogLink(absl::StrCat("cannot audit a refused link: ", s.ToString()));
  }
  LogLink(
      absl::StrCat("refused a link from ", peer_address, ": ", why.ToString()));
  transport->Close(why);
}

void LinkWorker::OnChildOpened(LinkEvent& event, int64_t now_ms) {
  if (!event.peer_org.ok()) {
    DenyLink(event.transport, "", event.peer_address,
             absl::UnauthenticatedError(
                 absl::StrCat("no valid organisation certificate: ",
                              event.peer_org.status().message())));
    return;
  }
  const std::string child = *event.peer_org;
  absl::Status auth = AuthorizeChildLink(*store_, options_.node_id, child);
  if (absl::IsPermissionDenied(auth)) {
    DenyLink(event.transport, child, event.peer_address, auth);
    return;
  }
  if (!auth.ok()) {
    // The store could not answer: not the child's fault, nothing to audit.
    event.transport->Close(absl::UnavailableError(
        absl::StrCat("cannot authorise the link: ", auth.message())));
    return;
  }
  // One live stream per child: a reconnecting child replaces its old stream
  // (often a half-open connection the child has already given up on).
  if (auto old = child_stream_.find(child); old != child_stream_.end()) {
    auto it = streams_.find(old->second);
    if (it != streams_.end()) {
      BeginClose(it->second,
                 absl::AbortedError("replaced by a newer stream of the child"),
                 /*flush=*/false);
    }
  }
  std::unique_ptr<repl::LinkCore>& core = child_cores_[child];
  if (core == nullptr) {
    core =
        std::make_unique<repl::LinkCore>(repl::Side::kParent, options_.node_id,
                                         child, view_.get(), options_.link);
  }
  Stream& stream = streams_[event.stream];
  stream.id = event.stream;
  stream.peer = child;
  stream.transport = event.transport;
  stream.opened_ms = SteadyMs();
  child_stream_[child] = stream.id;
  core->Connect(now_ms);
  stream.transport->Read();
  Pump(stream, now_ms);
}

void LinkWorker::OnRead(Stream& stream, LinkEvent& event, int64_t now_ms) {
  if (stream.uplink && !stream.parent_verified) {
    // The CA vouches for the certificate; the organisation it names must be
    // the parent we meant to reach, before anything but our Hello goes out.
    const std::string& expected = uplink_->options().parent_id;
    if (!event.peer_org.ok() || *event.peer_org != expected) {
      const std::string named = event.peer_org.ok()
                                    ? absl::StrCat("'", *event.peer_org, "'")
                                    : event.peer_org.status().ToString();
      LogLink(absl::StrCat("the parent at ", uplink_->options().parent_address,
                           " presented a certificate for ", named,
                           ", expected '", expected, "': closing"));
      BeginClose(stream,
                 absl::PermissionDeniedError(
                     absl::StrCat("expected parent '", expected, "'")),
                 /*flush=*/false);
      return;
    }
    stream.parent_verified = true;
  }
  CoreOf(stream)->Step(event.message, now_ms);
  Pump(stream, now_ms);
  // The next message is read only now: one read outstanding per stream, so a
  // peer cannot queue more here than the worker has consumed.
  if (!stream.closing) stream.transport->Read();
}

void LinkWorker::OnCommand(LinkCommand& command) {
  switch (command.kind) {
    case LinkCommand::Kind::kUrgeAuditReport:
      if (uplink_core_ != nullptr) uplink_core_->UrgeAuditReport();
      break;
    case LinkCommand::Kind::kForceResync: {
      absl::Status auth =
          AuthorizeChildLink(*store_, options_.node_id, command.peer);
      if (absl::IsPermissionDenied(auth)) {
        command.result = absl::NotFoundError(absl::StrCat(
            "'", command.peer,
            "' is not a child node of this node: ", auth.message()));
        break;
      }
      if (!auth.ok()) {
        command.result = auth;
        break;
      }
      command.result = store_->ResetCursor(command.peer);
      if (!command.result.ok()) break;
      if (auto it = child_stream_.find(command.peer);
          it != child_stream_.end()) {
        auto s = streams_.find(it->second);
        if (s != streams_.end()) {
          BeginClose(s->second,
                     absl::UnavailableError(
                         "resynchronisation requested: reconnect and resend "
                         "from the start"),
                     /*flush=*/false);
        }
      }
      break;
    }
  }
  command.done.Notify();
}

void LinkWorker::MaybeConnectUplink(int64_t now_ms) {
  if (uplink_ == nullptr || uplink_stream_ != 0 ||
      SteadyMs() < next_uplink_attempt_ms_) {
    return;
  }
  const uint64_t id = events_->NewStreamId();
  Stream& stream = streams_[id];
  stream.id = id;
  stream.uplink = true;
  stream.peer = uplink_->options().parent_id;
  stream.transport = uplink_->Open(events_, id);
  stream.opened_ms = SteadyMs();
  uplink_stream_ = id;
  uplink_core_->Connect(now_ms);
  stream.transport->Read();
  Pump(stream, now_ms);
}

repl::LinkCore* LinkWorker::CoreOf(const Stream& stream) {
  if (stream.uplink) return uplink_core_.get();
  return child_cores_.at(stream.peer).get();
}

bool LinkWorker::IsCurrent(const Stream& stream) const {
  if (stream.uplink) return uplink_stream_ == stream.id;
  auto it = child_stream_.find(stream.peer);
  return it != child_stream_.end() && it->second == stream.id;
}

void LinkWorker::Pump(Stream& stream, int64_t now_ms) {
  if (stream.closing || !IsCurrent(stream)) return;
  repl::LinkCore* core = CoreOf(stream);
  // TakeReady also fills the send window and starts digest probes, which
  // HasReady does not announce: take one Ready unconditionally.
  do {
    repl::Ready ready = core->TakeReady(now_ms);
    if (ready.apply.has_value()) {
      // Persist, then report, before the core sees any other input.
      core->Applied(ApplyToStore(*store_, std::move(*ready.apply)), now_ms);
    }
    if (ready.audit_head.has_value()) {
      if (!ready.audit_head->alarm.empty()) LogLink(ready.audit_head->alarm);
      absl::Status s = RecordAuditHead(*store_, *ready.audit_head, now_ms);
      if (!s.ok()) {
        // The child's next report is checked against the older head and
        // asked again: nothing is lost but time.
        LogLink(absl::StrCat("cannot record the audit head of ", stream.peer,
                             ": ", s.ToString()));
      }
    }
    for (v1::LinkMessage& m : ready.send) Enqueue(stream, std::move(m));
    if (ready.new_incarnation) {
      absl::Status s = store_->StartNewIncarnation();
      LogLink(absl::StrCat("starting a new store incarnation: ",
                           s.ok() ? std::string("done") : s.ToString()));
    }
    if (!ready.close.ok()) {
      LogLink(absl::StrCat("link ", stream.uplink ? "to parent " : "to child ",
                           stream.peer, " closed: ", ready.close.ToString()));
      BeginClose(stream, ready.close, /*flush=*/true);
      return;
    }
    if (stream.closing) return;  // The output queue overflowed.
  } while (core->HasReady());
  if (stream.uplink && stream.streaming_since_ms == 0 &&
      core->stats().state == repl::LinkState::kStreaming) {
    stream.streaming_since_ms = SteadyMs();
  }
  Flush(stream);
}

void LinkWorker::Enqueue(Stream& stream, v1::LinkMessage message) {
  if (stream.closing) return;
  if (stream.out.size() >= options_.max_outbound_messages) {
    BeginClose(
        stream,
        absl::ResourceExhaustedError(absl::StrCat(
            "more than ", options_.max_outbound_messages,
            " messages queued for ", stream.peer, ": the peer does not read")),
        /*flush=*/false);
    return;
  }
  stream.out.push_back(std::move(message));
}

void LinkWorker::Flush(Stream& stream) {
  if (stream.writing || stream.out.empty()) return;
  stream.writing = true;
  v1::LinkMessage m = std::move(stream.out.front());
  stream.out.pop_front();
  stream.transport->Write(std::move(m));
}

void LinkWorker::BeginClose(Stream& stream, absl::Status status, bool flush) {
  if (stream.closing) return;
  stream.closing = true;
  stream.close_status = std::move(status);
  stream.closing_since_ms = SteadyMs();
  if (IsCurrent(stream)) {
    CoreOf(stream)->Disconnect();
    if (stream.uplink) {
      uplink_stream_ = 0;
      const bool healthy = stream.streaming_since_ms != 0 &&
                           SteadyMs() - stream.streaming_since_ms >=
                               uplink_->options().healthy_session_ms;
      if (healthy) uplink_->backoff().Reset();
      next_uplink_attempt_ms_ = SteadyMs() + uplink_->backoff().NextDelayMs();
    } else {
      child_stream_.erase(stream.peer);
    }
  }
  if (flush) {
    Flush(stream);  // SweepClosed closes it once drained.
  } else {
    // Queued output is dropped, an outstanding write abandoned (closing the
    // transport cancels it).
    stream.out.clear();
    stream.writing = false;
  }
}

void LinkWorker::SweepClosed() {
  const int64_t now = SteadyMs();
  std::vector<uint64_t> done;
  for (const auto& [id, stream] : streams_) {
    if (!stream.closing) continue;
    const bool drained = !stream.writing && stream.out.empty();
    // A stream that cannot flush its last messages is closed anyway.
    if (drained || now - stream.closing_since_ms >= options_.close_flush_ms) {
      done.push_back(id);
    }
  }
  for (uint64_t id : done) FinishClose(id);
}

void LinkWorker::FinishClose(uint64_t id) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  absl::Status status = it->second.close_status;
  if (status.ok()) status = absl::UnavailableError("link closed");
  LinkTransport* transport = it->second.transport;
  streams_.erase(it);
  transport->Close(status);
}

void LinkWorker::PublishStats() {
  std::vector<repl::LinkStats> stats;
  for (const auto& [child, core] : child_cores_) stats.push_back(core->stats());
  if (uplink_core_ != nullptr) stats.push_back(uplink_core_->stats());
  absl::MutexLock lock(&stats_mu_);
  stats_ = std::move(stats);
}

}  // namespace unionsync
