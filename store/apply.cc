// Changes received over replication links: scope checks, exactly-once
// apply, cursors, repair snapshots and digests.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/change_rules.h"
#include "common/crypto.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"
#include "store/commit_context.h"
#include "store/keys.h"
#include "store/rocks_status.h"
#include "store/store.h"
#include "store/store_internal.h"

namespace unionsync {

using store_internal::ChainAudit;
using store_internal::CommitContext;
using store_internal::KindMatchesRecord;
using store_internal::RecordName;
using store_internal::Sl;
using store_internal::VersionKey;
using store_internal::VersionValue;

namespace {

// Why a change from a peer is outside what that link may carry, or "" when it
// is inside. See docs/REPLICATION.md, "What a link accepts".
class ScopeCheck {
 public:
  ScopeCheck(const ReplicatedBatch& batch, const std::string& self)
      : batch_(batch), self_(self) {}

  template <typename Ctx>
  absl::StatusOr<std::string> Why(Ctx& ctx, const v1::Change& c) {
    return batch_.source == ReplicatedBatch::Source::kChild
               ? FromChild(ctx, c)
               : FromParent(ctx, c);
  }

 private:
  template <typename Ctx>
  absl::StatusOr<std::string> FromChild(Ctx& ctx, const v1::Change& c) {
    const std::string& child = batch_.peer;
    ASSIGN_OR_RETURN(bool origin_inside, ctx.InSubtree(c.origin(), child));
    if (!origin_inside) {
      return absl::StrCat("origin '", c.origin(),
                          "' is outside the subtree of '", child, "'");
    }
    // The node that must have written a record part: the host of the anchor.
    auto host_of = [&](const std::string& org_id)
        -> absl::StatusOr<std::optional<std::string>> {
      ASSIGN_OR_RETURN(std::optional<v1::Org> org, ctx.Org(org_id));
      if (!org.has_value()) return std::optional<std::string>();
      return std::optional<std::string>(org->host_node());
    };
    switch (c.kind()) {
      case v1::PUT_ORG: {
        if (c.org().id() == child) {
          return std::string(
              "a child may not register itself; its registration comes from "
              "its parent");
        }
        ASSIGN_OR_RETURN(bool inside,
                         ctx.InSubtree(c.org().parent_id(), child));
        if (!inside) {
          return absl::StrCat("organisation '", c.org().id(),
                              "' is registered under '", c.org().parent_id(),
                              "', outside the subtree of '", child, "'");
        }
        ASSIGN_OR_RETURN(std::optional<std::string> host,
                         host_of(c.org().parent_id()));
        if (!batch_.repair && host.has_value() && *host != c.origin()) {
          return absl::StrCat("registration of '", c.org().id(),
                              "' must come from node '", *host, "', not '",
                              c.origin(), "'");
        }
        return std::string();
      }
      case v1::PUT_ORG_PROFILE:
      case v1::PUT_MEMBER: {
        const std::string& anchor =
            c.kind() == v1::PUT_MEMBER ? c.member().org_id() : c.org().id();
        ASSIGN_OR_RETURN(bool inside, ctx.InSubtree(anchor, child));
        if (!inside) {
          return absl::StrCat(RecordName(c), " belongs to '", anchor,
                              "', outside the subtree of '", child, "'");
        }
        if (c.kind() == v1::PUT_MEMBER) {
          ASSIGN_OR_RETURN(std::optional<v1::Member> prev,
                           ctx.Member(c.member().id()));
          if (prev.has_value()) {
            ASSIGN_OR_RETURN(bool was_inside,
                             ctx.InSubtree(prev->org_id(), child));
            if (!was_inside) {
              return absl::StrCat(RecordName(c), " belongs to '",
                                  prev->org_id(), "', outside the subtree of '",
                                  child, "'");
            }
          }
        }
        ASSIGN_OR_RETURN(std::optional<std::string> host, host_of(anchor));
        if (!batch_.repair && host.has_value() && *host != c.origin()) {
          return absl::StrCat(RecordName(c), " must come from node '", *host,
                              "', not '", c.origin(), "'");
        }
        return std::string();
      }
      case v1::PUT_ACCOUNT:
        return AccountFromChild(ctx, c, child);
      case v1::PUT_CONFLICT:
      case v1::PUT_WARNING: {
        // Warnings and conflicts have one author, the hub (the root, which
        // has no parent and so is never below anyone): a child node never
        // writes one. It may hand back the hub's own records in a repair
        // snapshot (a rebuilt parent gets them back), anchored in its
        // subtree.
        ASSIGN_OR_RETURN(std::optional<v1::Org> origin, ctx.Org(c.origin()));
        const bool from_hub = origin.has_value() && origin->parent_id().empty();
        ASSIGN_OR_RETURN(bool inside, ctx.InSubtree(AnchorOf(c), child));
        if (!batch_.repair || !from_hub || !inside) {
          return absl::StrCat(RecordName(c),
                              " is written only by the hub; a child node may "
                              "not send one");
        }
        return std::string();
      }
      case v1::PUT_EXPORT_REQUEST:
      case v1::PUT_EXPORT_APPROVAL: {
        // Requests and approvals about organisations of the child's subtree,
        // written by the node hosting the request's organisation (requests)
        // or the approver's organisation (approvals).
        const std::string anchor = AnchorOf(c);
        ASSIGN_OR_RETURN(bool inside, ctx.InSubtree(anchor, child));
        if (!inside) {
          return absl::StrCat(RecordName(c), " belongs to '", anchor,
                              "', outside the subtree of '", child, "'");
        }
        ASSIGN_OR_RETURN(std::optional<std::string> host,
                         host_of(c.kind() == v1::PUT_EXPORT_REQUEST
                                     ? anchor
                                     : c.export_approval().approver_org()));
        if (!batch_.repair && host.has_value() && *host != c.origin()) {
          return absl::StrCat(RecordName(c), " must come from node '", *host,
                              "', not '", c.origin(), "'");
        }
        return std::string();
      }
      default:
        return std::string("unknown change kind");
    }
  }

