// Staging one change into a commit's WriteBatch.
#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/change_rules.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "store/commit_context.h"
#include "store/keys.h"
#include "store/store.h"
#include "store/store_internal.h"
#include "vault/records.h"
#include "vault/vault.h"

namespace unionsync {

using store_internal::CommitContext;
using store_internal::Contribution;
using store_internal::ContributionOf;
using store_internal::KindMatchesRecord;
using store_internal::LogEntryWithMember;
using store_internal::RecordName;
using store_internal::Serialize;
using store_internal::SerializeSealed;
using store_internal::Sl;
using store_internal::VersionKey;
using store_internal::VersionValue;

namespace {

// The registration part of an organisation (written by the node hosting its
// parent) and the profile part (written by the node hosting it).
void CopyRegistration(const v1::Org& from, v1::Org* to) {
  to->set_id(from.id());
  to->set_name(from.name());
  to->set_kind(from.kind());
  to->set_tier(from.tier());
  to->set_parent_id(from.parent_id());
  to->set_region(from.region());
  to->set_system(from.system());
  to->set_status(from.status());
  to->set_host_node(from.host_node());
  to->set_created_at_ms(from.created_at_ms());
  *to->mutable_trainings() = from.trainings();
}

void CopyProfile(const v1::Org& from, v1::Org* to) {
  to->set_credit_code(from.credit_code());
  if (from.has_chair()) {
    *to->mutable_chair() = from.chair();
  } else {
    to->clear_chair();
  }
  if (from.has_data_admin()) {
    *to->mutable_data_admin() = from.data_admin();
  } else {
    to->clear_data_admin();
  }
  if (from.has_contact()) {
    *to->mutable_contact() = from.contact();
  } else {
    to->clear_contact();
  }
  to->set_employee_count(from.employee_count());
  to->set_founding_date(from.founding_date());
  to->set_address(from.address());
  to->set_profile_completeness(from.profile_completeness());
  to->set_updated_at_ms(from.updated_at_ms());
  *to->mutable_child_targets() = from.child_targets();
}

// The targets an organisation set for its children (SetChildTarget), as any
// writer or peer must send them: at most one per child, counts in range.
absl::Status CheckChildTargets(const v1::Org& org) {
  constexpr int kMaxTargets = 10'000;
  constexpr int64_t kMaxExpected = 100'000'000;
  if (org.child_targets_size() > kMaxTargets) {
    return absl::InvalidArgumentError(absl::StrCat(
        "organisation '", org.id(), "' has ", org.child_targets_size(),
        " child targets; at most ", kMaxTargets));
  }
  absl::flat_hash_set<absl::string_view> seen;
  for (const v1::ChildTarget& t : org.child_targets()) {
    if (!seen.insert(t.child_id()).second) {
      return absl::InvalidArgumentError(absl::StrCat("organisation '", org.id(),
                                                     "' has two targets for '",
                                                     t.child_id(), "'"));
    }
    for (int64_t v : {t.expected_grassroots(), t.expected_members()}) {
      if (v < 0 || v > kMaxExpected) {
        return absl::InvalidArgumentError(
            absl::StrCat("organisation '", org.id(), "': the target for '",
                         t.child_id(), "' is out of range (", v, ")"));
      }
    }
  }
  return absl::OkStatus();
}

// True when a change's record (or a side of its conflict) has a `sealed`
// field set: the at-rest form, never valid from a writer or a peer.
bool CarriesSealedFields(const v1::Change& c) {
  switch (c.record_case()) {
    case v1::Change::kMember:
      return !c.member().sealed().empty();
    case v1::Change::kOrg:
      return !c.org().sealed().empty();
    case v1::Change::kConflict:
      for (const v1::ConflictSide& side : c.conflict().sides()) {
        if (!side.member().sealed().empty() || !side.org().sealed().empty()) {
          return true;
        }
      }
      return false;
    default:
      return false;
  }
}

// What staging one record produced, for what every kind shares: counters,
// progress, the version stamp and the log entry.
struct Staged {
  std::optional<v1::Change> old;  // The previous version, wrapped the same way.
  std::string bytes;   // The record's (plaintext) serialisation, for digests.
  std::string digest;  // Its digest contribution, when known already.
  // A member's stored (sealed) serialisation, reused for the log entry.
  std::string stored_member;
};

// Where a staged record goes.
struct StageTarget {
  const Vault& vault;
  const store_internal::Handles& cf;
  const std::string& node_id;
  rocksdb::WriteBatch* batch;
};

// One handler per kind of record. Each checks its record's invariants before
// its first change to `ctx`, so a refused change leaves the commit context as
// it was, then writes the record and its index entries.

// An organisation's registration (PUT_ORG) or profile (PUT_ORG_PROFILE),
// merged into the stored record.
absl::Status StageOrg(const StageTarget& t, CommitContext& ctx,
                      v1::Change& change, bool must_create, Staged* out) {
  const v1::Org& in = change.org();
  if (in.id().empty()) {
    return absl::InvalidArgumentError("organisation id is empty");
  }
  ASSIGN_OR_RETURN(std::optional<v1::Org> prev, ctx.Org(in.id()));
  v1::Org merged;
  bool new_child = false;
  if (change.kind() == v1::PUT_ORG) {
    if (prev.has_value() && must_create) {
      return absl::AlreadyExistsError(
          absl::StrCat("organisation '", in.id(), "' already exists"));
    }
    if (prev.has_value() && prev->parent_id() != in.parent_id()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "organisation '", in.id(), "' cannot change its parent from '",
          prev->parent_id(), "' to '", in.parent_id(), "'"));
    }
    // Progress is aggregated by region and system: both are fixed at
    // registration.
    if (prev.has_value() &&
        (prev->region() != in.region() || prev->system() != in.system())) {
      return absl::FailedPreconditionError(absl::StrCat(
          "organisation '", in.id(),
          "' cannot change its region or system after registration"));
    }
    if (!prev.has_value() && !in.parent_id().empty()) {
      ASSIGN_OR_RETURN(std::optional<v1::Org> parent, ctx.Org(in.parent_id()));
      // A node's own organisation is registered by a parent this store
      // does not hold.
      if (!parent.has_value() && in.id() != t.node_id) {
        return absl::FailedPreconditionError(
            absl::StrCat("parent '", in.parent_id(), "' of organisation '",
                         in.id(), "' does not exist"));
      }
      new_child = parent.has_value();
    }
    if (prev.has_value()) merged = *prev;
    CopyRegistration(in, &merged);
  } else {
    if (!prev.has_value()) {
      return absl::FailedPreconditionError(
          absl::StrCat("profile of unknown organisation '", in.id(), "'"));
    }
    RETURN_IF_ERROR(CheckChildTargets(in));
    merged = *prev;
    CopyProfile(in, &merged);
  }
  // Sealing can fail (an OpenSSL error): before any change to `ctx`.
  ASSIGN_OR_RETURN(std::string stored,
                   SerializeSealed(t.vault, merged, SealOrg));
  if (new_child) {
    ctx.PutIndex(keys::ChildKey(merged.parent_id(), merged.id()), "");
  }
  // Organisations that run their own node, for sync freshness.
  if (merged.host_node() == merged.id()) {
    ctx.PutIndex(keys::NodeOrgKey(merged.id()), "");
  } else if (prev.has_value() && prev->host_node() == prev->id()) {
    ctx.DeleteIndex(keys::NodeOrgKey(merged.id()));
  }
  auto coded = [](const v1::Org& o) {
    return o.status() == v1::ORG_ACTIVE && !o.credit_code().empty();
  };
  if (prev.has_value() && coded(*prev) &&
      (!coded(merged) || prev->credit_code() != merged.credit_code())) {
    ctx.DeleteIndex(keys::CreditCodeKey(prev->credit_code(), merged.id()));
  }
  if (coded(merged)) {
    ctx.PutIndex(keys::CreditCodeKey(merged.credit_code(), merged.id()), "");
  }
  if (prev.has_value()) *(out->old.emplace().mutable_org()) = *prev;
  ctx.SetOrg(merged);
  out->bytes = Serialize(merged);
  t.batch->Put(t.cf.orgs, merged.id(), stored);
  *change.mutable_org() = std::move(merged);
  return absl::OkStatus();
}

