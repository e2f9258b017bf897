#include "repl/link_core.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/change_rules.h"
#include "common/clock.h"
#include "common/status_macros.h"

namespace unionsync::repl {
namespace {

// A peer may have at most its window of batches waiting to be applied here;
// anything beyond is a misbehaving peer.
constexpr size_t kMaxQueuedBatches = 64;
constexpr size_t kMaxIncarnationBytes = 64;
constexpr size_t kMaxAuditHashBytes = 64;

}  // namespace

std::string AuditHeadKey(const std::string& child) {
  return absl::StrCat("audithead/", child);
}

LinkCore::LinkCore(Side side, std::string self, std::string peer,
                   const NodeView* view, LinkConfig config)
    : side_(side),
      self_(std::move(self)),
      peer_(std::move(peer)),
      view_(view),
      config_(config) {
  stats_.side = side_;
  stats_.peer = peer_;
}

void LinkCore::Fail(absl::Status status) {
  if (close_.ok()) close_ = std::move(status);
}

void LinkCore::Connect(int64_t now_ms) {
  out_.clear();
  close_ = absl::OkStatus();
  new_incarnation_ = false;
  sending_ = false;
  inflight_.clear();
  to_apply_.clear();
  probe_outstanding_ = false;
  probe_requested_ = true;
  probe_queue_.clear();
  snapshot_sent_.clear();
  next_probe_ms_ = 0;
  audit_supported_ = false;
  audit_outstanding_ = false;
  audit_force_ = false;
  audit_urgent_ = false;
  next_audit_report_ms_ = 0;
  last_progress_ms_ = now_ms;
  ++stats_.sessions;
  stats_.state = LinkState::kHandshaking;
  if (side_ == Side::kParent) return;  // The child speaks first.
  auto cursor = view_->GetCursor(peer_);
  if (!cursor.ok()) return Fail(cursor.status());
  v1::LinkMessage m;
  v1::Hello* hello = m.mutable_hello();
  hello->set_protocol_version(kProtocolVersion);
  hello->set_min_protocol_version(kMinProtocolVersion);
  hello->set_node_id(self_);
  hello->set_incarnation(view_->incarnation());
  hello->set_log_end(view_->log_end());
  hello->set_peer_incarnation(cursor->peer_incarnation);
  hello->set_applied_peer_pos(cursor->pos);
  hello->set_own_last_seq(view_->own_last_seq());
  Send(std::move(m));
}

void LinkCore::Disconnect() {
  stats_.state = LinkState::kClosed;
  sending_ = false;
  inflight_.clear();
  to_apply_.clear();
  out_.clear();
  probe_outstanding_ = false;
}

void LinkCore::Step(v1::LinkMessage message, int64_t now_ms) {
  if (!close_.ok() || stats_.state == LinkState::kClosed) return;
  stats_.last_heard_ms = now_ms;
  if (stats_.state == LinkState::kHandshaking &&
      message.body_case() != v1::LinkMessage::kHello) {
    return Fail(absl::InvalidArgumentError(
        "replication protocol: the first message must be Hello"));
  }
  switch (message.body_case()) {
    case v1::LinkMessage::kHello:
      return OnHello(message.hello(), now_ms);
    case v1::LinkMessage::kBatch:
      return OnBatch(*message.mutable_batch(), now_ms);
    case v1::LinkMessage::kAck:
      return OnAck(message.ack(), now_ms);
    case v1::LinkMessage::kProbe:
      return OnProbe(message.probe(), now_ms);
    case v1::LinkMessage::kVerdict:
      return OnVerdict(message.verdict(), now_ms);
    case v1::LinkMessage::kRepair:
      return OnRepair(*message.mutable_repair());
    case v1::LinkMessage::kAuditReport:
      return OnAuditReport(message.audit_report(), now_ms);
    case v1::LinkMessage::kAuditAck:
      return OnAuditAck(message.audit_ack(), now_ms);
    default:
      return Fail(absl::InvalidArgumentError(
          "replication protocol: empty or unknown message"));
  }
}

absl::StatusOr<uint32_t> NegotiateProtocol(uint32_t peer_max,
                                           uint32_t peer_min) {
  if (peer_min == 0 || peer_min > peer_max) peer_min = peer_max;
  const uint32_t version = std::min(kProtocolVersion, peer_max);
  if (peer_max == 0 || version < std::max(kMinProtocolVersion, peer_min)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "replication protocol: the peer speaks versions ", peer_min, " to ",
        peer_max, ", this node ", kMinProtocolVersion, " to ", kProtocolVersion,
        ": upgrade the older node"));
  }
  return version;
}