  template <typename Ctx>
  absl::StatusOr<std::string> FromParent(Ctx& ctx, const v1::Change& c) {
    if (!batch_.repair) {
      ASSIGN_OR_RETURN(bool own, ctx.InSubtree(c.origin(), self_));
      if (own) {
        return absl::StrCat("change of '", c.origin(),
                            "', a node of this subtree, came down from the "
                            "parent");
      }
    }
    std::string anchor;
    switch (c.kind()) {
      case v1::PUT_ORG:
        // This node's own registration, or one under an organisation of its
        // subtree (the parent chain never changes, so this also holds for
        // organisations this store has not seen yet, as in a repair).
        if (c.org().id() == self_) return std::string();
        anchor = c.org().parent_id();
        break;
      case v1::PUT_ACCOUNT:
        anchor = AnchorOf(c);
        break;
      case v1::PUT_WARNING: {
        // Only the hub writes warnings: the origin must be the root.
        anchor = AnchorOf(c);
        ASSIGN_OR_RETURN(std::optional<v1::Org> origin, ctx.Org(c.origin()));
        if (!batch_.repair && origin.has_value() &&
            !origin->parent_id().empty()) {
          return absl::StrCat(RecordName(c), " comes from node '", c.origin(),
                              "', which is not the hub; only the hub writes "
                              "warnings");
        }
        break;
      }
      case v1::PUT_CONFLICT:
        return std::string("conflicts stay with the hub that reconciles");
      case v1::PUT_EXPORT_APPROVAL: {
        // The upper tier's decision, written at the node hosting the
        // approver's organisation.
        anchor = AnchorOf(c);
        ASSIGN_OR_RETURN(std::optional<v1::Org> approver_org,
                         ctx.Org(c.export_approval().approver_org()));
        if (!batch_.repair && approver_org.has_value() &&
            approver_org->host_node() != c.origin()) {
          return absl::StrCat(RecordName(c), " must come from node '",
                              approver_org->host_node(), "', not '", c.origin(),
                              "'");
        }
        break;
      }
      case v1::PUT_EXPORT_REQUEST:
        if (!batch_.repair) {
          return std::string(
              "export requests are written by the node hosting the "
              "organisation, not above it");
        }
        anchor = AnchorOf(c);
        break;
      case v1::PUT_ORG_PROFILE:
      case v1::PUT_MEMBER:
        if (!batch_.repair) {
          return absl::StrCat(RecordName(c),
                              " is written inside this subtree, not above it");
        }
        anchor =
            c.kind() == v1::PUT_MEMBER ? c.member().org_id() : c.org().id();
        break;
      default:
        return std::string("unknown change kind");
    }
    ASSIGN_OR_RETURN(bool inside, ctx.InSubtree(anchor, self_));
    if (!inside) {
      return absl::StrCat(RecordName(c), " is outside the subtree of '", self_,
                          "'");
    }
    return std::string();
  }

