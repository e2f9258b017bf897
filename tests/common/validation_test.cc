#include "common/validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "testing/status_matchers.h"

namespace unionsync {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::unionsync::testing::IsOk;
using ::unionsync::testing::StatusIs;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

// A fixed "today" so the tests do not depend on the day they run.
const absl::CivilDay kToday(2020, 6, 30);

// ---- GB 11643 citizen ID number ----
//
// Published vectors, check characters recomputed with the MOD 11-2 weights:
// - "11010519491231002X": the first example in GB 11643-1999 itself
// ("北京市朝阳区";
//   born 1949-12-31, sequence 002 = female). Weighted sum
//   7+9+0+5+0+20+2+9+24+27+7+18+30+5+0+0+4 = 167; 167 mod 11 = 2;
//   "10X98765432"[2] = 'X'.
// - "440524188001010014": the standard's second example ("广东省汕头市"; born
//   1880-01-01, male), also quoted by the Chinese Wikipedia article. Weighted
//   sum 195; 195 mod 11 = 8 -> '4': the check character is right, but the rule
//   "birth year >= 1900" refuses it.
// - "360426199101010071": the example in python-stdnum's cn.ric documentation.
// - "11010219840406970X": a sample found valid in several public validator
//   test suites; its published negative "11010219840506970X" (month changed,
//   expected check character '1').
// The other numbers below are made up (Changsha region codes) with check
// characters computed by a script and cross-checked by IdNumberCheckChar.

TEST(IdNumberCheckCharTest, PublishedExamples) {
  EXPECT_EQ(IdNumberCheckChar("11010519491231002"), 'X');
  EXPECT_EQ(IdNumberCheckChar("44052418800101001"), '4');
  EXPECT_EQ(IdNumberCheckChar("36042619910101007"), '1');
  // Extra characters (the check character itself) are ignored.
  EXPECT_EQ(IdNumberCheckChar("11010519491231002X"), 'X');
}

TEST(IdNumberCheckCharTest, RejectsNonDigitsAndShortInput) {
  EXPECT_EQ(IdNumberCheckChar("1101051949123100"), '\0');
  EXPECT_EQ(IdNumberCheckChar("1101051949123100A"), '\0');
  EXPECT_EQ(IdNumberCheckChar(""), '\0');
}

TEST(ValidateIdNumberTest, AcceptsPublishedExamples) {
  EXPECT_OK(ValidateIdNumber("11010519491231002X", kToday));
  EXPECT_OK(ValidateIdNumber("360426199101010071", kToday));
  EXPECT_OK(ValidateIdNumber("11010219840406970X", kToday));
  EXPECT_OK(ValidateIdNumber("11010519491231002X"));  // Against the real today.
}

TEST(ValidateIdNumberTest, AcceptsSyntheticChangshaNumbers) {
  EXPECT_OK(ValidateIdNumber("430102199001010016", kToday));
  EXPECT_OK(ValidateIdNumber("430102199001010024", kToday));
  // 2000 is a leap year (divisible by 400).
  EXPECT_OK(ValidateIdNumber("430102200002290019", kToday));
  // Born today.
  EXPECT_OK(ValidateIdNumber("430102202006300025", kToday));
  // 83: residence permit of a Taiwan resident.
  EXPECT_OK(ValidateIdNumber("830000199001010012", kToday));
}

TEST(ValidateIdNumberTest, PublishedExampleBornBefore1900IsRefused) {
  EXPECT_THAT(ValidateIdNumber("440524188001010014", kToday),
              StatusIs(kInvalid,
                       HasSubstr("id_number: birth year 1880 is before 1900")));
}

TEST(ValidateIdNumberTest, WrongCheckCharacter) {
  // The standard's example with its last character changed.
  EXPECT_THAT(
      ValidateIdNumber("110105194912310021", kToday),
      StatusIs(kInvalid,
               HasSubstr("id_number: check character is '1', expected 'X'")));
  EXPECT_THAT(
      ValidateIdNumber("11010219840506970X", kToday),
      StatusIs(kInvalid, HasSubstr("check character is 'X', expected '1'")));
  EXPECT_THAT(ValidateIdNumber("360426199101010072", kToday),
              StatusIs(kInvalid, HasSubstr("expected '1'")));
  // Two adjacent digits swapped (002 -> 020): the check character catches it.
  EXPECT_THAT(
      ValidateIdNumber("11010519491231020X", kToday),
      StatusIs(kInvalid, HasSubstr("check character is 'X', expected '6'")));
  // One digit changed.
  EXPECT_THAT(ValidateIdNumber("11010519491231003X", kToday),
              StatusIs(kInvalid, HasSubstr("check character")));
}

TEST(ValidateIdNumberTest, LowerCaseX) {
  EXPECT_THAT(
      ValidateIdNumber("11010519491231002x", kToday),
      StatusIs(kInvalid, HasSubstr("upper-case 'X', not lower-case 'x'")));
  EXPECT_EQ(NormalizeIdNumber("11010519491231002x"), "11010519491231002X");
  EXPECT_OK(ValidateIdNumber(NormalizeIdNumber(" \t11010519491231002x \r\n"),
                             kToday));
}

TEST(ValidateIdNumberTest, WrongLength) {
  EXPECT_THAT(ValidateIdNumber("", kToday),
              StatusIs(kInvalid, HasSubstr("id_number: is required")));
  EXPECT_THAT(ValidateIdNumber("11010519491231002", kToday),
              StatusIs(kInvalid, HasSubstr("must be exactly 18 characters")));
  EXPECT_THAT(ValidateIdNumber("11010519491231002X0", kToday),
              StatusIs(kInvalid, HasSubstr("got 19")));
  // The old 15-digit first-generation number.
  EXPECT_THAT(ValidateIdNumber("110105491231002", kToday),
              StatusIs(kInvalid, HasSubstr("got 15")));
  // Untrimmed input is refused, NormalizeIdNumber trims it.
  EXPECT_THAT(ValidateIdNumber(" 11010519491231002X", kToday),
              StatusIs(kInvalid));
}

TEST(ValidateIdNumberTest, BadCharacters) {
  EXPECT_THAT(
      ValidateIdNumber("1101051949123100AX", kToday),
      StatusIs(kInvalid, HasSubstr("character 17 ('A') must be a digit")));
  EXPECT_THAT(
      ValidateIdNumber("X10105194912310021", kToday),
      StatusIs(kInvalid, HasSubstr("character 1 ('X') must be a digit")));
  EXPECT_THAT(
      ValidateIdNumber("11010519491231002Y", kToday),
      StatusIs(kInvalid, HasSubstr("must be a digit or upper-case 'X'")));
  EXPECT_THAT(
      ValidateIdNumber(std::string("1101051949") + '\0' + "231002X", kToday),
      StatusIs(kInvalid, HasSubstr("character 11 ('\\x00')")));
  // Full-width digits ("１") as typed with a Chinese input method.
  EXPECT_THAT(ValidateIdNumber("１1010519491231002X", kToday),
              StatusIs(kInvalid, HasSubstr("non-ASCII")));
}

TEST(ValidateIdNumberTest, BadProvinceCode) {
  EXPECT_THAT(ValidateIdNumber("990102199001010015", kToday),
              StatusIs(kInvalid,
                       HasSubstr("first 2 digits 99 are not a province code")));
  EXPECT_THAT(ValidateIdNumber("10010219900101001X", kToday),
              StatusIs(kInvalid, HasSubstr("10 are not a province code")));
}

// A number with a right check character: `first17` plus its check character.
std::string WithCheck(const std::string& first17) {
  return first17 + IdNumberCheckChar(first17);
}

TEST(ValidateIdNumberTest, RegionCodeMustBeAListedDivision) {
  // 439999: the province digits are right (43, Hunan), the county is not.
  const std::string unknown = WithCheck("43999919900101001");
  EXPECT_THAT(
      ValidateIdNumber(unknown, kToday),
      StatusIs(kInvalid,
               AllOf(HasSubstr("region code 439999 (characters 1-6) is not an "
                               "administrative division code"),
                     HasSubstr("GB/T 2260 revisions 2002-12 to 2016-07"),
                     HasSubstr("confirmed_region_code"))));
  // 112302 is under Beijing's province code but no list has it.
  EXPECT_THAT(ValidateIdNumber(WithCheck("11230219900101001"), kToday),
              StatusIs(kInvalid, HasSubstr("region code 112302")));
  // Confirmed by a clerk who checked the card, the same number passes.
  EXPECT_THAT(
      ValidateIdNumber(unknown, kToday, RegionCheck::kConfirmedUnlisted),
      IsOk());
  // A confirmation does not make a bad province or check character good.
  EXPECT_THAT(ValidateIdNumber("990102199001010015", kToday,
                               RegionCheck::kConfirmedUnlisted),
              StatusIs(kInvalid, HasSubstr("not a province code")));
}

TEST(ValidateIdNumberTest, CodesAbolishedSinceIssueStayValid) {
  // 望城县 became 望城区 (430112) in 2011 and 宁乡县 宁乡市 (430182) in 2017:
  // both the old and the new codes are real codes on real cards.
  for (const char* prefix : {"430122", "430112", "430124", "430182"}) {
    EXPECT_THAT(ValidateIdNumber(WithCheck(std::string(prefix) + "19800101001"),
                                 kToday),
                IsOk())
        << prefix;
  }
  // Hong Kong and Macao residence permits, and Taiwan residents' (830000).
  for (const char* prefix : {"810000", "820000", "830000"}) {
    EXPECT_THAT(ValidateIdNumber(WithCheck(std::string(prefix) + "19800101001"),
                                 kToday),
                IsOk())
        << prefix;
  }
}

TEST(ValidateIdNumberTest, BadBirthDate) {
  // Check characters are right, so only the date is wrong.
  EXPECT_THAT(
      ValidateIdNumber("430102199002301237", kToday),
      StatusIs(kInvalid, HasSubstr("day 30 does not exist in 1990-02")));
  EXPECT_THAT(
      ValidateIdNumber("430102201902290027", kToday),
      StatusIs(kInvalid, HasSubstr("day 29 does not exist in 2019-02")));
  // 1900 is not a leap year (divisible by 100, not by 400).
  EXPECT_THAT(
      ValidateIdNumber("430102190002290012", kToday),
      StatusIs(kInvalid, HasSubstr("day 29 does not exist in 1900-02")));
  std::string month13 = "43010219901301001";
  month13.push_back(IdNumberCheckChar(month13));
  EXPECT_THAT(ValidateIdNumber(month13, kToday),
              StatusIs(kInvalid, HasSubstr("month 13 is out of range")));
  std::string day0 = "43010219900100001";
  day0.push_back(IdNumberCheckChar(day0));
  EXPECT_THAT(ValidateIdNumber(day0, kToday),
              StatusIs(kInvalid, HasSubstr("day 00")));
}

TEST(ValidateIdNumberTest, FutureBirthDate) {
  EXPECT_THAT(ValidateIdNumber("430102202007010011", kToday),
              StatusIs(kInvalid, HasSubstr("is after today, 2020-06-30")));
  // The same number is fine a day later.
  EXPECT_OK(ValidateIdNumber("430102202007010011", absl::CivilDay(2020, 7, 1)));
}

TEST(ParseIdNumberTest, DecodesFields) {
  ASSERT_OK_AND_ASSIGN(IdNumberInfo info,
                       ParseIdNumber("11010519491231002X", kToday));
  EXPECT_EQ(info.region_code, "110105");
  EXPECT_EQ(info.region_name, "朝阳区");
  EXPECT_EQ(info.birth_date, absl::CivilDay(1949, 12, 31));
  EXPECT_FALSE(info.male);  // Sequence 002: even.

  ASSERT_OK_AND_ASSIGN(info, ParseIdNumber("360426199101010071", kToday));
  EXPECT_EQ(info.region_code, "360426");
  EXPECT_EQ(info.region_name, "德安县");
  EXPECT_EQ(info.birth_date, absl::CivilDay(1991, 1, 1));
  EXPECT_TRUE(info.male);  // Sequence 007: odd.

  EXPECT_THAT(ParseIdNumber("110105194912310021", kToday), StatusIs(kInvalid));
}

TEST(ChinaCivilDayTest, UsesUtcPlus8) {
  // 2019-12-31T16:00:00Z is already 2020-01-01 in Changsha.
  EXPECT_EQ(ChinaCivilDay(1577808000000), absl::CivilDay(2020, 1, 1));
  EXPECT_EQ(ChinaCivilDay(1577807999999), absl::CivilDay(2019, 12, 31));
}

// ---- GB 32100 unified social credit code ----
//
// Published vectors, each re-checked with the MOD 31 weights and the embedded
// GB 11714 organisation code's MOD 11 check:
// - "91350100M000100Y43": the sample code used in GB 32100 explanations and in
//   countless public validators. Values 9,1,3,5,0,1,0,0,M=21,0,0,0,1,0,0,Y=30,
//   4 times the weights: 9+3+27+135+0+26+0+0+420+0+0+0+8+0+0+900+112 = 1640;
//   1640 mod 31 = 28; 31 - 28 = 3 -> '3'. Organisation code M000100Y4: '4'.
// - "91110000600037341L": the example in python-stdnum's cn.uscc documentation.
// - "91110108551385082Q", "91440300708461136T", "91110105771583283D": codes of
//   registered enterprises listed as samples in public validator code.
// - "112302070019030687": listed in the same samples; registration authority
//   1 (机构编制) rather than 9, so not only market-regulator codes pass.
// - "91350200M000000510": a placeholder copied around in the same samples
//   whose check character is wrong (expected 'D'): a published negative.

TEST(CreditCodeCheckCharTest, PublishedExamples) {
  EXPECT_EQ(CreditCodeCheckChar("91350100M000100Y4"), '3');
  EXPECT_EQ(CreditCodeCheckChar("91110000600037341"), 'L');
  EXPECT_EQ(CreditCodeCheckChar("91110108551385082"), 'Q');
  EXPECT_EQ(CreditCodeCheckChar("91440300708461136"), 'T');
  EXPECT_EQ(CreditCodeCheckChar("11230207001903068"), '7');
  EXPECT_EQ(CreditCodeCheckChar("91350200M00000051"), 'D');
}

TEST(CreditCodeCheckCharTest, SumDivisibleBy31GivesZero) {
  // Find a body whose weighted sum is divisible by 31 by varying the last
  // character: the check character must then be '0', not the out-of-range
  // value 31.
  bool found = false;
  for (char c : std::string("0123456789ABCDEFGHJKLMNPQRTUWXY")) {
    const std::string body = std::string("9143010000000000") + c;
    if (CreditCodeCheckChar(body) == '0') {
      found = true;
      EXPECT_OK(ValidateCreditCode(body + "0"));
    }
  }
  EXPECT_TRUE(found);
}

TEST(CreditCodeCheckCharTest, RejectsBadInput) {
  EXPECT_EQ(CreditCodeCheckChar("91350100M000100Y"), '\0');  // 16 characters.
  EXPECT_EQ(CreditCodeCheckChar("91350100I000100Y4"),
            '\0');  // I is not in the alphabet.
}

TEST(OrganizationCodeCheckCharTest, PublishedExamples) {
  EXPECT_EQ(OrganizationCodeCheckChar("M000100Y"), '4');
  EXPECT_EQ(OrganizationCodeCheckChar("60003734"), '1');
  EXPECT_EQ(OrganizationCodeCheckChar("70846113"), '6');
  EXPECT_EQ(OrganizationCodeCheckChar("00190306"), '8');
  EXPECT_EQ(OrganizationCodeCheckChar("abc"), '\0');
}

TEST(ValidateCreditCodeTest, AcceptsPublishedExamples) {
  for (const char* code :
       {"91350100M000100Y43", "91110000600037341L", "91110108551385082Q",
        "91440300708461136T", "91110105771583283D", "112302070019030687"}) {
    EXPECT_OK(ValidateCreditCode(code)) << code;
  }
}

TEST(ValidateCreditCodeTest, WrongCheckCharacter) {
  EXPECT_THAT(
      ValidateCreditCode("91350200M000000510"),
      StatusIs(kInvalid,
               HasSubstr("credit_code: check character is '0', expected 'D'")));
  EXPECT_THAT(
      ValidateCreditCode("91350100M000100Y44"),
      StatusIs(kInvalid, HasSubstr("check character is '4', expected '3'")));
  // One character of the body changed.
  EXPECT_THAT(ValidateCreditCode("91350100M000101Y43"),
              StatusIs(kInvalid, HasSubstr("check character")));
}

TEST(ValidateCreditCodeTest, BadCharacters) {
  for (char bad : std::string("IOSVZ")) {
    std::string code = "91350100M000100Y43";
    code[8] = bad;
    EXPECT_THAT(
        ValidateCreditCode(code),
        StatusIs(kInvalid, HasSubstr("character 9 ('" + std::string(1, bad) +
                                     "') is not allowed")));
  }
  EXPECT_THAT(
      ValidateCreditCode("91350100m000100Y43"),
      StatusIs(kInvalid, HasSubstr("character 9 ('m') must be upper-case")));
  EXPECT_THAT(ValidateCreditCode("9135010*M000100Y43"),
              StatusIs(kInvalid, HasSubstr("is not allowed")));
  // The region code (characters 3-8) must be digits.
  EXPECT_THAT(
      ValidateCreditCode("913A0100M000100Y43"),
      StatusIs(kInvalid, HasSubstr("character 4 ('A') must be a digit")));
  EXPECT_THAT(ValidateCreditCode("９1350100M000100Y43"),
              StatusIs(kInvalid, HasSubstr("non-ASCII")));
}

TEST(ValidateCreditCodeTest, WrongLength) {
  EXPECT_THAT(ValidateCreditCode(""),
              StatusIs(kInvalid, HasSubstr("credit_code: is required")));
  EXPECT_THAT(
      ValidateCreditCode("91350100M000100Y4"),
      StatusIs(kInvalid, HasSubstr("must be exactly 18 characters, got 17")));
  // The pre-2015 15-digit business registration number.
  EXPECT_THAT(ValidateCreditCode("110000000000001"),
              StatusIs(kInvalid, HasSubstr("got 15")));
}

// ---- Mobile numbers ----

TEST(ValidateMobileTest, Accepts) {
  EXPECT_OK(ValidateMobile("13800138000"));
  EXPECT_OK(ValidateMobile("19912345678"));
  EXPECT_OK(ValidateMobile("chair.phone", "15074800000"));
}

TEST(ValidateMobileTest, Refuses) {
  EXPECT_THAT(ValidateMobile(""),
              StatusIs(kInvalid, HasSubstr("phone: is empty")));
  EXPECT_THAT(ValidateMobile("1380013800"),
              StatusIs(kInvalid, HasSubstr("11 digits, got 10")));
  EXPECT_THAT(ValidateMobile("138001380001"),
              StatusIs(kInvalid, HasSubstr("got 12")));
  EXPECT_THAT(ValidateMobile("23800138000"),
              StatusIs(kInvalid, HasSubstr("starts with '1'")));
  EXPECT_THAT(
      ValidateMobile("12800138000"),
      StatusIs(kInvalid, HasSubstr("second digit '2' is not a mobile prefix")));
  EXPECT_THAT(
      ValidateMobile("138-0013-800"),
      StatusIs(kInvalid, HasSubstr("character 4 ('-') must be a digit")));
  EXPECT_THAT(ValidateMobile("+8613800138000"),
              StatusIs(kInvalid, HasSubstr("character 1")));
  // Landline with area code.
  EXPECT_THAT(ValidateMobile("07318888888"), StatusIs(kInvalid));
  EXPECT_THAT(ValidateMobile("contact.phone", "123"),
              StatusIs(kInvalid, HasSubstr("contact.phone: ")));
}

// ---- Dates ----

TEST(ParseDateTest, Accepts) {
  ASSERT_OK_AND_ASSIGN(absl::CivilDay d, ParseDate("join_date", "2019-12-31"));
  EXPECT_EQ(d, absl::CivilDay(2019, 12, 31));
  ASSERT_OK_AND_ASSIGN(d, ParseDate("join_date", "2020-02-29"));
  EXPECT_EQ(d, absl::CivilDay(2020, 2, 29));
  EXPECT_OK(ValidateDate("founding_date", "2000-02-29"));
}

TEST(ParseDateTest, Refuses) {
  EXPECT_THAT(
      ParseDate("join_date", "2019-02-29"),
      StatusIs(kInvalid,
               HasSubstr("join_date: day 29 does not exist in 2019-02")));
  EXPECT_THAT(ParseDate("join_date", "2019-02-30"),
              StatusIs(kInvalid, HasSubstr("day 30")));
  EXPECT_THAT(ParseDate("join_date", "2019-04-31"),
              StatusIs(kInvalid, HasSubstr("day 31")));
  EXPECT_THAT(ParseDate("join_date", "1900-02-29"), StatusIs(kInvalid));
  EXPECT_THAT(ParseDate("join_date", "2019-13-01"),
              StatusIs(kInvalid, HasSubstr("month 13 is out of range")));
  EXPECT_THAT(ParseDate("join_date", "2019-00-10"),
              StatusIs(kInvalid, HasSubstr("month 00")));
  EXPECT_THAT(ParseDate("join_date", "2019-01-00"),
              StatusIs(kInvalid, HasSubstr("day 00")));
  EXPECT_THAT(ParseDate("join_date", "0000-01-01"),
              StatusIs(kInvalid, HasSubstr("year 0000")));
  for (const char* bad :
       {"2019-1-5", "2019/01/05", "20190105", "2019-01-05 ", " 2019-01-05",
        "2019-01-5x", "19-01-05", "2019-01-05T00:00", "二〇一九-01-05"}) {
    EXPECT_THAT(
        ParseDate("founding_date", bad),
        StatusIs(kInvalid,
                 HasSubstr("founding_date: must be a date written YYYY-MM-DD")))
        << bad;
  }
  EXPECT_THAT(ValidateDate("trained_date", ""),
              StatusIs(kInvalid, HasSubstr("trained_date: is empty")));
}

// ---- Text ----

TEST(Utf8LengthTest, CountsCodePoints) {
  EXPECT_EQ(Utf8Length(""), 0u);
  EXPECT_EQ(Utf8Length("abc"), 3u);
  EXPECT_EQ(Utf8Length("长沙市总工会"), 6u);
  EXPECT_EQ(Utf8Length("a\xF0\x9F\x98\x80"), 2u);  // U+1F600 is one code point.
}

TEST(ValidateTextTest, Accepts) {
  EXPECT_OK(ValidateText("name", "张伟", 50, true));
  EXPECT_OK(ValidateText("address", "", 200, false));
  // Exactly at the limit, counted in characters, not bytes (6 characters, 18
  // bytes).
  EXPECT_OK(ValidateText("name", "长沙市总工会", 6, true));
  EXPECT_OK(ValidateText("name", "Zhang Wei", 50, true));
}

TEST(ValidateTextTest, Refuses) {
  EXPECT_THAT(ValidateText("name", "", 50, true),
              StatusIs(kInvalid, HasSubstr("name: is required")));
  EXPECT_THAT(ValidateText("name", "  ", 50, true),
              StatusIs(kInvalid, HasSubstr("is required")));
  EXPECT_THAT(
      ValidateText("name", "长沙市总工会", 5, true),
      StatusIs(kInvalid,
               HasSubstr("name: is 6 characters long, at most 5 allowed")));
  EXPECT_THAT(ValidateText("name", "张\t伟", 50, true),
              StatusIs(kInvalid,
                       HasSubstr("character 2 is a control character U+0009")));
  EXPECT_THAT(ValidateText("name", "a\nb", 50, false),
              StatusIs(kInvalid, HasSubstr("U+000A")));
  EXPECT_THAT(ValidateText("name", std::string("a\0b", 3), 50, false),
              StatusIs(kInvalid, HasSubstr("U+0000")));
  EXPECT_THAT(ValidateText("name", "a\x7F", 50, false),
              StatusIs(kInvalid, HasSubstr("U+007F")));
  EXPECT_THAT(
      ValidateText("name", "a\xC2\x85", 50, false),  // U+0085, a C1 control.
      StatusIs(kInvalid, HasSubstr("U+0085")));
  // Malformed UTF-8: GBK bytes of "张" read as UTF-8, a truncated sequence, an
  // overlong '/', an encoded surrogate and a code point above U+10FFFF.
  for (const char* bad : {"\xD5\xC5", "\xE5\xBC", "\xC0\xAF", "\xED\xA0\x80",
                          "\xF4\x90\x80\x80", "\xFF"}) {
    EXPECT_THAT(ValidateText("workplace", bad, 100, false),
                StatusIs(kInvalid, HasSubstr("workplace: is not valid UTF-8")));
  }
}

// ---- Identifiers ----

TEST(ValidateIdentifierTest, Accepts) {
  EXPECT_OK(ValidateIdentifier("id", "cs"));
  EXPECT_OK(ValidateIdentifier("id", "cs.furong.2-3"));
  EXPECT_OK(ValidateIdentifier("id", "0"));
  EXPECT_OK(ValidateIdentifier("id", std::string(64, 'a')));
}

TEST(ValidateIdentifierTest, Refuses) {
  EXPECT_THAT(ValidateIdentifier("parent_id", ""),
              StatusIs(kInvalid, HasSubstr("parent_id: is required")));
  EXPECT_THAT(ValidateIdentifier("id", std::string(65, 'a')),
              StatusIs(kInvalid, HasSubstr("at most 64 characters, got 65")));
  EXPECT_THAT(ValidateIdentifier("id", ".cs"),
              StatusIs(kInvalid, HasSubstr("must not start")));
  EXPECT_THAT(ValidateIdentifier("id", "-cs"),
              StatusIs(kInvalid, HasSubstr("must not start")));
  EXPECT_THAT(
      ValidateIdentifier("id", "Cs"),
      StatusIs(kInvalid, HasSubstr("character 1 ('C') is not allowed")));
  EXPECT_THAT(ValidateIdentifier("id", "cs_1"),
              StatusIs(kInvalid, HasSubstr("('_')")));
  EXPECT_THAT(ValidateIdentifier("id", "cs 1"),
              StatusIs(kInvalid, HasSubstr("(' ')")));
  EXPECT_THAT(ValidateIdentifier("id", "长沙"),
              StatusIs(kInvalid, HasSubstr("not allowed")));
}

TEST(ValidateUsernameTest, AcceptsAndRefuses) {
  EXPECT_OK(ValidateUsername("abc"));
  EXPECT_OK(ValidateUsername("cs_admin.furong-1"));
  EXPECT_OK(ValidateUsername("_ab"));
  EXPECT_OK(ValidateUsername(std::string(64, 'z')));
  EXPECT_THAT(ValidateUsername("ab"),
              StatusIs(kInvalid,
                       HasSubstr("username: must be 3-64 characters, got 2")));
  EXPECT_THAT(ValidateUsername(std::string(65, 'z')),
              StatusIs(kInvalid, HasSubstr("got 65")));
  EXPECT_THAT(ValidateUsername("Admin"),
              StatusIs(kInvalid, HasSubstr("('A') is not allowed")));
  EXPECT_THAT(ValidateUsername("a@b.c"),
              StatusIs(kInvalid, HasSubstr("('@')")));
  EXPECT_THAT(ValidateUsername("login", "张三"),
              StatusIs(kInvalid, HasSubstr("login: character 1")));
}

}  // namespace
}  // namespace unionsync