// A member; `unique_person` refuses a second active member with the same ID
// number (local entry).
absl::Status StageMember(const StageTarget& t, CommitContext& ctx,
                         v1::Change& change, bool must_create,
                         bool unique_person, const PreparedRecord* prepared,
                         Staged* out) {
  const v1::Member& m = change.member();
  // Member ids are node-assigned identifiers; the ID-number index
  // separates them with commas.
  RETURN_IF_ERROR(ValidateIdentifier("member id", m.id()));
  const std::string token = prepared != nullptr
                                ? prepared->token
                                : IdNumberToken(t.vault, m.id_number());
  ASSIGN_OR_RETURN(std::optional<v1::Org> org, ctx.Org(m.org_id()));
  if (!org.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("organisation '", m.org_id(), "' of member '", m.id(),
                     "' does not exist"));
  }
  ASSIGN_OR_RETURN(std::optional<v1::Member> prev, ctx.Member(m.id()));
  if (prev.has_value() && must_create) {
    return absl::AlreadyExistsError(
        absl::StrCat("member '", m.id(), "' already exists"));
  }
  // Checked when a person becomes active here (new, back, or another ID
  // number). An active member keeps being editable when a duplicate
  // arrives later from another node: that is the hub's conflict to
  // reconcile, and editing may be how it is fixed.
  const bool already_active = prev.has_value() &&
                              prev->status() == v1::MEMBER_ACTIVE &&
                              prev->id_number() == m.id_number();
  // The index entries this change touches, read before any change.
  ASSIGN_OR_RETURN(std::vector<std::string> holders, ctx.IdHolders(token));
  const bool prev_active =
      prev.has_value() && prev->status() == v1::MEMBER_ACTIVE;
  const std::string prev_token =
      prev_active && prev->id_number() != m.id_number()
          ? IdNumberToken(t.vault, prev->id_number())
          : token;
  std::vector<std::string> prev_holders;
  if (prev_token != token) {
    ASSIGN_OR_RETURN(prev_holders, ctx.IdHolders(prev_token));
  }
  if (m.status() == v1::MEMBER_ACTIVE && unique_person && !already_active) {
    for (const std::string& holder : holders) {
      if (holder == m.id()) continue;
      return absl::AlreadyExistsError(absl::StrCat(
          "id_number: this person is already an active member (member '",
          holder, "'); one person is a member of one union at a time"));
    }
  }
  if (prepared != nullptr) {
    out->bytes = prepared->plain;
    out->digest = prepared->digest;
    out->stored_member = prepared->stored;
  } else {
    // Before any change to `ctx`: sealing can fail.
    out->bytes = Serialize(m);
    ASSIGN_OR_RETURN(out->stored_member,
                     SerializeSealed(t.vault, m, SealMember));
  }
  if (prev.has_value()) {
    *(out->old.emplace().mutable_member()) = *prev;
    if (prev->org_id() != m.org_id()) {
      ctx.DeleteIndex(keys::OrgMemberKey(prev->org_id(), m.id()));
    }
  }
  if (prev_active || m.status() == v1::MEMBER_ACTIVE) {
    auto drop = [&m](std::vector<std::string>& ids) {
      ids.erase(std::remove(ids.begin(), ids.end(), m.id()), ids.end());
    };
    if (prev_token != token) {
      drop(prev_holders);
      ctx.SetIdHolders(prev_token, prev_holders);
    }
    drop(holders);
    if (m.status() == v1::MEMBER_ACTIVE) holders.push_back(m.id());
    std::sort(holders.begin(), holders.end());
    ctx.SetIdHolders(token, holders);
  }
  ctx.PutIndex(keys::OrgMemberKey(m.org_id(), m.id()), "");
  ctx.SetMember(m);
  t.batch->Put(t.cf.members, m.id(), out->stored_member);
  return absl::OkStatus();
}

