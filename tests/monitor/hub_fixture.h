// A hub store with a set clock, fed the way replication feeds it: changes
// from the district nodes arrive with their own origins through
// Store::ApplyReplicated. For the monitor tests.
#ifndef UNIONSYNC_TESTS_MONITOR_HUB_FIXTURE_H_
#define UNIONSYNC_TESTS_MONITOR_HUB_FIXTURE_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "store/store.h"
#include "synth/synth.h"
#include "testing/status_matchers.h"
#include "testing/test_vault.h"

namespace unionsync::testing {

inline int64_t ChinaMs(absl::string_view day, int hour = 10) {
  absl::CivilDay d;
  absl::ParseCivilTime(day, &d);
  return absl::ToUnixMillis(absl::FromCivil(absl::CivilHour(d) + hour,
                                            absl::FixedTimeZone(8 * 3600)));
}

class HubFixture {
 public:
  static constexpr char kHub[] = "430100";

  explicit HubFixture(const std::string& dir) : dir_(dir) {
    std::filesystem::remove_all(dir_);
    StoreOptions o;
    o.path = dir_;
    o.node_id = kHub;
    o.vault = TestVault(kHub);
    o.clock = &clock_;
    o.sync = false;
    clock_.SetMs(ChinaMs("2019-09-01", 9));
    auto s = Store::Open(o);
    EXPECT_OK(s.status());
    store_ = *std::move(s);
    WriteSet w;
    v1::Org city = Org(kHub, "", v1::CITY_FEDERATION, 1, kHub, "");
    city.set_name("长沙市总工会");
    w.PutOrg(city);
    w.PutAccount(Account("admin", kHub, kHub, v1::CREDENTIAL_ACTIVE));
    EXPECT_OK(store_->Commit(w, "admin").status());
  }
  ~HubFixture() {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  Store& store() { return *store_; }

  // Closes the hub's store and opens it again with `vault` (resealing it
  // when asked), as an operator does after a key rotation.
  absl::Status Reopen(std::shared_ptr<const Vault> vault, bool reseal) {
    store_.reset();
    StoreOptions o;
    o.path = dir_;
    o.node_id = kHub;
    o.vault = std::move(vault);
    o.reseal = reseal;
    o.clock = &clock_;
    o.sync = false;
    auto s = Store::Open(o);
    if (!s.ok()) return s.status();
    store_ = *std::move(s);
    return absl::OkStatus();
  }
  FakeClock& clock() { return clock_; }

  v1::Org Org(const std::string& id, const std::string& parent,
              v1::OrgKind kind, int tier, const std::string& host,
              const std::string& region, const std::string& system = "") {
    v1::Org o;
    o.set_id(id);
    o.set_parent_id(parent);
    o.set_name(absl::StrCat("测试工会", id));
    o.set_kind(kind);
    o.set_tier(tier);
    o.set_region(region);
    o.set_system(system);
    o.set_status(v1::ORG_ACTIVE);
    o.set_host_node(host);
    o.set_created_at_ms(clock_.NowMs());
    return o;
  }
  v1::Account Account(const std::string& user, const std::string& org,
                      const std::string& author, v1::CredentialState state) {
    v1::Account a;
    a.set_username(user);
    a.set_org_id(org);
    a.set_role(v1::DATA_ADMIN);
    a.set_state(state);
    a.set_password_hash("scrypt$test");
    a.set_credential_epoch(state == v1::CREDENTIAL_INITIAL ? 1 : 2);
    a.set_credential_author_org(author);
    return a;
  }

  // The hub registers a district node (region code, initial account).
  void RegisterDistrict(const std::string& id, const std::string& region) {
    v1::Org d = Org(id, kHub, v1::DISTRICT_FEDERATION, 2, id, region);
    WriteSet w;
    w.PutOrg(d);
    w.PutAccount(Account(id + "admin", id, kHub, v1::CREDENTIAL_INITIAL));
    ASSERT_OK(store_->Commit(w, "admin").status());
  }

  // Changes written at `node`, arriving at the hub over its link.
  void FromNode(const std::string& node, std::vector<v1::Change> changes) {
    ReplicatedBatch b;
    b.source = ReplicatedBatch::Source::kChild;
    b.peer = node;
    b.peer_incarnation = "inc-" + node;
    for (v1::Change& c : changes) {
      c.set_origin(node);
      c.set_origin_incarnation("inc-" + node);
      c.set_origin_seq(++seq_[node]);
      c.set_hlc(HybridClock::Pack(clock_.NowMs(), logical_++ & 0xffff));
      c.set_author(node + "admin");
      b.last_pos = ++pos_[node];
      b.changes.push_back(std::move(c));
    }
    auto r = store_->ApplyReplicated(std::move(b));
    ASSERT_OK(r.status());
    ASSERT_EQ(r->rejected, 0)
        << (r->rejections.empty() ? "" : r->rejections[0]);
  }

  static v1::Change PutOrg(v1::Org o) {
    v1::Change c;
    c.set_kind(v1::PUT_ORG);
    *c.mutable_org() = std::move(o);
    return c;
  }
  static v1::Change PutAccount(v1::Account a) {
    v1::Change c;
    c.set_kind(v1::PUT_ACCOUNT);
    *c.mutable_account() = std::move(a);
    return c;
  }
  static v1::Change PutMember(v1::Member m) {
    v1::Change c;
    c.set_kind(v1::PUT_MEMBER);
    *c.mutable_member() = std::move(m);
    return c;
  }

  // A valid member with a fresh ID number (or the given one).
  v1::Member NewMember(const std::string& org,
                       const std::string& id_number = "") {
    v1::Member m = gen_.Member(org);
    m.set_id(absl::StrCat(org, "-m", ++members_));
    m.set_id_number(id_number.empty() ? UniqueIdNumber(members_) : id_number);
    m.set_gender((m.id_number()[16] - '0') % 2 == 1 ? v1::MALE : v1::FEMALE);
    m.set_status(v1::MEMBER_ACTIVE);
    return m;
  }

 private:
  std::string dir_;
  FakeClock clock_{0};
  std::unique_ptr<Store> store_;
  std::map<std::string, uint64_t> seq_;
  std::map<std::string, uint64_t> pos_;
  uint64_t logical_ = 0;
  uint64_t members_ = 0;
  SynthGenerator gen_{42};
};

}  // namespace unionsync::testing

#endif  // UNIONSYNC_TESTS_MONITOR_HUB_FIXTURE_H_
