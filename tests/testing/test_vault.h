// Key files and vaults for tests (vault/vault.h). The index key is the same for
// every node, as in a real city; each node's data key is its own, derived
// from the node id so that a store reopened in a test finds the same key.
#ifndef UNIONSYNC_TESTS_TESTING_TEST_VAULT_H_
#define UNIONSYNC_TESTS_TESTING_TEST_VAULT_H_

#include <sys/stat.h>

#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/crypto.h"
#include "vault/vault.h"

namespace unionsync::testing {

// Key-file text of the test keys of `node`.
inline std::string TestKeyFileText(absl::string_view node) {
  return Vault::Format(
      1, Sha256("unionsync test index key"),
      {{1, Sha256(absl::StrCat("unionsync test data key/", node))}}, 1);
}

// The test vault of `node`. Aborts the test binary on failure (it cannot fail
// for the fixed keys above).
inline std::shared_ptr<const Vault> TestVault(absl::string_view node = "test") {
  auto vault = Vault::Parse(TestKeyFileText(node), "test keys");
  if (!vault.ok()) abort();
  return *vault;
}

// Writes the test key file of `node` at `path` with mode 0600; returns `path`.
inline std::string WriteTestKeyFile(const std::string& path,
                                    absl::string_view node) {
  {
    std::ofstream out(path, std::ios::trunc);
    out << TestKeyFileText(node);
  }
  chmod(path.c_str(), 0600);
  return path;
}

}  // namespace unionsync::testing

#endif  // UNIONSYNC_TESTS_TESTING_TEST_VAULT_H_
