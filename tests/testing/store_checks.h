// Brute-force checks of a Store's invariants, for tests: counters equal a
// recount over every record, indexes point at the right records, the change log
// is dense and its newest entry per record equals the stored record, and the
// audit chain is intact.
#ifndef UNIONSYNC_TESTS_TESTING_STORE_CHECKS_H_
#define UNIONSYNC_TESTS_TESTING_STORE_CHECKS_H_

#include <algorithm>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/org_rules.h"
#include "store/store.h"

namespace unionsync::testing {

struct Recount {
  v1::SubtreeCounters counters;
  std::string digest;
};

// Recounts the subtree of `org_id` by walking the tree through the store's read
// API.
inline absl::StatusOr<Recount> RecountSubtree(const Store& store,
                                              const std::string& org_id) {
  Recount out;
  auto org = store.GetOrg(org_id);
  if (!org.ok()) return org.status();
  v1::Change c;
  *c.mutable_org() = *org;
  XorInto(&out.digest, Store::RecordDigest(c));
  auto& k = out.counters;
  if (org->status() == v1::ORG_ACTIVE) {
    k.set_orgs(1);
    k.set_grassroots_orgs(IsGrassroots(org->kind()) ? 1 : 0);
    k.set_profile_complete(org->profile_completeness() >= 100 ? 1 : 0);
  }
  auto members = store.ListMembers(org_id, "", 1u << 30);
  if (!members.ok()) return members.status();
  for (const auto& m : *members) {
    if (m.org_id() != org_id)
      return absl::InternalError("member index points at wrong org");
    v1::Change mc;
    *mc.mutable_member() = m;
    XorInto(&out.digest, Store::RecordDigest(mc));
    if (m.status() == v1::MEMBER_ACTIVE) {
      k.set_members(k.members() + 1);
      k.set_migrant_members(k.migrant_members() + (m.migrant_worker() ? 1 : 0));
      auto holders = store.MembersWithIdNumber(m.id_number());
      if (!holders.ok() || std::find(holders->begin(), holders->end(),
                                     m.id()) == holders->end()) {
        return absl::InternalError(
            absl::StrCat("id number index wrong for ", m.id()));
      }
    }
  }
  auto accounts = store.ListAccounts(org_id);
  if (!accounts.ok()) return accounts.status();
  bool activated = false;
  for (const auto& a : *accounts) {
    v1::Change ac;
    *ac.mutable_account() = a;
    XorInto(&out.digest, Store::RecordDigest(ac));
    if (a.state() != v1::CREDENTIAL_DISABLED) k.set_accounts(k.accounts() + 1);
    if (a.role() == v1::DATA_ADMIN && a.state() == v1::CREDENTIAL_ACTIVE)
      activated = true;
  }
  k.set_activated_orgs(activated ? 1 : 0);
  auto children = store.ListChildren(org_id, "", 1u << 30);
  if (!children.ok()) return children.status();
  for (const auto& child : *children) {
    auto sub = RecountSubtree(store, child.id());
    if (!sub.ok()) return sub.status();
    const auto& s = sub->counters;
    k.set_orgs(k.orgs() + s.orgs());
    k.set_grassroots_orgs(k.grassroots_orgs() + s.grassroots_orgs());
    k.set_profile_complete(k.profile_complete() + s.profile_complete());
    k.set_activated_orgs(k.activated_orgs() + s.activated_orgs());
    k.set_members(k.members() + s.members());
    k.set_migrant_members(k.migrant_members() + s.migrant_members());
    k.set_accounts(k.accounts() + s.accounts());
    XorInto(&out.digest, sub->digest);
  }
  k.set_digest(out.digest);
  return out;
}

// Checks every invariant for the subtree of `root`; returns the first
// violation.
// `replicated`: the store also holds changes of other origins, so only log
// positions (not origin sequences) are dense.
inline absl::Status CheckStoreInvariants(const Store& store,
                                         const std::string& root,
                                         bool replicated = false) {
  // Counters of every organisation equal a recount.
  std::vector<std::string> pending = {root};
  while (!pending.empty()) {
    std::string id = pending.back();
    pending.pop_back();
    auto recount = RecountSubtree(store, id);
    if (!recount.ok()) return recount.status();
    auto stored = store.GetCounters(id);
    if (!stored.ok()) return stored.status();
    if (stored->SerializeAsString() != recount->counters.SerializeAsString()) {
      return absl::InternalError(absl::StrCat(
          "counters of ", id, " are ", stored->ShortDebugString(),
          " but a recount gives ", recount->counters.ShortDebugString()));
    }
    auto children = store.ListChildren(id, "", 1u << 30);
    if (!children.ok()) return children.status();
    for (const auto& c : *children) pending.push_back(c.id());
  }
  // The log is dense; the newest entry per record is the stored record.
  auto log = store.ReadLog(1, 1u << 30);
  if (!log.ok()) return log.status();
  if (log->size() + 1 != store.next_log_pos()) {
    return absl::InternalError(absl::StrCat("log has ", log->size(),
                                            " entries, next_log_pos is ",
                                            store.next_log_pos()));
  }
  std::map<std::string, std::string> newest;
  for (size_t i = 0; i < log->size(); ++i) {
    const auto& c = (*log)[i];
    if (c.log_pos() != i + 1 || (!replicated && c.origin_seq() != i + 1)) {
      return absl::InternalError(absl::StrCat("log gap at ", i + 1));
    }
    newest[absl::StrCat(c.record_case(), "/", c.org().id(), c.member().id(),
                        c.account().username())] = Store::RecordDigest(c);
  }
  for (const auto& [key, digest] : newest) {
    v1::Change now;
    const std::string id = key.substr(key.find('/') + 1);
    if (key[0] == '1' && key[1] == '0') {
      auto o = store.GetOrg(id);
      if (!o.ok()) return o.status();
      *now.mutable_org() = *o;
    } else if (key[0] == '1' && key[1] == '1') {
      auto m = store.GetMember(id);
      if (!m.ok()) return m.status();
      *now.mutable_member() = *m;
    } else {
      auto a = store.GetAccount(id);
      if (!a.ok()) return a.status();
      *now.mutable_account() = *a;
    }
    if (Store::RecordDigest(now) != digest) {
      return absl::InternalError(
          absl::StrCat("stored record ", key, " differs from its log"));
    }
  }
  auto broken = store.VerifyAuditChain();
  if (!broken.ok()) return broken.status();
  if (broken->has_value()) {
    return absl::InternalError(
        absl::StrCat("audit chain broken at ", **broken));
  }
  return absl::OkStatus();
}

}  // namespace unionsync::testing

#endif  // UNIONSYNC_TESTS_TESTING_STORE_CHECKS_H_