void LinkCore::OnHello(const v1::Hello& hello, int64_t now_ms) {
  if (stats_.state != LinkState::kHandshaking) {
    return Fail(absl::InvalidArgumentError(
        "replication protocol: Hello in the middle of a session"));
  }
  // The parent answers with the session's version; the child checks that it
  // speaks it.
  absl::StatusOr<uint32_t> version =
      side_ == Side::kParent ? NegotiateProtocol(hello.protocol_version(),
                                                 hello.min_protocol_version())
                             : NegotiateProtocol(hello.protocol_version(), 0);
  if (!version.ok()) return Fail(version.status());
  session_version_ = *version;
  if (hello.incarnation().empty() ||
      hello.incarnation().size() > kMaxIncarnationBytes) {
    return Fail(absl::InvalidArgumentError(
        "replication protocol: Hello without a valid incarnation"));
  }
  const uint64_t log_end = view_->log_end();
  const std::string my_incarnation = view_->incarnation();
  auto cursor = view_->GetCursor(peer_);
  if (!cursor.ok()) return Fail(cursor.status());
  peer_incarnation_ = hello.incarnation();

  if (side_ == Side::kParent) {
    // A child store restored from an old backup would hand out sequence
    // numbers this side already applied: it must start a new incarnation.
    auto applied = view_->AppliedSeq(peer_, hello.incarnation());
    if (!applied.ok()) return Fail(applied.status());
    if (*applied > hello.own_last_seq()) {
      v1::LinkMessage m;
      m.mutable_hello()->set_protocol_version(session_version_);
      m.mutable_hello()->set_node_id(self_);
      m.mutable_hello()->set_incarnation(my_incarnation);
      m.mutable_hello()->set_stale(true);
      Send(std::move(m));
      return Fail(absl::FailedPreconditionError(absl::StrCat(
          "child ", peer_, " is at sequence ", hello.own_last_seq(),
          " of its incarnation but this node already applied ", *applied,
          ": the child store was restored from an old copy and must start a "
          "new incarnation")));
    }
    receive_floor_ =
        cursor->peer_incarnation == hello.incarnation() ? cursor->pos : 0;
    if (hello.peer_incarnation() == my_incarnation) {
      if (hello.applied_peer_pos() >= log_end) {
        // Either this store was restored from an old copy or the child is
        // lying. A child alone may not make its parent rotate its
        // incarnation (that would resend everything everywhere): refuse the
        // session and leave the decision to an operator.
        return Fail(absl::FailedPreconditionError(absl::StrCat(
            "child ", peer_, " claims to have applied this node's log up to ",
            hello.applied_peer_pos(), " but the log ends at ", log_end - 1,
            ": if this store was restored from an old copy, an operator must "
            "start a new incarnation")));
      }
      next_read_ = hello.applied_peer_pos() + 1;
    } else {
      next_read_ = 1;
    }
    v1::LinkMessage m;
    v1::Hello* reply = m.mutable_hello();
    reply->set_protocol_version(session_version_);
    reply->set_min_protocol_version(kMinProtocolVersion);
    reply->set_node_id(self_);
    reply->set_incarnation(my_incarnation);
    reply->set_log_end(log_end);
    reply->set_peer_incarnation(hello.incarnation());
    reply->set_applied_peer_pos(receive_floor_);
    reply->set_own_last_seq(view_->own_last_seq());
    // Ask for the child's audit chain head, proven from the one held.
    auto held = view_->PeerAuditHead(peer_);
    if (!held.ok()) return Fail(held.status());
    std::optional<v1::AuditHeadState> state = *held;
    if (pending_audit_.has_value()) state = pending_audit_->state;
    if (state.has_value()) ShowAuditState(*state);
    reply->mutable_audit()->set_seq(state.has_value() ? state->seq() : 0);
    Send(std::move(m));
  } else {
    if (hello.stale()) {
      new_incarnation_ = true;
      return Fail(absl::FailedPreconditionError(
          "the parent already holds newer changes of this store's "
          "incarnation (restored from an old copy?): starting a new "
          "incarnation"));
    }
    receive_floor_ =
        cursor->peer_incarnation == hello.incarnation() ? cursor->pos : 0;
    if (hello.peer_incarnation() == my_incarnation) {
      if (hello.applied_peer_pos() >= log_end) {
        new_incarnation_ = true;
        return Fail(absl::FailedPreconditionError(absl::StrCat(
            "the parent applied this node's log up to ",
            hello.applied_peer_pos(), " but the log ends at ", log_end - 1,
            ": this store was restored from an old copy; starting a new "
            "incarnation")));
      }
      next_read_ = hello.applied_peer_pos() + 1;
    } else {
      next_read_ = 1;
    }
    audit_supported_ = hello.has_audit();
    if (audit_supported_) {
      audit_acked_seq_ = hello.audit().seq();
      audit_force_ = true;  // Even an unmoved head: its hash may differ.
      stats_.audit_seq = audit_acked_seq_;
    }
  }
  peer_acked_ = next_read_ - 1;
  unsent_from_ = next_read_;
  stats_.scanned = next_read_;
  stats_.acked = peer_acked_;
  stats_.applied_peer_pos = receive_floor_;
  sending_ = true;
  stats_.state = LinkState::kStreaming;
  last_progress_ms_ = now_ms;
}