absl::Status StageAccount(const StageTarget& t, CommitContext& ctx,
                          v1::Change& change, bool must_create, Staged* out) {
  const v1::Account& a = change.account();
  if (a.username().empty()) {
    return absl::InvalidArgumentError("username is empty");
  }
  ASSIGN_OR_RETURN(std::optional<v1::Org> org, ctx.Org(a.org_id()));
  if (!org.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("organisation '", a.org_id(), "' of account '",
                     a.username(), "' does not exist"));
  }
  ASSIGN_OR_RETURN(std::optional<v1::Account> prev, ctx.Account(a.username()));
  if (prev.has_value() && must_create) {
    return absl::AlreadyExistsError(
        absl::StrCat("username '", a.username(), "' is already taken"));
  }
  if (prev.has_value() && prev->org_id() != a.org_id()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "account '", a.username(), "' belongs to '", prev->org_id(), "'"));
  }
  if (prev.has_value()) *(out->old.emplace().mutable_account()) = *prev;
  ctx.PutIndex(keys::OrgAccountKey(a.org_id(), a.username()), "");
  ctx.TouchActivation(a.org_id());
  ctx.SetAccount(a);
  out->bytes = Serialize(a);
  t.batch->Put(t.cf.accounts, a.username(), out->bytes);
  return absl::OkStatus();
}

