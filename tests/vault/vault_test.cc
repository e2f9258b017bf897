#include "vault/vault.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "testing/shell.h"
#include "testing/status_matchers.h"
#include "testing/test_vault.h"
#include "vault/records.h"

namespace unionsync {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::unionsync::testing::StatusIs;

std::string Key(char c) { return std::string(Vault::kKeyBytes, c); }

std::shared_ptr<const Vault> MakeVault(
    const std::map<uint32_t, std::string>& data, uint32_t active,
    char index = 'i') {
  auto v = Vault::Parse(Vault::Format(1, Key(index), data, active), "test");
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? *v : nullptr;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/unionsync_vault_test_XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string path(absl::string_view sub) const {
    return absl::StrCat(path_, "/", sub);
  }

 private:
  std::string path_;
};

TEST(VaultTest, SealOpenRoundTripAndFreshNonces) {
  auto v = MakeVault({{1, Key('a')}}, 1);
  ASSERT_OK_AND_ASSIGN(std::string a, v->Seal("430102199001011234", "m/1"));
  ASSERT_OK_AND_ASSIGN(std::string b, v->Seal("430102199001011234", "m/1"));
  EXPECT_NE(a, b);  // A fresh nonce each time.
  EXPECT_EQ(a.size(), Vault::kOverheadBytes + 18);
  EXPECT_THAT(a, Not(HasSubstr("430102199001011234")));
  uint32_t key = 0;
  ASSERT_OK_AND_ASSIGN(std::string plain, v->Open(a, "m/1", &key));
  EXPECT_EQ(plain, "430102199001011234");
  EXPECT_EQ(key, 1u);
  EXPECT_EQ(Vault::KeyOf(a), 1u);
}

TEST(VaultTest, NoncesNeverRepeatAcrossSealsAndThreads) {
  auto v = MakeVault({{1, Key('a')}}, 1);
  std::set<std::string> nonces;
  auto seal_many = [&](std::vector<std::string>* out) {
    for (int i = 0; i < 20000; ++i) {
      auto s = v->Seal("x", "aad");
      ASSERT_TRUE(s.ok());
      out->push_back(s->substr(5, Vault::kNonceBytes));
    }
  };
  std::vector<std::string> a, b;
  std::thread other(seal_many, &b);
  seal_many(&a);
  other.join();
  for (const auto* list : {&a, &b}) nonces.insert(list->begin(), list->end());
  EXPECT_EQ(nonces.size(), a.size() + b.size());
}

TEST(VaultTest, TamperWrongRecordAndWrongKeyDoNotOpen) {
  auto v = MakeVault({{1, Key('a')}}, 1);
  ASSERT_OK_AND_ASSIGN(std::string s, v->Seal("13800000000", "m/1"));
  // Bound to the record it was sealed for.
  EXPECT_THAT(v->Open(s, "m/2"), StatusIs(absl::StatusCode::kDataLoss));
  // Any flipped bit, in the header, nonce, body or tag.
  for (size_t i = 0; i < s.size(); ++i) {
    std::string t = s;
    t[i] ^= 0x01;
    auto r = v->Open(t, "m/1");
    EXPECT_FALSE(r.ok()) << "byte " << i;
  }
  EXPECT_THAT(v->Open(s.substr(0, 10), "m/1"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("malformed")));
  // Another key under the same number: authentication fails.
  auto other = MakeVault({{1, Key('b')}}, 1);
  EXPECT_THAT(other->Open(s, "m/1"),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("does not authenticate")));
  // A key file without that key: says which key is missing.
  auto later = MakeVault({{2, Key('b')}}, 2);
  EXPECT_THAT(
      later->Open(s, "m/1"),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("data key 1")));
}