void LinkCore::OnBatch(v1::ChangeBatch& batch, int64_t now_ms) {
  if (batch.first_pos() <= receive_floor_ ||
      batch.last_pos() < batch.first_pos()) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "replication protocol: batch [", batch.first_pos(), ", ",
        batch.last_pos(), "] does not follow position ", receive_floor_)));
  }
  if (to_apply_.size() >= kMaxQueuedBatches) {
    return Fail(absl::ResourceExhaustedError(
        "replication protocol: the peer sent more batches than its window"));
  }
  receive_floor_ = batch.last_pos();
  stats_.received_changes += batch.changes_size();
  stats_.last_receive_ms = now_ms;
  ApplyRequest req;
  req.from_parent = side_ == Side::kChild;
  req.peer = peer_;
  req.peer_incarnation = peer_incarnation_;
  req.last_pos = batch.last_pos();
  req.changes.reserve(batch.changes_size());
  for (v1::Change& c : *batch.mutable_changes())
    req.changes.push_back(std::move(c));
  to_apply_.push_back(std::move(req));
}

void LinkCore::Applied(const absl::StatusOr<ApplyOutcome>& outcome,
                       int64_t now_ms) {
  if (!apply_outstanding_) return;
  apply_outstanding_ = false;
  if (!outcome.ok()) return Fail(outcome.status());
  stats_.applied_changes += outcome->applied;
  stats_.duplicate_changes += outcome->duplicates;
  stats_.rejected_changes += outcome->rejected;
  if (outstanding_repair_) {
    if (side_ == Side::kChild) {
      // See whether the repair brought the two sides together, but keep any
      // back-off OnVerdict set after repairs that did not converge.
      probe_requested_ = true;
      next_probe_ms_ = std::max(next_probe_ms_, now_ms);
    }
    return;
  }
  stats_.applied_peer_pos = outstanding_last_pos_;
  if (stats_.state != LinkState::kStreaming) return;
  v1::LinkMessage m;
  m.mutable_ack()->set_pos(outstanding_last_pos_);
  m.mutable_ack()->set_applied(outcome->applied);
  m.mutable_ack()->set_duplicates(outcome->duplicates);
  m.mutable_ack()->set_rejected(outcome->rejected);
  Send(std::move(m));
}

void LinkCore::OnAck(const v1::Ack& ack, int64_t now_ms) {
  // One acknowledgement per batch, in order.
  if (inflight_.empty() || ack.pos() != inflight_.front().last) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("replication protocol: acknowledgement of position ",
                     ack.pos(), " matches no batch in flight")));
  }
  while (!inflight_.empty() && inflight_.front().last <= ack.pos()) {
    inflight_.pop_front();
  }
  peer_acked_ = ack.pos();
  stats_.acked = std::max(stats_.acked, ack.pos());
  stats_.last_ack_ms = now_ms;
  last_progress_ms_ = now_ms;
}

