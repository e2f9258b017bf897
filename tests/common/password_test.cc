#include "common/password.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/crypto.h"
#include "testing/status_matchers.h"

namespace unionsync {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::unionsync::testing::StatusIs;

ScryptParams Params(uint64_t n, uint64_t r, uint64_t p) {
  ScryptParams params;
  params.n = n;
  params.r = r;
  params.p = p;
  return params;
}

// ---- Known answers (RFC 7914 section 12) ----

TEST(ScryptRawTest, Rfc7914Vector2) {
  ASSERT_OK_AND_ASSIGN(std::string dk,
                       ScryptRaw("password", "NaCl", Params(1024, 8, 16), 64));
  EXPECT_EQ(HexEncode(dk),
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
            "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
}

TEST(ScryptRawTest, Rfc7914Vector1EmptyPasswordAndSalt) {
  ASSERT_OK_AND_ASSIGN(std::string dk, ScryptRaw("", "", Params(16, 1, 1), 64));
  EXPECT_EQ(HexEncode(dk),
            "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
            "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906");
}

TEST(ScryptRawTest, RejectsBadParameters) {
  for (const ScryptParams& bad :
       {Params(0, 8, 1), Params(1, 8, 1), Params(3, 8, 1), Params(1000, 8, 1),
        Params(uint64_t{1} << 21, 8, 1), Params(uint64_t{1} << 30, 8, 1),
        Params(1024, 0, 1), Params(1024, 8, 0), Params(1024, 33, 1),
        Params(1024, 8, 65), Params(1024, 32, 16),  // r * p = 512
        Params(uint64_t{1} << 16, 1, 1),            // N >= 2^(16 r)
        Params(uint64_t{1} << 20, 8, 1)}) {         // 1 GiB of memory
    EXPECT_THAT(ScryptRaw("pw", "salt", bad, 32),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << bad.n << " " << bad.r << " " << bad.p;
  }
  EXPECT_THAT(ScryptRaw("pw", "salt", ScryptParams::ForTests(), 0),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ScryptRaw("pw", "salt", ScryptParams::ForTests(), 1025),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ScryptParamsTest, DefaultsAndTestParamsAreValid) {
  const ScryptParams defaults;
  EXPECT_EQ(defaults.n, uint64_t{1} << 15);
  EXPECT_EQ(defaults.r, 8u);
  EXPECT_EQ(defaults.p, 1u);
  EXPECT_OK(ValidateScryptParams(defaults));
  EXPECT_EQ(ScryptParams::ForTests().n, uint64_t{1} << 10);
  EXPECT_OK(ValidateScryptParams(ScryptParams::ForTests()));
  EXPECT_OK(ValidateScryptParams(Params(uint64_t{1} << 20, 2, 1)));
  EXPECT_THAT(ValidateScryptParams(Params(3, 8, 1)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("N = 3 is not a power of two")));
}

// ---- HashPassword / VerifyPassword ----

TEST(HashPasswordTest, FormatIsSelfDescribing) {
  ASSERT_OK_AND_ASSIGN(
      std::string encoded,
      HashPassword("Correct-Horse7", ScryptParams::ForTests()));
  EXPECT_THAT(encoded, StartsWith("scrypt$1024$8$1$"));
  const std::vector<std::string> fields = absl::StrSplit(encoded, '$');
  ASSERT_EQ(fields.size(), 6u);
  ASSERT_OK_AND_ASSIGN(std::string salt, Base64Decode(fields[4]));
  ASSERT_OK_AND_ASSIGN(std::string key, Base64Decode(fields[5]));
  EXPECT_EQ(salt.size(), 16u);
  EXPECT_EQ(key.size(), 32u);
  // The stored key is plain scrypt of the password under the stored salt.
  ASSERT_OK_AND_ASSIGN(
      std::string expected,
      ScryptRaw("Correct-Horse7", salt, ScryptParams::ForTests(), 32));
  EXPECT_EQ(key, expected);
}

TEST(HashPasswordTest, RoundTripAndWrongPassword) {
  for (absl::string_view pw : {"Correct-Horse7", "",
                               "\xe5\xb7\xa5\xe4\xbc\x9a"
                               "Union2020",
                               "with$dollar and spaces"}) {
    ASSERT_OK_AND_ASSIGN(std::string encoded,
                         HashPassword(pw, ScryptParams::ForTests()));
    ASSERT_OK_AND_ASSIGN(bool ok, VerifyPassword(pw, encoded));
    EXPECT_TRUE(ok) << pw;
    ASSERT_OK_AND_ASSIGN(bool wrong,
                         VerifyPassword(absl::StrCat(pw, "x"), encoded));
    EXPECT_FALSE(wrong) << pw;
  }
  ASSERT_OK_AND_ASSIGN(
      std::string encoded,
      HashPassword("Correct-Horse7", ScryptParams::ForTests()));
  ASSERT_OK_AND_ASSIGN(bool case_changed,
                       VerifyPassword("correct-Horse7", encoded));
  EXPECT_FALSE(case_changed);
}

TEST(HashPasswordTest, EmbeddedNulIsSignificant) {
  const std::string with_nul("ab\0cd", 5);
  ASSERT_OK_AND_ASSIGN(std::string encoded,
                       HashPassword(with_nul, ScryptParams::ForTests()));
  ASSERT_OK_AND_ASSIGN(bool truncated, VerifyPassword("ab", encoded));
  EXPECT_FALSE(truncated);
  ASSERT_OK_AND_ASSIGN(bool full, VerifyPassword(with_nul, encoded));
  EXPECT_TRUE(full);
}

TEST(HashPasswordTest, SamePasswordHashesDifferently) {
  ASSERT_OK_AND_ASSIGN(
      std::string a, HashPassword("Correct-Horse7", ScryptParams::ForTests()));
  ASSERT_OK_AND_ASSIGN(
      std::string b, HashPassword("Correct-Horse7", ScryptParams::ForTests()));
  EXPECT_NE(a, b);
  ASSERT_OK_AND_ASSIGN(bool ok_a, VerifyPassword("Correct-Horse7", a));
  ASSERT_OK_AND_ASSIGN(bool ok_b, VerifyPassword("Correct-Horse7", b));
  EXPECT_TRUE(ok_a);
  EXPECT_TRUE(ok_b);
}

TEST(HashPasswordTest, VerifyUsesParametersStoredInTheHash) {
  ASSERT_OK_AND_ASSIGN(std::string encoded,
                       HashPassword("Old-Params-1", Params(2048, 4, 2)));
  EXPECT_THAT(encoded, StartsWith("scrypt$2048$4$2$"));
  ASSERT_OK_AND_ASSIGN(bool ok, VerifyPassword("Old-Params-1", encoded));
  EXPECT_TRUE(ok);
}

TEST(HashPasswordTest, DefaultParamsRoundTrip) {
  const auto start = std::chrono::steady_clock::now();
  ASSERT_OK_AND_ASSIGN(std::string encoded, HashPassword("Correct-Horse7"));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_THAT(encoded, StartsWith("scrypt$32768$8$1$"));
  std::printf("HashPassword with default params took %.1f ms\n",
              std::chrono::duration<double, std::milli>(elapsed).count());
  ASSERT_OK_AND_ASSIGN(bool ok, VerifyPassword("Correct-Horse7", encoded));
  EXPECT_TRUE(ok);
  EXPECT_FALSE(NeedsRehash(encoded, ScryptParams()));
}

TEST(HashPasswordTest, RejectsBadParams) {
  EXPECT_THAT(HashPassword("pw", Params(3, 8, 1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(HashPassword("pw", Params(1024, 0, 1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// ---- Malformed hashes ----

class MalformedHashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(
        valid_, HashPassword("Correct-Horse7", ScryptParams::ForTests()));
    fields_ = absl::StrSplit(valid_, '$');
    ASSERT_EQ(fields_.size(), 6u);
  }

  // `valid_` with field `index` replaced by `value`.
  std::string With(size_t index, absl::string_view value) const {
    std::vector<std::string> fields = fields_;
    fields[index] = std::string(value);
    return absl::StrJoin(fields, "$");
  }

  std::string valid_;
  std::vector<std::string> fields_;
};

TEST_F(MalformedHashTest, EveryMalformedFormIsInvalidArgument) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty", ""},
      {"scheme only", "scrypt"},
      {"missing key", absl::StrCat("scrypt$1024$8$1$", fields_[4])},
      {"missing salt and key", "scrypt$1024$8$1"},
      {"extra field", absl::StrCat(valid_, "$x")},
      {"trailing separator", absl::StrCat(valid_, "$")},
      {"wrong scheme", With(0, "bcrypt")},
      {"uppercase scheme", With(0, "SCRYPT")},
      {"N = 3", With(1, "3")},
      {"N = 0", With(1, "0")},
      {"N = 1", With(1, "1")},
      {"N = 2^30", With(1, "1073741824")},
      {"N = 2^21", With(1, "2097152")},
      {"N empty", With(1, "")},
      {"N not a number", With(1, "abc")},
      {"N with sign", With(1, "+1024")},
      {"N negative", With(1, "-1024")},
      {"N leading zero", With(1, "01024")},
      {"N with space", With(1, " 1024")},
      {"N overflows uint64", With(1, "99999999999999999999999")},
      {"N = 2^64 + 1024", With(1, "18446744073709552640")},
      {"r = 0", With(2, "0")},
      {"r too large", With(2, "1000")},
      {"p = 0", With(3, "0")},
      {"p too large", With(3, "1000000")},
      {"r * p too large",
       absl::StrJoin({fields_[0], fields_[1], std::string("32"),
                      std::string("16"), fields_[4], fields_[5]},
                     "$")},
      {"salt length 0", With(4, "")},
      {"salt 15 bytes", With(4, Base64Encode(std::string(15, 's')))},
      {"salt 17 bytes", With(4, Base64Encode(std::string(17, 's')))},
      {"salt bad base64", With(4, "!!!!!!!!!!!!!!!!!!!!!!!!")},
      {"salt unpadded", With(4, fields_[4].substr(0, 22))},
      {"key length 0", With(5, "")},
      {"key 31 bytes", With(5, Base64Encode(std::string(31, 'k')))},
      {"key 64 bytes", With(5, Base64Encode(std::string(64, 'k')))},
      {"key bad base64", With(5, "%%%%")},
      {"key url-safe alphabet",
       With(5, "-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_8=")},
  };
  for (const auto& [name, encoded] : cases) {
    EXPECT_THAT(VerifyPassword("Correct-Horse7", encoded),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << name << ": " << encoded;
    EXPECT_TRUE(NeedsRehash(encoded, ScryptParams::ForTests())) << name;
  }
}

TEST_F(MalformedHashTest, MessagesAreSpecific) {
  EXPECT_THAT(VerifyPassword("x", With(1, "3")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("N = 3 is not a power of two")));
  EXPECT_THAT(VerifyPassword("x", With(1, "1073741824")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("exceeds the limit")));
  EXPECT_THAT(
      VerifyPassword("x",
                     absl::StrJoin({fields_[0], fields_[1], std::string("32"),
                                    std::string("16"), fields_[4], fields_[5]},
                                   "$")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("r * p = 512 exceeds the limit 256")));
  EXPECT_THAT(VerifyPassword("x", With(4, "")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("salt is 0 bytes, expected 16")));
  EXPECT_THAT(VerifyPassword("x", "scrypt$1024"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("expected 6 '$'-separated fields, got 2")));
}

TEST_F(MalformedHashTest, EveryTruncationIsRejected) {
  for (size_t len = 0; len < valid_.size(); ++len) {
    EXPECT_THAT(VerifyPassword("Correct-Horse7", valid_.substr(0, len)),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << valid_.substr(0, len);
  }
  ASSERT_OK_AND_ASSIGN(bool ok, VerifyPassword("Correct-Horse7", valid_));
  EXPECT_TRUE(ok);
}

TEST_F(MalformedHashTest, TamperedKeyVerifiesFalse) {
  ASSERT_OK_AND_ASSIGN(std::string key, Base64Decode(fields_[5]));
  key[0] ^= 0x01;
  ASSERT_OK_AND_ASSIGN(
      bool ok, VerifyPassword("Correct-Horse7", With(5, Base64Encode(key))));
  EXPECT_FALSE(ok);
}

// ---- NeedsRehash ----

TEST(NeedsRehashTest, ComparesParameters) {
  ASSERT_OK_AND_ASSIGN(
      std::string encoded,
      HashPassword("Correct-Horse7", ScryptParams::ForTests()));
  EXPECT_FALSE(NeedsRehash(encoded, ScryptParams::ForTests()));
  EXPECT_TRUE(NeedsRehash(encoded, ScryptParams()));
  EXPECT_TRUE(NeedsRehash(encoded, Params(1024, 4, 1)));
  EXPECT_TRUE(NeedsRehash(encoded, Params(1024, 8, 2)));
  EXPECT_TRUE(NeedsRehash("", ScryptParams::ForTests()));
  EXPECT_TRUE(NeedsRehash("garbage", ScryptParams()));
}

}  // namespace
}  // namespace unionsync