// Records about an organisation, kept by the hub and export flows: conflicts,
// warnings, export requests and approvals.
absl::Status StageAnchored(const StageTarget& t, CommitContext& ctx,
                           v1::Change& change, Staged* out) {
  const std::string anchor = AnchorOf(change);
  ASSIGN_OR_RETURN(std::optional<v1::Org> org, ctx.Org(anchor));
  if (!org.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        RecordName(change), " is about unknown organisation '", anchor, "'"));
  }
  switch (change.kind()) {
    case v1::PUT_WARNING: {
      const v1::Warning& w = change.warning();
      ctx.PutIndex(keys::OrgWarningKey(w.org_id(), w.id()), "");
      out->bytes = Serialize(w);
      t.batch->Put(t.cf.hub, keys::WarningKey(w.id()), out->bytes);
      break;
    }
    case v1::PUT_CONFLICT: {
      out->bytes = Serialize(change.conflict());
      ASSIGN_OR_RETURN(
          std::string stored,
          SerializeSealed(t.vault, change.conflict(), SealConflict));
      t.batch->Put(t.cf.hub, keys::ConflictKey(change.conflict().id()), stored);
      break;
    }
    case v1::PUT_EXPORT_REQUEST: {
      const v1::ExportRequest& r = change.export_request();
      ctx.PutIndex(keys::OrgExportKey(r.org_id(), r.id()), "");
      out->bytes = Serialize(r);
      t.batch->Put(t.cf.hub, keys::ExportRequestKey(r.id()), out->bytes);
      break;
    }
    default: {
      const v1::ExportApproval& a = change.export_approval();
      out->bytes = Serialize(a);
      t.batch->Put(t.cf.hub, keys::ExportApprovalKey(a.request_id(), a.level()),
                   out->bytes);
      break;
    }
  }
  return absl::OkStatus();
}

