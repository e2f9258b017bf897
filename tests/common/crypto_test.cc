#include "common/crypto.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "testing/status_matchers.h"

namespace unionsync {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::unionsync::testing::StatusIs;

// ---- RandomBytes / RandomToken ----

TEST(RandomBytesTest, ReturnsRequestedLength) {
  ASSERT_OK_AND_ASSIGN(std::string empty, RandomBytes(0));
  EXPECT_EQ(empty, "");
  ASSERT_OK_AND_ASSIGN(std::string b, RandomBytes(1000));
  EXPECT_EQ(b.size(), 1000u);
}

TEST(RandomBytesTest, SuccessiveCallsDiffer) {
  ASSERT_OK_AND_ASSIGN(std::string a, RandomBytes(32));
  ASSERT_OK_AND_ASSIGN(std::string b, RandomBytes(32));
  EXPECT_NE(a, b);
}

TEST(RandomBytesTest, RejectsMoreThanIntMax) {
  if (sizeof(size_t) <= sizeof(int)) GTEST_SKIP() << "32-bit size_t";
  EXPECT_THAT(RandomBytes(static_cast<size_t>(INT_MAX) + 1),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(RandomTokenTest, Is64LowercaseHexAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    ASSERT_OK_AND_ASSIGN(std::string token, RandomToken());
    EXPECT_THAT(token, MatchesRegex("[0-9a-f]{64}"));
    ASSERT_OK_AND_ASSIGN(std::string raw, HexDecode(token));
    EXPECT_EQ(raw.size(), 32u);
    seen.insert(token);
  }
  EXPECT_EQ(seen.size(), 100u);
}

// ---- Hex ----

TEST(HexTest, EncodesLowercase) {
  EXPECT_EQ(HexEncode(""), "");
  EXPECT_EQ(HexEncode(std::string("\x00\x01\xab\xff", 4)), "0001abff");
}

TEST(HexTest, DecodesBothCases) {
  ASSERT_OK_AND_ASSIGN(std::string lower, HexDecode("0001abff"));
  ASSERT_OK_AND_ASSIGN(std::string upper, HexDecode("0001ABFF"));
  EXPECT_EQ(lower, std::string("\x00\x01\xab\xff", 4));
  EXPECT_EQ(upper, lower);
  ASSERT_OK_AND_ASSIGN(std::string empty, HexDecode(""));
  EXPECT_EQ(empty, "");
}

TEST(HexTest, RoundTripsAllByteValues) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  ASSERT_OK_AND_ASSIGN(std::string back, HexDecode(HexEncode(all)));
  EXPECT_EQ(back, all);
}

TEST(HexTest, RejectsOddLengthAndBadCharacters) {
  EXPECT_THAT(HexDecode("abc"), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("odd length 3")));
  EXPECT_THAT(HexDecode("00zz"), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("'z' at offset 2")));
  EXPECT_THAT(HexDecode("0g"), StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr("offset 1")));
  EXPECT_THAT(HexDecode(" 0"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(HexDecode("0x"), StatusIs(absl::StatusCode::kInvalidArgument));
}

// ---- Base64 (RFC 4648 section 10 vectors) ----

TEST(Base64Test, Rfc4648Vectors) {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    ASSERT_OK_AND_ASSIGN(std::string decoded, Base64Decode(encoded));
    EXPECT_EQ(decoded, plain);
  }
}

TEST(Base64Test, UsesStandardAlphabet) {
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
  ASSERT_OK_AND_ASSIGN(std::string decoded, Base64Decode("+/8="));
  EXPECT_EQ(decoded, "\xfb\xff");
}

TEST(Base64Test, RoundTripsAllByteValues) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t len = 0; len <= all.size(); len += 7) {
    ASSERT_OK_AND_ASSIGN(std::string back,
                         Base64Decode(Base64Encode(all.substr(0, len))));
    EXPECT_EQ(back, all.substr(0, len));
  }
}

