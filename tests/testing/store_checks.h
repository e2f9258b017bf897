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
  int64_t own_active = 0;
  for (const auto& m : *members) {
    if (m.status() == v1::MEMBER_ACTIVE) ++own_active;
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
      // And every holder listed is an active member with that number.
      for (const std::string& h : *holders) {
        auto held = store.GetMember(h);
        if (!held.ok() || held->status() != v1::MEMBER_ACTIVE ||
            held->id_number() != m.id_number()) {
          return absl::InternalError(absl::StrCat("id number index of ", m.id(),
                                                  " lists stale member ", h));
        }
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
  k.set_orgs_with_members(own_active > 0 ? 1 : 0);
  {
    v1::OrgProgress p;
    p.set_own_members(own_active);
    p.set_activated(activated);
    k.set_grassroots_entered(
        CountsAsEntered(*org, p, store.entered_rule()) ? 1 : 0);
  }
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
    k.set_orgs_with_members(k.orgs_with_members() + s.orgs_with_members());
    k.set_grassroots_entered(k.grassroots_entered() + s.grassroots_entered());
    XorInto(&out.digest, sub->digest);
  }
  k.set_digest(out.digest);
  return out;
}

// Checks the progress aggregates (Store::GetScopeCounters, ReadDays,
// GetOrgProgress) against a recount over every organisation, member and
// account the store holds: scope counters for "all", each region and each
// system; per organisation its own active members and activation; the days
// of each scope and subtree summing to the current figures.
inline absl::Status CheckProgressAggregates(const Store& store) {
  auto orgs = store.ScanOrgs("", 1u << 30);
  if (!orgs.ok()) return orgs.status();
  std::map<std::string, v1::SubtreeCounters> scopes;
  std::map<std::string, std::string> parent_of;
  std::map<std::string, std::pair<int64_t, int64_t>>
      own;  // grassroots, members
  for (const v1::Org& o : *orgs) parent_of[o.id()] = o.parent_id();
  for (const v1::Org& o : *orgs) {
    v1::SubtreeCounters k;
    if (o.status() == v1::ORG_ACTIVE) {
      k.set_orgs(1);
      k.set_grassroots_orgs(IsGrassroots(o.kind()) ? 1 : 0);
      k.set_profile_complete(o.profile_completeness() >= 100 ? 1 : 0);
    }
    auto members = store.ListMembers(o.id(), "", 1u << 30);
    if (!members.ok()) return members.status();
    int64_t active = 0;
    for (const auto& m : *members) {
      if (m.status() != v1::MEMBER_ACTIVE) continue;
      ++active;
      k.set_migrant_members(k.migrant_members() + (m.migrant_worker() ? 1 : 0));
    }
    k.set_members(active);
    k.set_orgs_with_members(active > 0 ? 1 : 0);
    auto accounts = store.ListAccounts(o.id());
    if (!accounts.ok()) return accounts.status();
    bool activated = false;
    for (const auto& a : *accounts) {
      if (a.state() != v1::CREDENTIAL_DISABLED)
        k.set_accounts(k.accounts() + 1);
      if (a.role() == v1::DATA_ADMIN && a.state() == v1::CREDENTIAL_ACTIVE) {
        activated = true;
      }
    }
    k.set_activated_orgs(activated ? 1 : 0);
    auto progress = store.GetOrgProgress(o.id());
    if (!progress.ok()) return progress.status();
    const bool entered = CountsAsEntered(o, *progress, store.entered_rule());
    k.set_grassroots_entered(entered ? 1 : 0);
    if (progress->own_members() != active ||
        progress->activated() != activated || progress->entered() != entered) {
      return absl::InternalError(absl::StrCat(
          "progress of ", o.id(), " is ", progress->ShortDebugString(),
          " but a recount gives ", active, " members, activated ", activated,
          ", entered ", entered));
    }
    own[o.id()] = {k.grassroots_orgs(), k.members()};
    std::vector<std::string> names = {"all"};
    if (!o.region().empty()) names.push_back(absl::StrCat("r:", o.region()));
    if (!o.system().empty()) names.push_back(absl::StrCat("y:", o.system()));
    for (const auto& n : names) {
      v1::SubtreeCounters& t = scopes[n];
      t.set_orgs(t.orgs() + k.orgs());
      t.set_grassroots_orgs(t.grassroots_orgs() + k.grassroots_orgs());
      t.set_profile_complete(t.profile_complete() + k.profile_complete());
      t.set_activated_orgs(t.activated_orgs() + k.activated_orgs());
      t.set_members(t.members() + k.members());
      t.set_migrant_members(t.migrant_members() + k.migrant_members());
      t.set_accounts(t.accounts() + k.accounts());
      t.set_orgs_with_members(t.orgs_with_members() + k.orgs_with_members());
      t.set_grassroots_entered(t.grassroots_entered() + k.grassroots_entered());
    }
  }
  // The index of organisations that run their own node.
  {
    std::vector<std::string> expected;
    for (const v1::Org& o : *orgs) {
      if (o.host_node() == o.id()) expected.push_back(o.id());
    }
    auto indexed = store.NodeOrgs();
    if (!indexed.ok()) return indexed.status();
    if (*indexed != expected) {
      return absl::InternalError(
          absl::StrCat("node index holds ", indexed->size(),
                       " organisations, a recount ", expected.size()));
    }
  }
  auto stored_scopes = store.ListScopes("");
  if (!stored_scopes.ok()) return stored_scopes.status();
  for (const auto& n : *stored_scopes) scopes[n];  // Stored ones must be zero.
  for (const auto& [name, expected] : scopes) {
    auto got = store.GetScopeCounters(name);
    if (!got.ok()) return got.status();
    if (got->SerializeAsString() != expected.SerializeAsString()) {
      return absl::InternalError(
          absl::StrCat("scope ", name, " is ", got->ShortDebugString(),
                       " but a recount gives ", expected.ShortDebugString()));
    }
    // Its days sum to the figures.
    auto days = store.ReadDays(name, "", "");
    if (!days.ok()) return days.status();
    int64_t g = 0, m = 0, o = 0;
    for (const auto& [day, d] : *days) {
      g += d.grassroots_net();
      m += d.members_net();
      o += d.orgs_net();
    }
    if (g != expected.grassroots_orgs() || m != expected.members() ||
        o != expected.orgs()) {
      return absl::InternalError(absl::StrCat(
          "days of scope ", name, " sum to ", o, " orgs, ", g, " grassroots, ",
          m, " members; expected ", expected.ShortDebugString()));
    }
  }
  // Days per subtree.
  std::map<std::string, std::pair<int64_t, int64_t>> subtree;
  for (const auto& [id, counts] : own) {
    std::string current = id;
    for (int depth = 0; !current.empty() && depth < 16; ++depth) {
      subtree[current].first += counts.first;
      subtree[current].second += counts.second;
      auto it = parent_of.find(current);
      if (it == parent_of.end()) break;
      current = it->second;
    }
  }
  for (const auto& [id, counts] : subtree) {
    if (parent_of.count(id) == 0) continue;
    auto days = store.ReadDays(absl::StrCat("t:", id), "", "");
    if (!days.ok()) return days.status();
    int64_t g = 0, m = 0;
    for (const auto& [day, d] : *days) {
      g += d.grassroots_net();
      m += d.members_net();
    }
    if (g != counts.first || m != counts.second) {
      return absl::InternalError(absl::StrCat(
          "days of subtree ", id, " sum to ", g, " grassroots and ", m,
          " members; a recount gives ", counts.first, " and ", counts.second));
    }
  }
  return absl::OkStatus();
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
  // The ID-number index has one entry per active member, no more.
  {
    auto all = store.GetCounters(root);
    auto entries = store.CountIdIndexEntries();
    if (!all.ok()) return all.status();
    if (!entries.ok()) return entries.status();
    if (*entries != static_cast<uint64_t>(all->members())) {
      return absl::InternalError(absl::StrCat("the ID-number index lists ",
                                              *entries, " members, but ",
                                              all->members(), " are active"));
    }
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
  std::map<std::string, std::string> newest_hub;  // Reconciliation records.
  for (size_t i = 0; i < log->size(); ++i) {
    const auto& c = (*log)[i];
    if (c.log_pos() != i + 1 || (!replicated && c.origin_seq() != i + 1)) {
      return absl::InternalError(absl::StrCat("log gap at ", i + 1));
    }
    if (c.kind() == v1::PUT_WARNING) {
      newest_hub[absl::StrCat("w/", c.warning().id())] =
          c.warning().SerializeAsString();
      continue;
    }
    if (c.kind() == v1::PUT_CONFLICT) {
      newest_hub[absl::StrCat("x/", c.conflict().id())] =
          c.conflict().SerializeAsString();
      continue;
    }
    if (c.kind() == v1::PUT_EXPORT_REQUEST) {
      newest_hub[absl::StrCat("e/", c.export_request().id())] =
          c.export_request().SerializeAsString();
      continue;
    }
    if (c.kind() == v1::PUT_EXPORT_APPROVAL) {
      newest_hub[absl::StrCat("ea/", c.export_approval().request_id(), "/",
                              c.export_approval().level())] =
          c.export_approval().SerializeAsString();
      continue;
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
  for (const auto& [key, bytes] : newest_hub) {
    std::string stored;
    if (key.rfind("ea/", 0) == 0) {
      const std::string rest = key.substr(3);
      const std::string rid = rest.substr(0, rest.find('/'));
      auto approvals = store.ExportApprovals(rid);
      if (!approvals.ok()) return approvals.status();
      for (const auto& a : *approvals) {
        if (absl::StrCat(rid, "/", a.level()) == rest) {
          stored = a.SerializeAsString();
        }
      }
    } else if (key[0] == 'e') {
      auto e = store.GetExportRequest(key.substr(2));
      if (!e.ok()) return e.status();
      stored = e->SerializeAsString();
    } else if (key[0] == 'w') {
      auto w = store.GetWarning(key.substr(2));
      if (!w.ok()) return w.status();
      stored = w->SerializeAsString();
    } else {
      auto x = store.GetConflict(key.substr(2));
      if (!x.ok()) return x.status();
      stored = x->SerializeAsString();
    }
    if (stored != bytes) {
      return absl::InternalError(
          absl::StrCat("stored record ", key, " differs from its log"));
    }
  }
  if (auto s = CheckProgressAggregates(store); !s.ok()) return s;
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