TEST(VaultTest, RotationOpensOldValuesAndSealsUnderTheNewKey) {
  auto v1 = MakeVault({{1, Key('a')}}, 1);
  auto v2 = MakeVault({{1, Key('a')}, {2, Key('b')}}, 2);
  ASSERT_OK_AND_ASSIGN(std::string old_value, v1->Seal("x", "aad"));
  ASSERT_OK_AND_ASSIGN(std::string new_value, v2->Seal("y", "aad"));
  EXPECT_EQ(Vault::KeyOf(new_value), 2u);
  ASSERT_OK_AND_ASSIGN(std::string opened, v2->Open(old_value, "aad"));
  EXPECT_EQ(opened, "x");
  EXPECT_THAT(v1->Open(new_value, "aad"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(VaultTest, IndexTokensAreKeyedAndCityWide) {
  // Two nodes: different data keys, the same index key.
  auto a = MakeVault({{1, Key('a')}}, 1, 'i');
  auto b = MakeVault({{1, Key('b')}}, 1, 'i');
  auto other_city = MakeVault({{1, Key('a')}}, 1, 'j');
  EXPECT_EQ(IdNumberToken(*a, "430102199001011234"),
            IdNumberToken(*b, "430102199001011234"));
  EXPECT_NE(IdNumberToken(*a, "430102199001011234"),
            IdNumberToken(*a, "430102199001011242"));
  EXPECT_NE(IdNumberToken(*a, "430102199001011234"),
            IdNumberToken(*other_city, "430102199001011234"));
  // Not the unkeyed hash anyone could compute by trying every number.
  EXPECT_NE(IdNumberToken(*a, "430102199001011234"),
            HexEncode(Sha256("430102199001011234")));
  // It is HMAC-SHA256 (RFC 2104) of the domain, a zero byte and the value.
  EXPECT_EQ(a->IndexToken("id_number", "430102199001011234"),
            HmacSha256(Key('i'), std::string("id_number\0"
                                             "430102199001011234",
                                             28)));
  EXPECT_EQ(a->IndexToken("", ""), HmacSha256(Key('i'), std::string(1, '\0')));
  EXPECT_EQ(a->IndexKeyCheck(), b->IndexKeyCheck());
  EXPECT_NE(a->IndexKeyCheck(), other_city->IndexKeyCheck());
}

TEST(VaultTest, ParseRejectsMalformedKeyFilesNamingTheLine) {
  const std::string good = std::string(64, 'a');
  struct Case {
    std::string text;
    std::string error;
  } cases[] = {
      {"", "no index key"},
      {absl::StrCat("index 1 ", good, "\nactive 1\n"), "no data key"},
      {absl::StrCat("index 1 ", good, "\ndata 1 ", good, "\n"), "no 'active"},
      {absl::StrCat("index 1 ", good, "\ndata 1 ", good, "\nactive 2\n"),
       "active data key 2 is not in the file"},
      {absl::StrCat("index 1 ", good, "\ndata 1 abc\nactive 1\n"),
       "f:2: a key must be 64 hex digits"},
      {absl::StrCat("index 1 ", std::string(64, 'g'), "\n"),
       "f:1: the key is not hexadecimal"},
      {absl::StrCat("index 0 ", good, "\n"), "f:1: key number '0'"},
      {absl::StrCat("index 1 ", good, "\nindex 2 ", good, "\n"),
       "f:2: a second index key"},
      {absl::StrCat("index 1 ", good, "\ndata 1 ", good, "\ndata 1 ", good,
                    "\n"),
       "f:3: data key 1 appears twice"},
      {absl::StrCat("index 1 ", good, "\nsecret 1 ", good, "\n"),
       "f:2: unknown item 'secret'"},
      {absl::StrCat("index 1 ", good, "\ndata 1 ", good, "\nactive 1 2\n"),
       "f:3: want 'active <number>'"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(
        Vault::Parse(c.text, "f"),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.error)))
        << c.text;
  }
  // Comments and blank lines are fine.
  EXPECT_OK(
      Vault::Parse(absl::StrCat("# keys\n\nindex 1 ", good,
                                "  # city-wide\ndata 7 ", good, "\nactive 7\n"),
                   "f")
          .status());
}

TEST(VaultTest, LoadFileRefusesMissingAndReadableByOthers) {
  TempDir dir;
  EXPECT_THAT(Vault::LoadFile(dir.path("none.keys")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("make-node-keys.sh")));
  const std::string path = testing::WriteTestKeyFile(dir.path("n.keys"), "n");
  ASSERT_OK_AND_ASSIGN(auto v, Vault::LoadFile(path));
  EXPECT_EQ(v->active_key(), 1u);
  chmod(path.c_str(), 0644);
  EXPECT_THAT(
      Vault::LoadFile(path),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("mode 0644")));
  EXPECT_THAT(Vault::LoadFile(dir.path("")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not a regular file")));
}

TEST(RecordsTest, MemberAndOrgSealAndOpen) {
  auto v = testing::TestVault("n");
  v1::Member m;
  m.set_id("m1");
  m.set_name("张三");
  m.set_id_number("430102199001011234");
  m.set_phone("13800000000");
  v1::Member sealed = m;
  ASSERT_OK(SealMember(*v, &sealed));
  EXPECT_TRUE(sealed.id_number().empty());
  EXPECT_TRUE(sealed.phone().empty());
  EXPECT_FALSE(sealed.sealed().empty());
  EXPECT_EQ(sealed.name(), "张三");
  EXPECT_THAT(sealed.SerializeAsString(), Not(HasSubstr("430102199001011234")));
  EXPECT_TRUE(NeedsReseal(*v, m));
  EXPECT_FALSE(NeedsReseal(*v, sealed));
  // Sealing twice is refused; the sealed value is bound to the member id.
  v1::Member twice = sealed;
  EXPECT_THAT(SealMember(*v, &twice),
              StatusIs(absl::StatusCode::kInvalidArgument));
  v1::Member moved = sealed;
  moved.set_id("m2");
  EXPECT_THAT(OpenMember(*v, &moved),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("member 'm2'")));
  ASSERT_OK(OpenMember(*v, &sealed));
  EXPECT_EQ(sealed.SerializeAsString(), m.SerializeAsString());

  v1::Org o;
  o.set_id("g1");
  o.mutable_chair()->set_name("李四");
  o.mutable_chair()->set_phone("13900000000");
  o.mutable_contact()->set_phone("13700000000");
  v1::Org so = o;
  ASSERT_OK(SealOrg(*v, &so));
  EXPECT_THAT(so.SerializeAsString(), Not(HasSubstr("13900000000")));
  EXPECT_THAT(so.SerializeAsString(), Not(HasSubstr("13700000000")));
  EXPECT_FALSE(so.has_data_admin());
  ASSERT_OK(OpenOrg(*v, &so));
  EXPECT_EQ(so.SerializeAsString(), o.SerializeAsString());

  // Nothing personal: nothing sealed.
  v1::Member bare;
  bare.set_id("m3");
  ASSERT_OK(SealMember(*v, &bare));
  EXPECT_TRUE(bare.sealed().empty());
}

TEST(RecordsTest, ConflictSidesAndChangesAreSealed) {
  auto v = testing::TestVault("hub");
  v1::Change c;
  c.set_kind(v1::PUT_CONFLICT);
  for (const char* id : {"a", "b"}) {
    v1::ConflictSide* side = c.mutable_conflict()->add_sides();
    side->mutable_member()->set_id(id);
    side->mutable_member()->set_id_number("430102199001011234");
  }
  v1::Change sealed = c;
  ASSERT_OK(SealChange(*v, &sealed));
  EXPECT_THAT(sealed.SerializeAsString(), Not(HasSubstr("430102199001011234")));
  ASSERT_OK(OpenChange(*v, &sealed));
  EXPECT_EQ(sealed.SerializeAsString(), c.SerializeAsString());
}

// certs/make-node-keys.sh: one city-wide index key, a data key per node,
// files the node accepts, and an existing file left alone.
TEST(MakeNodeKeysTest, CreatesLoadableKeyFilesSharingTheIndexKey) {
  TempDir dir;
  const std::string script =
      std::string(UNIONSYNC_CERTS_DIR) + "/make-node-keys.sh";
  for (const char* org : {"430100", "430102"}) {
    const std::string cmd =
        absl::StrCat(testing::ShellQuote(script), " ",
                     testing::ShellQuote(dir.path("k")), " ", org);
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  ASSERT_OK_AND_ASSIGN(auto a, Vault::LoadFile(dir.path("k/430100.keys")));
  ASSERT_OK_AND_ASSIGN(auto b, Vault::LoadFile(dir.path("k/430102.keys")));
  EXPECT_EQ(a->IndexKeyCheck(), b->IndexKeyCheck());
  ASSERT_OK_AND_ASSIGN(std::string sealed, a->Seal("x", "y"));
  EXPECT_FALSE(b->Open(sealed, "y").ok());  // Node-local data keys.
  // Idempotent: a second run keeps the node's keys.
  const std::string again =
      absl::StrCat(testing::ShellQuote(script), " ",
                   testing::ShellQuote(dir.path("k")), " 430100");
  ASSERT_EQ(std::system(again.c_str()), 0);
  ASSERT_OK_AND_ASSIGN(auto a2, Vault::LoadFile(dir.path("k/430100.keys")));
  ASSERT_OK_AND_ASSIGN(std::string opened, a2->Open(sealed, "y"));
  EXPECT_EQ(opened, "x");
}

}  // namespace
}  // namespace unionsync