  // An account from a child (docs/REPLICATION.md, "What a link accepts"):
  // its organisation lies in the child's subtree; whoever set its current
  // credential (credential_author_org) lies there too and is hosted by the
  // origin; a unit's data administrator and leader are created by its parent
  // only; the holder's own change (author = the account's organisation) is a
  // password change that can neither raise the upper tier's epoch block,
  // change the role nor lift a disable.
  template <typename Ctx>
  absl::StatusOr<std::string> AccountFromChild(Ctx& ctx, const v1::Change& c,
                                               const std::string& child) {
    const v1::Account& a = c.account();
    const std::string name = RecordName(c);
    ASSIGN_OR_RETURN(bool inside, ctx.InSubtree(a.org_id(), child));
    if (!inside) {
      return absl::StrCat(name, " belongs to '", a.org_id(),
                          "', outside the subtree of '", child, "'");
    }
    if (batch_.repair) return std::string();
    const std::string& author = a.credential_author_org();
    ASSIGN_OR_RETURN(bool author_inside, ctx.InSubtree(author, child));
    if (author.empty() || !author_inside) {
      return absl::StrCat(name, " claims the authority of '", author,
                          "', outside the subtree of '", child, "'");
    }
    ASSIGN_OR_RETURN(std::optional<v1::Org> author_org, ctx.Org(author));
    if (author_org.has_value() && author_org->host_node() != c.origin()) {
      return absl::StrCat(name, " set by '", author, "' must come from node '",
                          author_org->host_node(), "', not '", c.origin(), "'");
    }
    ASSIGN_OR_RETURN(std::optional<v1::Account> held,
                     ctx.Account(a.username()));
    if (author == a.org_id()) {
      const bool parent_made =
          a.role() == v1::DATA_ADMIN || a.role() == v1::UNIT_LEADER;
      if (!held.has_value() && parent_made) {
        return absl::StrCat(name, ": a unit's ", v1::Role_Name(a.role()),
                            " is created by its parent, not by the unit");
      }
      if (held.has_value()) {
        constexpr int64_t kBlock = int64_t{1} << 20;
        if (held->role() != a.role()) {
          return absl::StrCat(name, ": the role of an account never changes");
        }
        if (a.credential_epoch() / kBlock > held->credential_epoch() / kBlock) {
          return absl::StrCat(name,
                              ": the holder's own change may not raise "
                              "the epoch block of the upper tier's decisions");
        }
        if (held->state() == v1::CREDENTIAL_DISABLED &&
            a.credential_epoch() / kBlock ==
                held->credential_epoch() / kBlock &&
            a.state() != v1::CREDENTIAL_DISABLED) {
          return absl::StrCat(name,
                              ": a disabled account cannot be "
                              "re-enabled by its own organisation");
        }
      }
    } else {
      ASSIGN_OR_RETURN(bool below, ctx.InSubtree(a.org_id(), author));
      if (!below) {
        return absl::StrCat(name, ": '", author,
                            "' is not above the account's organisation");
      }
    }
    return std::string();
  }