absl::StatusOr<bool> LinkCore::Crosses(const v1::Change& c) const {
  if (side_ == Side::kChild) return view_->InSubtree(c.origin(), self_);
  if (!GoesDown(c)) return false;
  ASSIGN_OR_RETURN(bool from_inside, view_->InSubtree(c.origin(), peer_));
  if (from_inside) return false;
  if (c.kind() == v1::PUT_ORG && c.org().id() == peer_) return true;
  const std::string anchor =
      c.kind() == v1::PUT_ORG ? c.org().parent_id() : AnchorOf(c);
  return view_->InSubtree(anchor, peer_);
}

absl::Status LinkCore::FillWindow(int64_t now_ms) {
  if (!sending_ || stats_.state != LinkState::kStreaming)
    return absl::OkStatus();
  while (inflight_.size() < config_.window) {
    const uint64_t end = view_->log_end();
    stats_.log_end = end;
    stats_.scanned = next_read_;
    if (next_read_ >= end) break;
    ASSIGN_OR_RETURN(std::vector<v1::Change> entries,
                     side_ == Side::kChild
                         ? view_->ReadLog(next_read_, config_.scan_step)
                         : view_->ReadDownLog(next_read_, config_.scan_step));
    v1::LinkMessage m;
    v1::ChangeBatch* batch = m.mutable_batch();
    batch->set_first_pos(unsent_from_);
    uint64_t last = end - 1;  // Scanned to the end unless cut short below.
    size_t bytes = 0;
    int64_t oldest_ms = 0;
    const bool partial_read = entries.size() >= config_.scan_step;
    for (size_t i = 0; i < entries.size(); ++i) {
      v1::Change& c = entries[i];
      if (c.log_pos() >= end) break;  // Committed after `end` was read.
      ASSIGN_OR_RETURN(bool crosses, Crosses(c));
      const uint64_t pos = c.log_pos();
      if (crosses) {
        bytes += c.ByteSizeLong();
        if (oldest_ms == 0) oldest_ms = HybridClock::PhysicalMs(c.hlc());
        *batch->add_changes() = std::move(c);
      }
      if (static_cast<size_t>(batch->changes_size()) >=
              config_.max_batch_changes ||
          bytes >= config_.max_batch_bytes ||
          (partial_read && i + 1 == entries.size())) {
        last = pos;
        break;
      }
    }
    batch->set_last_pos(last);
    next_read_ = last + 1;
    stats_.scanned = next_read_;
    if (batch->changes_size() == 0) {
      // Nothing here crosses this link: covered without a message.
      if (inflight_.empty()) stats_.acked = last;
      continue;
    }
    if (inflight_.empty()) last_progress_ms_ = now_ms;
    unsent_from_ = last + 1;
    inflight_.push_back({batch->first_pos(), last, oldest_ms});
    stats_.sent_changes += batch->changes_size();
    Send(std::move(m));
  }
  stats_.inflight = inflight_.size();
  stats_.oldest_unacked_ms =
      inflight_.empty() ? 0 : inflight_.front().oldest_ms;
  return absl::OkStatus();
}

bool LinkCore::SenderQuiescent() const {
  return sending_ && inflight_.empty() && next_read_ >= view_->log_end();
}

bool LinkCore::ReceiverQuiescent() const {
  return to_apply_.empty() && !apply_outstanding_;
}

void LinkCore::RequestProbe() {
  probe_requested_ = true;
  next_probe_ms_ = 0;
}

absl::Status LinkCore::SendProbe(const std::string& org) {
  v1::LinkMessage m;
  v1::DigestProbe* probe = m.mutable_probe();
  probe->set_log_pos(peer_acked_);
  probe->set_applied_peer_pos(receive_floor_);
  probe->set_org_id(org);
  auto digest = view_->Digest(org);
  if (digest.ok()) {
    probe->set_digest(digest->digest);
    probe->set_own_digest(digest->own_digest);
    for (const auto& [id, d] : digest->children) {
      v1::OrgDigest* child = probe->add_children();
      child->set_org_id(id);
      child->set_digest(d);
    }
  } else if (!absl::IsNotFound(digest.status())) {
    return digest.status();
  }
  for (const auto& [node, ms] : view_->SeenBelow()) {
    v1::NodeSeen* seen = probe->add_descendants_seen();
    seen->set_node_id(node);
    seen->set_seen_ms(ms);
  }
  probe_outstanding_ = true;
  stats_.digest = DigestState::kChecking;
  Send(std::move(m));
  return absl::OkStatus();
}