TEST(Base64Test, RejectsNonCanonicalOrInvalidInput) {
  for (absl::string_view bad : {
           "Zg",        // missing padding
           "Zg=",       // short padding
           "Zg===",     // length not a multiple of 4
           "Z===",      // too much padding
           "====",      // padding only
           "Zh==",      // nonzero padding bits
           "Zm8",       // missing padding
           "Zm=v",      // padding in the middle
           "Zm9v\n",    // whitespace
           "Zm9 v",     // whitespace
           "-_8=",      // URL-safe alphabet
           "Zm9v!A==",  // invalid character
       }) {
    EXPECT_THAT(Base64Decode(bad), StatusIs(absl::StatusCode::kInvalidArgument))
        << "input: \"" << bad << "\"";
  }
}

// ---- SHA-256 (FIPS 180-2 appendix B) ----

TEST(Sha256Test, Fips180Vectors) {
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha256(
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(HexEncode(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256Test, ReturnsRawBytes) { EXPECT_EQ(Sha256("abc").size(), 32u); }

// ---- HMAC-SHA256 (RFC 4231) ----

TEST(HmacSha256Test, Rfc4231TestCase1) {
  EXPECT_EQ(HexEncode(HmacSha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(HmacSha256Test, Rfc4231TestCase2) {
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacSha256Test, Rfc4231TestCase6KeyLongerThanBlock) {
  EXPECT_EQ(
      HexEncode(HmacSha256(std::string(131, '\xaa'),
                           "Test Using Larger Than Block-Size Key - Hash Key "
                           "First")),
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacSha256Test, EmptyKeyAndDataAreDeterministic) {
  const std::string a = HmacSha256("", "");
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a, HmacSha256("", ""));
  EXPECT_NE(a, HmacSha256("k", ""));
  EXPECT_NE(a, HmacSha256("", "d"));
}

// ---- ConstantTimeEquals ----

TEST(ConstantTimeEqualsTest, Cases) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_TRUE(
      ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));  // last byte differs
  EXPECT_FALSE(ConstantTimeEquals("xbc", "abc"));  // first byte differs
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));   // prefix, length mismatch
  EXPECT_FALSE(ConstantTimeEquals("ab", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), "a"));
  const std::string mac = HmacSha256("k", "m");
  std::string flipped = mac;
  flipped[31] ^= 0x01;
  EXPECT_TRUE(ConstantTimeEquals(mac, HmacSha256("k", "m")));
  EXPECT_FALSE(ConstantTimeEquals(mac, flipped));
}

// ---- XorInto ----

TEST(XorIntoTest, EmptyAccumulatorTakesFirstValue) {
  std::string acc;
  XorInto(&acc, "\x01\x02\x03");
  EXPECT_EQ(acc, "\x01\x02\x03");
}

TEST(XorIntoTest, SelfInverse) {
  std::string acc;
  const std::string h = Sha256("member-1");
  XorInto(&acc, h);
  XorInto(&acc, h);
  EXPECT_EQ(acc, std::string(32, '\0'));
}

TEST(XorIntoTest, OrderIndependent) {
  std::vector<std::string> hashes = {Sha256("a"), Sha256("b"), Sha256("c"),
                                     Sha256("d")};
  std::sort(hashes.begin(), hashes.end());
  std::string expected;
  for (const std::string& h : hashes) XorInto(&expected, h);
  EXPECT_EQ(expected.size(), 32u);
  int permutations = 0;
  do {
    std::string acc;
    for (const std::string& h : hashes) XorInto(&acc, h);
    EXPECT_EQ(acc, expected);
    ++permutations;
  } while (std::next_permutation(hashes.begin(), hashes.end()));
  EXPECT_EQ(permutations, 24);
}

// ---- GenerateInitialPassword ----

TEST(GenerateInitialPasswordTest, ThousandSamplesAreValidAndDistinct) {
  const std::string alphabet =
      absl::StrCat(kInitialPasswordLower, kInitialPasswordUpper,
                   kInitialPasswordDigits, kInitialPasswordSymbols);
  EXPECT_EQ(alphabet.size(), 62u);
  for (char ambiguous : std::string("0O1lI")) {
    EXPECT_EQ(alphabet.find(ambiguous), std::string::npos) << ambiguous;
  }
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_OK_AND_ASSIGN(std::string pw, GenerateInitialPassword());
    ASSERT_EQ(pw.size(), kInitialPasswordLength) << pw;
    EXPECT_EQ(pw.find_first_not_of(alphabet), std::string::npos) << pw;
    EXPECT_NE(pw.find_first_of(std::string(kInitialPasswordLower)),
              std::string::npos)
        << pw;
    EXPECT_NE(pw.find_first_of(std::string(kInitialPasswordUpper)),
              std::string::npos)
        << pw;
    EXPECT_NE(pw.find_first_of(std::string(kInitialPasswordDigits)),
              std::string::npos)
        << pw;
    EXPECT_NE(pw.find_first_of(std::string(kInitialPasswordSymbols)),
              std::string::npos)
        << pw;
    EXPECT_OK(CheckPasswordPolicy(pw)) << pw;
    seen.insert(pw);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(GenerateInitialPasswordTest, UsesWholeAlphabet) {
  // 1,000 passwords give 14,000 draws over 62 symbols; every symbol should
  // appear (a missing one would indicate a sampling bug).
  std::set<char> used;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_OK_AND_ASSIGN(std::string pw, GenerateInitialPassword());
    used.insert(pw.begin(), pw.end());
  }
  EXPECT_EQ(used.size(), 62u);
}

// ---- CheckPasswordPolicy ----

TEST(CheckPasswordPolicyTest, AcceptsGoodPasswords) {
  EXPECT_OK(CheckPasswordPolicy("Correct-Horse7"));
  EXPECT_OK(CheckPasswordPolicy("abcdefgH1j"));         // exactly 10 bytes
  EXPECT_OK(CheckPasswordPolicy("lowercase and 123"));  // lower+other+digit
  EXPECT_OK(CheckPasswordPolicy("UPPER lower words"));  // upper+lower+other
  EXPECT_OK(
      CheckPasswordPolicy("\xe5\xb7\xa5\xe4\xbc\x9a"
                          "Union2020"));  // 工会
  std::string longest = "Aa1";
  longest.resize(kMaxPasswordBytes, 'x');
  EXPECT_OK(CheckPasswordPolicy(longest));
}

TEST(CheckPasswordPolicyTest, RejectsShortAndLong) {
  EXPECT_THAT(
      CheckPasswordPolicy(""),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("too short")));
  EXPECT_THAT(CheckPasswordPolicy("Abcdef1!x"),  // 9 bytes
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("too short: 9 bytes, at least 10")));
  std::string too_long = "Aa1";
  too_long.resize(kMaxPasswordBytes + 1, 'x');
  EXPECT_THAT(CheckPasswordPolicy(too_long),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("too long: 129 bytes, at most 128")));
}

TEST(CheckPasswordPolicyTest, RejectsRepeatedCharacter) {
  EXPECT_THAT(CheckPasswordPolicy("aaaaaaaaaaaa"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("single repeated character")));
  // Five copies of 工 (three UTF-8 bytes each).
  EXPECT_THAT(CheckPasswordPolicy("\xe5\xb7\xa5\xe5\xb7\xa5\xe5\xb7\xa5"
                                  "\xe5\xb7\xa5\xe5\xb7\xa5"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("single repeated character")));
}

TEST(CheckPasswordPolicyTest, RejectsTooFewClassesNamingWhatIsMissing) {
  EXPECT_THAT(CheckPasswordPolicy("password12"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("missing: uppercase letter, symbol or other "
                                 "character - add at least one of them")));
  EXPECT_THAT(CheckPasswordPolicy("abcdefghijkl"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("missing: uppercase letter, digit, symbol or "
                                 "other character - add at least two")));
  EXPECT_THAT(CheckPasswordPolicy("1234567890"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("missing: lowercase letter, uppercase letter, "
                                 "symbol")));
  EXPECT_THAT(CheckPasswordPolicy("PASSWORD!!"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("missing: lowercase letter, digit")));
}

}  // namespace
}  // namespace unionsync