  const ReplicatedBatch& batch_;
  const std::string& self_;
};

}  // namespace

absl::StatusOr<ApplyResult> Store::ApplyReplicated(ReplicatedBatch in) {
  absl::StatusOr<ApplyResult> result = ApplyImpl(in);
  if (result.ok() && result->applied > 0) NotifyCommit();
  return result;
}

absl::StatusOr<ApplyResult> Store::ApplyImpl(ReplicatedBatch& in) {
  absl::MutexLock lock(&commit_mu_);
  RETURN_IF_ERROR(sticky_error_);
  CommitContext ctx(this, db_.get(), cf_.get(), track_progress_);
  rocksdb::WriteBatch batch;
  ApplyResult result;
  uint64_t pos = next_log_pos_;
  uint64_t last_hlc = 0;
  std::vector<v1::AuditEntry> audit;
  ScopeCheck scope(in, node_id_);

  auto reject = [&](const v1::Change& c, const std::string& why) {
    ++result.rejected;
    result.rejections.push_back(absl::StrCat(RecordName(c), ": ", why));
    v1::AuditEntry e;
    e.set_actor(in.peer);
    e.set_actor_org(in.peer);
    e.set_action(in.repair ? "ReplicationRepairReject" : "ReplicationReject");
    e.set_target(RecordName(c));
    e.set_outcome(v1::AUDIT_DENIED);
    e.set_detail(
        absl::StrCat("origin ", c.origin(), " seq ", c.origin_seq(), ": ", why)
            .substr(0, 500));
    audit.push_back(std::move(e));
  };

  for (v1::Change& c : in.changes) {
    if (!KindMatchesRecord(c) || c.origin().empty()) {
      reject(c, "malformed change");
      continue;
    }
    if (!in.repair && c.origin_seq() != 0) {
      // Dedup first: a re-sent change that was refused before is not a new
      // security event. (Sequence 0 marks a repaired version relayed from
      // below: it is adopted by version, like a repair.)
      const std::string applied_key =
          keys::AppliedKey(c.origin(), c.origin_incarnation());
      ASSIGN_OR_RETURN(uint64_t applied, ctx.Applied(applied_key));
      if (c.origin_seq() <= applied) {
        ++result.duplicates;
        continue;
      }
      if (c.origin_seq() > applied + 1) ++result.gaps;
      ctx.SetRepl(applied_key, keys::BigEndian64(c.origin_seq()));
    } else {
      c.set_origin_seq(0);
    }
    ASSIGN_OR_RETURN(std::string why, scope.Why(ctx, c));
    if (!why.empty()) {
      if (in.repair) {
        // A snapshot carries every record of the organisation, including
        // versions written on this side: not a security event.
        ++result.duplicates;
      } else {
        reject(c, why);
      }
      continue;
    }
    // Single writers make versions of one record part arrive in order; the
    // check matters for accounts (two writers) and after repairs.
    bool newer = true;
    if (c.kind() == v1::PUT_ACCOUNT) {
      ASSIGN_OR_RETURN(std::optional<v1::Account> stored,
                       ctx.Account(c.account().username()));
      if (stored.has_value()) {
        const v1::Account& a = c.account();
        if (a.credential_epoch() != stored->credential_epoch()) {
          newer = a.credential_epoch() > stored->credential_epoch();
        } else if (a.credential_author_org() !=
                   stored->credential_author_org()) {
          // Equal epochs: the tier nearer the root wins (docs/DESIGN.md).
          ASSIGN_OR_RETURN(bool incoming_above,
                           ctx.InSubtree(stored->credential_author_org(),
                                         a.credential_author_org()));
          ASSIGN_OR_RETURN(bool stored_above,
                           ctx.InSubtree(a.credential_author_org(),
                                         stored->credential_author_org()));
          newer = incoming_above ||
                  (!stored_above &&
                   a.credential_author_org() < stored->credential_author_org());
        } else {
          // Same epoch, same author: normally the same version, but a store
          // restored from an old copy can reuse an epoch for another
          // password. The version stamp decides, so both sides converge.
          ASSIGN_OR_RETURN(std::optional<std::string> version,
                           ctx.Version(VersionKey(c)));
          newer = !version.has_value() ||
                  VersionValue(c.hlc(), c.origin()) > *version;
        }
      }
    } else {
      ASSIGN_OR_RETURN(std::optional<std::string> version,
                       ctx.Version(VersionKey(c)));
      newer =
          !version.has_value() || VersionValue(c.hlc(), c.origin()) > *version;
    }
    if (!newer) {
      ++result.duplicates;
      continue;
    }
    // One person in two unions of different nodes is a conflict for the hub
    // to reconcile, not a reason to drop a record its writer holds.
    absl::Status staged =
        StageChange(ctx, c, false, /*unique_person=*/false, pos, &batch);
    if (!staged.ok()) {
      // The peer sent something this store cannot hold (say a member of an
      // organisation it never registered): refuse that change, keep going.
      reject(c, std::string(staged.message()));
      continue;
    }
    if (in.source == ReplicatedBatch::Source::kParent && GoesDown(c)) {
      ctx.PutIndex(keys::DownKey(pos), "");
    }
    last_hlc = std::max(last_hlc, c.hlc());
    ++pos;
    ++result.applied;
  }
  RETURN_IF_ERROR(ctx.Finish(&batch));
  if (!in.repair) {
    batch.Put(cf_->repl, Sl(keys::CursorKey(in.peer)),
              Sl(keys::BigEndian64(in.last_pos) + in.peer_incarnation));
  }
  AuditHead head = audit_head_;
  ChainAudit(audit, clock_, &head, &batch, cf_->audit, cf_->index, nullptr);
  batch.Put(cf_->meta, keys::kMetaNextLogPos, Sl(keys::BigEndian64(pos)));
  batch.Put(cf_->meta, keys::kMetaAuditHead,
            Sl(keys::BigEndian64(head.seq) + head.hash));
  uint64_t hlc_floor = 0;
  if (last_hlc != 0) {
    hlc_floor = hlc_->Update(last_hlc);
    batch.Put(cf_->meta, keys::kMetaHlc, Sl(keys::BigEndian64(hlc_floor)));
  }
  rocksdb::WriteOptions wo;
  wo.sync = sync_;
  rocksdb::Status s = db_->Write(wo, &batch);
  if (!s.ok()) {
    sticky_error_ = FromRocks(s, "apply");
    return sticky_error_;
  }
  next_log_pos_ = pos;
  audit_head_ = head;
  return result;
}

absl::StatusOr<LinkCursor> Store::GetCursor(absl::string_view peer) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_->repl,
                               Sl(keys::CursorKey(peer)), &value);
  if (s.IsNotFound()) return LinkCursor();
  RETURN_IF_ERROR(FromRocks(s, "cursor read"));
  if (value.size() < 8) {
    return absl::DataLossError(absl::StrCat("damaged cursor for ", peer));
  }
  LinkCursor c;
  c.pos = keys::DecodeBigEndian64(value.substr(0, 8));
  c.peer_incarnation = value.substr(8);
  return c;
}

