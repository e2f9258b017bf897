// A district node's store for the store benchmarks (backup_bench,
// restart_bench): node "d1" with the test vault, its registration and one
// grassroots union "d1.g1", and synthetic members entered in synced commits.
#ifndef UNIONSYNC_BENCH_BENCH_STORE_H_
#define UNIONSYNC_BENCH_BENCH_STORE_H_

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "store/store.h"
#include "synth/synth.h"
#include "testing/test_vault.h"

namespace unionsync::bench {

inline StoreOptions DistrictStoreOptions(const std::string& path) {
  StoreOptions o;
  o.path = path;
  o.node_id = "d1";
  o.vault = testing::TestVault("d1");
  return o;
}

// Exits with a message when `s` is not OK.
inline void CheckOk(const absl::Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

// The district's registration and its grassroots union "d1.g1".
inline void EnterTree(Store& store) {
  WriteSet w;
  for (auto [id, parent, kind, tier] :
       {std::tuple{"d1", "430100", v1::DISTRICT_FEDERATION, 2},
        std::tuple{"d1.g1", "d1", v1::INDEPENDENT_GRASSROOTS, 3}}) {
    v1::Org o;
    o.set_id(id);
    o.set_parent_id(parent);
    o.set_name(id);
    o.set_kind(kind);
    o.set_tier(tier);
    o.set_status(v1::ORG_ACTIVE);
    o.set_host_node("d1");
    w.PutOrg(o);
  }
  CheckOk(store.Commit(w, "bench").status(), "tree");
}

// Members "m<from>" .. "m<to - 1>" of d1.g1, `batch` per commit.
inline void EnterMembers(Store& store, int64_t from, int64_t to, int batch) {
  SynthGenerator gen(from + 1);
  for (int64_t i = from; i < to;) {
    WriteSet w;
    for (int k = 0; k < batch && i < to; ++k, ++i) {
      v1::Member m = gen.Member("d1.g1");
      m.set_id(absl::StrCat("m", i));
      m.set_id_number(UniqueIdNumber(i));
      m.set_status(v1::MEMBER_ACTIVE);
      w.PutMember(std::move(m));
    }
    CheckOk(w.Prepare(store), "prepare");
    CheckOk(store.Commit(w, "bench").status(), "commit");
  }
}

}  // namespace unionsync::bench

#endif  // UNIONSYNC_BENCH_BENCH_STORE_H_