void LinkCore::MaybeProbe(int64_t now_ms) {
  if (side_ != Side::kChild || stats_.state != LinkState::kStreaming ||
      probe_outstanding_ || now_ms < next_probe_ms_ || !SenderQuiescent() ||
      !ReceiverQuiescent()) {
    return;
  }
  if (probe_queue_.empty() && !probe_requested_ &&
      now_ms < stats_.last_agree_ms + config_.probe_interval_ms) {
    return;
  }
  probe_requested_ = false;
  const std::string org = probe_queue_.empty() ? self_ : probe_queue_.front();
  if (auto s = SendProbe(org); !s.ok()) Fail(s);
}

void LinkCore::RecordSeenBelow(const v1::DigestProbe& probe, int64_t now_ms) {
  // What the child says of nodes below it is kept only for nodes of its
  // subtree, never later than now, and within a bound, so a child cannot
  // vouch for nodes elsewhere or grow this map without limit.
  // At most once per half probe interval (a child probes that often when
  // idle), since each entry costs a walk up the parent chain.
  constexpr int kMaxSeen = 10'000;
  if (probe.descendants_seen_size() == 0 ||
      probe.descendants_seen_size() > kMaxSeen || now_ms < next_seen_ms_) {
    return;
  }
  next_seen_ms_ =
      now_ms + std::max<int64_t>(1'000, config_.probe_interval_ms / 2);
  for (const v1::NodeSeen& seen : probe.descendants_seen()) {
    if (seen.node_id() == peer_ || seen.seen_ms() <= 0) continue;
    auto inside = view_->InSubtree(seen.node_id(), peer_);
    if (!inside.ok() || !*inside) continue;
    int64_t& kept = stats_.descendants_seen[seen.node_id()];
    kept = std::max(kept, std::min(seen.seen_ms(), now_ms));
  }
}

void AddSeenBelow(const LinkStats& link, std::map<std::string, int64_t>* seen) {
  if (link.side != Side::kParent) return;
  auto add = [seen](const std::string& node, int64_t ms) {
    if (ms <= 0) return;
    int64_t& kept = (*seen)[node];
    kept = std::max(kept, ms);
  };
  add(link.peer, link.last_heard_ms);
  for (const auto& [node, ms] : link.descendants_seen) add(node, ms);
}

void LinkCore::OnProbe(const v1::DigestProbe& probe, int64_t now_ms) {
  if (side_ != Side::kParent) {
    return Fail(absl::InvalidArgumentError(
        "replication protocol: only a child sends digest probes"));
  }
  // The child may ask about organisations of its subtree, including ones this
  // side has lost (their snapshots are scope-checked on apply), but never
  // about an organisation this side knows to lie elsewhere.
  auto known = view_->Digest(probe.org_id());
  if (known.ok()) {
    auto inside = view_->InSubtree(probe.org_id(), peer_);
    if (!inside.ok()) return Fail(inside.status());
    if (!*inside) {
      return Fail(absl::PermissionDeniedError(
          absl::StrCat("child ", peer_, " probed organisation '",
                       probe.org_id(), "' outside its subtree")));
    }
  }
  RecordSeenBelow(probe, now_ms);
  v1::LinkMessage m;
  v1::DigestVerdict* verdict = m.mutable_verdict();
  verdict->set_org_id(probe.org_id());
  const bool quiescent = ReceiverQuiescent() && SenderQuiescent() &&
                         receive_floor_ == probe.log_pos() &&
                         peer_acked_ == probe.applied_peer_pos();
  // The parent's side of the link reports what it found, as the child does:
  // the comparison of the child's whole subtree decides agree.
  const bool whole = probe.org_id() == peer_;
  if (!quiescent) {
    verdict->set_outcome(v1::DigestVerdict::NOT_QUIESCENT);
    if (whole && stats_.digest != DigestState::kRepairing) {
      stats_.digest = DigestState::kChecking;
    }
    Send(std::move(m));
    return;
  }
  auto& mine = known;
  if (!mine.ok() && !absl::IsNotFound(mine.status())) {
    return Fail(mine.status());
  }
  // An organisation neither side holds yet (a node awaiting its registration)
  // has the empty digest on both.
  const std::string my_digest = mine.ok() ? mine->digest : "";
  if (my_digest == probe.digest()) {
    verdict->set_outcome(v1::DigestVerdict::AGREE);
    if (whole) {
      stats_.digest = DigestState::kAgree;
      stats_.last_agree_ms = now_ms;
    }
    Send(std::move(m));
    return;
  }
  verdict->set_outcome(v1::DigestVerdict::DIFFER);
  stats_.digest = DigestState::kRepairing;
  std::map<std::string, std::string> theirs;
  for (const auto& c : probe.children()) theirs[c.org_id()] = c.digest();
  std::map<std::string, std::string> ours;
  if (mine.ok()) {
    for (const auto& [id, d] : mine->children) ours[id] = d;
  }
  const bool own_differ = !mine.ok() || mine->own_digest != probe.own_digest();
  verdict->set_own_records_differ(own_differ);
  for (const auto& [id, d] : theirs) {
    auto it = ours.find(id);
    if (it == ours.end() || it->second != d)
      verdict->add_differing_children(id);
  }
  std::vector<std::string> missing;
  for (const auto& [id, d] : ours) {
    if (!theirs.count(id)) {
      verdict->add_missing_children(id);
      missing.push_back(id);
    }
  }
  Send(std::move(m));
  // Send what the child may lack: this organisation's own records, and whole
  // subtrees it does not have at all (registrations first, so every record
  // finds its organisation).
  if (own_differ && mine.ok()) {
    if (auto s = SendSnapshot(probe.org_id()); !s.ok()) return Fail(s);
  }
  std::deque<std::string> pending(missing.begin(), missing.end());
  while (!pending.empty()) {
    const std::string org = pending.front();
    pending.pop_front();
    if (auto s = SendSnapshot(org); !s.ok()) return Fail(s);
    auto children = view_->Children(org);
    if (!children.ok()) return Fail(children.status());
    pending.insert(pending.end(), children->begin(), children->end());
  }
}

absl::Status LinkCore::SendSnapshot(const std::string& org) {
  auto snapshot = view_->Snapshot(org);
  if (absl::IsNotFound(snapshot.status())) return absl::OkStatus();
  RETURN_IF_ERROR(snapshot.status());
  std::vector<v1::Change> records = *std::move(snapshot);
  ++stats_.repairs;
  size_t i = 0;
  do {
    v1::LinkMessage m;
    v1::RepairSnapshot* snap = m.mutable_repair();
    snap->set_org_id(org);
    for (size_t n = 0; i < records.size() && n < config_.max_batch_changes;
         ++i, ++n) {
      *snap->add_records() = std::move(records[i]);
    }
    Send(std::move(m));
  } while (i < records.size());
  return absl::OkStatus();
}

void LinkCore::OnVerdict(const v1::DigestVerdict& verdict, int64_t now_ms) {
  if (side_ != Side::kChild || !probe_outstanding_) {
    return Fail(absl::InvalidArgumentError(
        "replication protocol: unexpected digest verdict"));
  }
  probe_outstanding_ = false;
  const bool narrowing =
      !probe_queue_.empty() && probe_queue_.front() == verdict.org_id();
  switch (verdict.outcome()) {
    case v1::DigestVerdict::NOT_QUIESCENT:
      next_probe_ms_ = now_ms + config_.probe_retry_ms;
      if (!narrowing) probe_requested_ = true;
      return;
    case v1::DigestVerdict::AGREE:
      if (narrowing) probe_queue_.pop_front();
      if (verdict.org_id() == self_ && probe_queue_.empty()) {
        stats_.digest = DigestState::kAgree;
        stats_.last_agree_ms = now_ms;
        repair_rounds_ = 0;
        snapshot_sent_.clear();
        next_probe_ms_ = now_ms + config_.probe_interval_ms;
      } else if (probe_queue_.empty()) {
        probe_requested_ = true;  // Back to the top.
        next_probe_ms_ = now_ms;
      }
      return;
    case v1::DigestVerdict::DIFFER:
      break;
    default:
      return Fail(absl::InvalidArgumentError(
          "replication protocol: digest verdict without an outcome"));
  }
  if (narrowing) probe_queue_.pop_front();
  stats_.digest = DigestState::kRepairing;
  if (verdict.org_id() == self_ && probe_queue_.empty()) {
    if (++repair_rounds_ > kMaxRepairRounds) {
      // Repairs did not converge: report and back off to the normal interval.
      stats_.digest = DigestState::kDiffer;
      repair_rounds_ = 0;
      snapshot_sent_.clear();
      next_probe_ms_ = now_ms + config_.probe_interval_ms;
      return;
    }
    snapshot_sent_.clear();
  }
  if (verdict.own_records_differ() &&
      snapshot_sent_.insert(verdict.org_id()).second) {
    if (auto s = SendSnapshot(verdict.org_id()); !s.ok()) return Fail(s);
  }
  for (const std::string& child : verdict.differing_children()) {
    probe_queue_.push_back(child);
  }
  if (probe_queue_.empty()) probe_requested_ = true;
  next_probe_ms_ = now_ms;
}

void LinkCore::OnRepair(v1::RepairSnapshot& repair) {
  if (to_apply_.size() >= kMaxQueuedBatches) {
    return Fail(absl::ResourceExhaustedError(
        "replication protocol: too many repair snapshots queued"));
  }
  ApplyRequest req;
  req.from_parent = side_ == Side::kChild;
  req.peer = peer_;
  req.peer_incarnation = peer_incarnation_;
  req.repair = true;
  req.changes.reserve(repair.records_size());
  for (v1::Change& c : *repair.mutable_records())
    req.changes.push_back(std::move(c));
  to_apply_.push_back(std::move(req));
}

void LinkCore::ShowAuditState(const v1::AuditHeadState& state) {
  stats_.audit_seq = state.seq();
  stats_.audit_hash = state.hash();
  stats_.audit_seen_ms = state.seen_ms();
  stats_.audit_alarms = state.alarms();
  stats_.audit_alarm = state.last_alarm();
  stats_.audit_alarm_ms = state.last_alarm_ms();
}

void LinkCore::MaybeReportAudit(int64_t now_ms) {
  if (side_ != Side::kChild || !audit_supported_ || audit_outstanding_ ||
      stats_.state != LinkState::kStreaming ||
      (now_ms < next_audit_report_ms_ && !audit_urgent_)) {
    return;
  }
  const AuditChainHead head = view_->audit_head();
  if (!audit_force_ && head.seq == audit_acked_seq_) {
    audit_urgent_ = false;  // The parent holds everything: nothing to urge.
    return;
  }
  v1::LinkMessage m;
  v1::AuditHeadReport* report = m.mutable_audit_report();
  report->set_seq(head.seq);
  report->set_hash(head.hash);
  report->set_proof_seq(audit_acked_seq_);
  auto proof = view_->AuditHashAt(audit_acked_seq_);
  if (proof.ok()) {
    report->set_proof_hash(*proof);
  } else if (!absl::IsNotFound(proof.status())) {
    return Fail(proof.status());
  }
  audit_outstanding_ = true;
  audit_force_ = false;
  audit_urgent_ = false;
  next_audit_report_ms_ = now_ms + config_.audit_report_interval_ms;
  Send(std::move(m));
}

void LinkCore::OnAuditReport(const v1::AuditHeadReport& report,
                             int64_t now_ms) {
  if (side_ != Side::kParent) {
    return Fail(absl::InvalidArgumentError(
        "replication protocol: only a child reports its audit head"));
  }
  if (report.hash().size() > kMaxAuditHashBytes ||
      report.proof_hash().size() > kMaxAuditHashBytes) {
    return Fail(absl::InvalidArgumentError(
        "replication protocol: audit head report with an oversized hash"));
  }
  v1::AuditHeadState state;
  if (pending_audit_.has_value()) {
    state = pending_audit_->state;  // Not yet persisted: the newest.
  } else {
    auto held = view_->PeerAuditHead(peer_);
    if (!held.ok()) return Fail(held.status());
    if (held->has_value()) state = **held;
  }
  const uint64_t held_seq = state.seq();
  v1::LinkMessage m;
  if (report.proof_seq() != held_seq) {
    // Built on another head than the one held here (a late duplicate, or
    // this side lost what it recorded): say what is held and wait for the
    // next report.
    m.mutable_audit_ack()->set_seq(held_seq);
    Send(std::move(m));
    return;
  }
  std::string alarm;
  if (report.seq() < held_seq) {
    alarm =
        absl::StrCat("the audit log of node ", peer_, " went back from entry ",
                     held_seq, " to entry ", report.seq(),
                     ": entries were removed or the store was replaced");
  } else if (held_seq > 0 && report.seq() == held_seq &&
             report.hash() != state.hash()) {
    alarm =
        absl::StrCat("entry ", held_seq, " of the audit log of node ", peer_,
                     " was rewritten: its hash is not the one it "
                     "reported before");
  } else if (held_seq > 0 && report.seq() > held_seq &&
             report.proof_hash() != state.hash()) {
    alarm =
        absl::StrCat("entry ", held_seq, " of the audit log of node ", peer_,
                     " was rewritten or removed: its hash is not "
                     "the one it reported before (head now at entry ",
                     report.seq(), ")");
  }
  state.set_seq(report.seq());
  state.set_hash(report.hash());
  state.set_seen_ms(now_ms);
  if (!alarm.empty()) {
    // Raised once; the rewritten chain is the one checked from now on.
    state.set_alarms(state.alarms() + 1);
    state.set_last_alarm(alarm);
    state.set_last_alarm_ms(now_ms);
  }
  ShowAuditState(state);
  AuditHeadUpdate update;
  update.peer = peer_;
  update.state = state;
  // An alarm not yet persisted is kept (the driver persists one per Ready).
  update.alarm = alarm.empty() && pending_audit_.has_value()
                     ? pending_audit_->alarm
                     : alarm;
  pending_audit_ = std::move(update);
  m.mutable_audit_ack()->set_seq(report.seq());
  Send(std::move(m));
}

void LinkCore::OnAuditAck(const v1::AuditHeadAck& ack, int64_t now_ms) {
  if (side_ != Side::kChild) {
    return Fail(absl::InvalidArgumentError(
        "replication protocol: only a parent acknowledges audit heads"));
  }
  if (!audit_outstanding_) return;  // A duplicate.
  audit_outstanding_ = false;
  audit_acked_seq_ = ack.seq();
  stats_.audit_seq = ack.seq();
  stats_.audit_seen_ms = now_ms;
}

void LinkCore::LogAppended() {}

void LinkCore::Tick(int64_t now_ms) {
  if (stats_.state != LinkState::kStreaming || !close_.ok()) return;
  if (!inflight_.empty() &&
      now_ms - last_progress_ms_ > config_.stall_timeout_ms) {
    Fail(absl::UnavailableError(absl::StrCat(
        "replication link to ", peer_, " stalled: no acknowledgement for ",
        (now_ms - last_progress_ms_) / 1000, " s")));
  }
}

bool LinkCore::HasReady() const {
  if (!out_.empty() || !close_.ok() || pending_audit_.has_value()) return true;
  if (audit_urgent_ && audit_supported_ && !audit_outstanding_ &&
      stats_.state == LinkState::kStreaming) {
    return true;
  }
  if (!apply_outstanding_ && !to_apply_.empty()) return true;
  return sending_ && stats_.state == LinkState::kStreaming &&
         inflight_.size() < config_.window && next_read_ < view_->log_end();
}

Ready LinkCore::TakeReady(int64_t now_ms) {
  Ready ready;
  if (close_.ok() && stats_.state == LinkState::kStreaming) {
    if (auto s = FillWindow(now_ms); !s.ok()) Fail(s);
    MaybeProbe(now_ms);
    MaybeReportAudit(now_ms);
  }
  ready.audit_head = std::move(pending_audit_);
  pending_audit_.reset();
  if (!close_.ok()) {
    ready.send = std::move(out_);
    out_.clear();
    ready.close = close_;
    ready.new_incarnation = new_incarnation_;
    stats_.state = LinkState::kClosed;
    sending_ = false;
    return ready;
  }
  if (!apply_outstanding_ && !to_apply_.empty()) {
    ready.apply = std::move(to_apply_.front());
    to_apply_.pop_front();
    apply_outstanding_ = true;
    outstanding_last_pos_ = ready.apply->last_pos;
    outstanding_repair_ = ready.apply->repair;
  }
  ready.send = std::move(out_);
  out_.clear();
  return ready;
}

}  // namespace unionsync::repl