absl::StatusOr<uint64_t> Store::AppliedSeq(
    absl::string_view origin, absl::string_view incarnation) const {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), cf_->repl,
               Sl(keys::AppliedKey(origin, incarnation)), &value);
  if (s.IsNotFound()) return uint64_t{0};
  RETURN_IF_ERROR(FromRocks(s, "applied read"));
  return keys::DecodeBigEndian64(value);
}

absl::StatusOr<std::vector<v1::Change>> Store::OrgSnapshot(
    absl::string_view org_id) const {
  std::vector<v1::Change> out;
  auto stamp = [&](v1::Change& c) -> absl::Status {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_->versions,
                                 Sl(VersionKey(c)), &value);
    if (s.IsNotFound()) return absl::OkStatus();  // Never written: skip.
    RETURN_IF_ERROR(FromRocks(s, "version read"));
    if (value.size() < 8) return absl::DataLossError("damaged version stamp");
    c.set_hlc(keys::DecodeBigEndian64(value.substr(0, 8)));
    c.set_origin(value.substr(8));
    c.set_origin_seq(0);
    out.push_back(c);
    return absl::OkStatus();
  };
  ASSIGN_OR_RETURN(v1::Org org, GetOrg(org_id));
  v1::Change reg;
  reg.set_kind(v1::PUT_ORG);
  *reg.mutable_org() = org;
  RETURN_IF_ERROR(stamp(reg));
  v1::Change profile = reg;
  profile.set_kind(v1::PUT_ORG_PROFILE);
  RETURN_IF_ERROR(stamp(profile));
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<v1::Member> members,
                     ListMembers(org_id, after, 1024));
    for (auto& m : members) {
      after = m.id();
      v1::Change c;
      c.set_kind(v1::PUT_MEMBER);
      *c.mutable_member() = std::move(m);
      RETURN_IF_ERROR(stamp(c));
    }
    if (members.size() < 1024) break;
  }
  ASSIGN_OR_RETURN(std::vector<v1::Account> accounts, ListAccounts(org_id));
  for (auto& a : accounts) {
    v1::Change c;
    c.set_kind(v1::PUT_ACCOUNT);
    *c.mutable_account() = std::move(a);
    RETURN_IF_ERROR(stamp(c));
  }
  // Warnings are not in the digests, but a store rebuilt by repair must get
  // them back too.
  ASSIGN_OR_RETURN(std::vector<std::string> warnings, WarningsOfOrg(org_id));
  for (const std::string& id : warnings) {
    ASSIGN_OR_RETURN(v1::Warning w, GetWarning(id));
    v1::Change c;
    c.set_kind(v1::PUT_WARNING);
    *c.mutable_warning() = std::move(w);
    RETURN_IF_ERROR(stamp(c));
  }
  // So are export requests and their approvals (the record of who exported
  // what, R10.4).
  ASSIGN_OR_RETURN(std::vector<std::string> exports,
                   ExportRequestsOfOrg(org_id));
  for (const std::string& id : exports) {
    ASSIGN_OR_RETURN(v1::ExportRequest r, GetExportRequest(id));
    v1::Change c;
    c.set_kind(v1::PUT_EXPORT_REQUEST);
    *c.mutable_export_request() = std::move(r);
    RETURN_IF_ERROR(stamp(c));
    ASSIGN_OR_RETURN(std::vector<v1::ExportApproval> approvals,
                     ExportApprovals(id));
    for (auto& a : approvals) {
      v1::Change ca;
      ca.set_kind(v1::PUT_EXPORT_APPROVAL);
      *ca.mutable_export_approval() = std::move(a);
      RETURN_IF_ERROR(stamp(ca));
    }
  }
  return out;
}

absl::StatusOr<std::string> Store::OwnDigest(absl::string_view org_id) const {
  ASSIGN_OR_RETURN(v1::SubtreeCounters counters, GetCounters(org_id));
  std::string digest = counters.digest();
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<v1::Org> children,
                     ListChildren(org_id, after, 1024));
    for (const auto& child : children) {
      after = child.id();
      ASSIGN_OR_RETURN(v1::SubtreeCounters c, GetCounters(child.id()));
      if (!c.digest().empty()) XorInto(&digest, c.digest());
    }
    if (children.size() < 1024) break;
  }
  return digest;
}

}  // namespace unionsync
