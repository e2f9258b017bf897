// Helpers shared by the store's tests: a scratch directory and organisations.
#ifndef UNIONSYNC_TESTS_STORE_STORE_TESTING_H_
#define UNIONSYNC_TESTS_STORE_STORE_TESTING_H_

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "store/store.h"
#include "testing/test_vault.h"
#include "unionsync/v1/model.pb.h"

namespace unionsync::testing {

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/unionsync_store_test_XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string path(absl::string_view sub = "db") const {
    return absl::StrCat(path_, "/", sub);
  }

 private:
  std::string path_;
};

inline v1::Org MakeOrg(const std::string& id, const std::string& parent,
                       v1::OrgKind kind, int tier) {
  v1::Org o;
  o.set_id(id);
  o.set_parent_id(parent);
  o.set_name(absl::StrCat("工会", id));
  o.set_kind(kind);
  o.set_tier(tier);
  o.set_status(v1::ORG_ACTIVE);
  return o;
}

// Opens (or creates) the store of `node` at `path` with the test vault; a
// test failure and nullptr when it cannot.
inline std::unique_ptr<Store> OpenOrDie(const std::string& path,
                                        const std::string& node = "city") {
  StoreOptions o;
  o.vault = TestVault();
  o.path = path;
  o.node_id = node;
  auto s = Store::Open(o);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

// Every byte of the store's files but RocksDB's info log (never record data),
// for checks that no plaintext is left on disk.
inline std::string RawFiles(const std::string& path) {
  std::string all;
  for (const auto& f : std::filesystem::directory_iterator(path)) {
    const std::string name = f.path().filename().string();
    if (name == "LOG" || name.rfind("LOG.old", 0) == 0) continue;
    std::ifstream in(f.path(), std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    all += s.str();
  }
  return all;
}

}  // namespace unionsync::testing

#endif  // UNIONSYNC_TESTS_STORE_STORE_TESTING_H_