// The record's contribution to its organisation's counters (and, when it
// moved, the old one's), and the day's progress figures.
void CountChange(CommitContext& ctx, const v1::Change& change,
                 const Staged& staged, bool track_progress) {
  const Contribution after =
      ContributionOf(change, &staged.bytes, &staged.digest);
  const std::string anchor = AnchorOf(change);
  std::optional<Contribution> before;
  std::string before_anchor;
  if (staged.old.has_value()) {
    before = ContributionOf(*staged.old);
    before_anchor = AnchorOf(*staged.old);
    ctx.AddContribution(before_anchor, *before, -1);
  }
  ctx.AddContribution(anchor, after, +1);
  if (track_progress) {
    const int64_t ms = HybridClock::PhysicalMs(change.hlc());
    const std::string day = Store::DayOf(ms);
    ctx.NoteOrigin(change.origin(), ms);
    if (before.has_value()) ctx.AddDay(before_anchor, day, *before, -1, false);
    // New in this organisation: it was not counted here before.
    const bool was_here = before.has_value() && before_anchor == anchor;
    ctx.AddDay(anchor, day, after, +1, false);
    if (!was_here || before->members == 0 || before->grassroots == 0) {
      Contribution fresh;
      fresh.members =
          after.members > 0 && !(was_here && before->members > 0) ? 1 : 0;
      fresh.grassroots =
          after.grassroots > 0 && !(was_here && before->grassroots > 0) ? 1 : 0;
      ctx.AddDay(anchor, day, fresh, 0, true);
    }
    if (change.kind() == v1::PUT_MEMBER) {
      ctx.NoteEntry(anchor, ms);
      if (before.has_value() && before_anchor != anchor) {
        ctx.NoteEntry(before_anchor, ms);
      }
    }
  }
}

}  // namespace

absl::Status Store::StageChange(CommitContext& ctx, v1::Change& change,
                                bool must_create, bool unique_person,
                                uint64_t log_pos, void* raw_batch,
                                const PreparedRecord* prepared) {
  auto* batch = static_cast<rocksdb::WriteBatch*>(raw_batch);
  if (!KindMatchesRecord(change)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "change kind ", change.kind(), " does not match its record"));
  }
  if (CarriesSealedFields(change)) {
    return absl::InvalidArgumentError(absl::StrCat(
        RecordName(change),
        " carries a 'sealed' field, which exists only at rest and is never "
        "accepted from a writer or a peer"));
  }
  const StageTarget target{*vault_, *cf_, node_id_, batch};
  Staged staged;
  switch (change.kind()) {
    case v1::PUT_ORG:
    case v1::PUT_ORG_PROFILE:
      RETURN_IF_ERROR(StageOrg(target, ctx, change, must_create, &staged));
      break;
    case v1::PUT_MEMBER:
      RETURN_IF_ERROR(StageMember(target, ctx, change, must_create,
                                  unique_person, prepared, &staged));
      break;
    case v1::PUT_ACCOUNT:
      RETURN_IF_ERROR(StageAccount(target, ctx, change, must_create, &staged));
      break;
    case v1::PUT_CONFLICT:
    case v1::PUT_WARNING:
    case v1::PUT_EXPORT_REQUEST:
    case v1::PUT_EXPORT_APPROVAL:
      RETURN_IF_ERROR(StageAnchored(target, ctx, change, &staged));
      break;
    default:
      return absl::InvalidArgumentError("change without a known kind");
  }
  if (!IsAuxRecord(change)) CountChange(ctx, change, staged, track_progress_);
  ctx.SetVersion(VersionKey(change),
                 VersionValue(change.hlc(), change.origin()));
  change.set_log_pos(log_pos);
  if (change.has_member() && !staged.stored_member.empty()) {
    // The member is sealed once: the log entry carries the same stored form.
    batch->Put(cf_->log, Sl(keys::BigEndian64(log_pos)),
               LogEntryWithMember(change, staged.stored_member));
  } else {
    ASSIGN_OR_RETURN(std::string logged,
                     SerializeSealed(*vault_, change, SealChange));
    batch->Put(cf_->log, Sl(keys::BigEndian64(log_pos)), logged);
  }
  return absl::OkStatus();
}

}  // namespace unionsync
