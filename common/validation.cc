#include "common/validation.h"

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/divisions.h"

namespace unionsync {
namespace {

// GB 11643 / ISO 7064 MOD 11-2 weights (2^(17-i) mod 11) and the map from the
// weighted sum mod 11 to the check character.
constexpr int kIdWeights[17] = {7, 9, 10, 5,  8, 4, 2, 1, 6,
                                3, 7, 9,  10, 5, 8, 4, 2};
constexpr char kIdCheckMap[] = "10X98765432";

// GB 32100 alphabet; a character's value is its index.
constexpr absl::string_view kCreditAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
// GB 32100 weights (3^(i-1) mod 31).
constexpr int kCreditWeights[17] = {1,  3,  9,  27, 19, 26, 16, 17, 20,
                                    29, 25, 13, 8,  24, 10, 30, 28};

// GB 11714 organisation code weights.
constexpr int kOrgCodeWeights[8] = {3, 7, 9, 10, 5, 8, 4, 2};

absl::Status Invalid(absl::string_view field, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", reason));
}

bool IsAsciiOnly(absl::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// Quotes one byte for an error message; non-printable bytes are shown as \xNN
// so that a message never carries raw control characters into logs.
std::string Quote(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return absl::StrCat("'", std::string(1, c), "'");
  return absl::StrFormat("'\\x%02X'", u);
}

int CreditValue(char c) {
  const size_t pos = kCreditAlphabet.find(c);
  return pos == absl::string_view::npos ? -1 : static_cast<int>(pos);
}

// Province-level codes of GB/T 2260 accepted in the first two digits of an ID
// number; 71 is Taiwan, 81/82 Hong Kong/Macao and 83 the residence permits of
// Taiwan residents.
bool IsProvinceCode(int code) {
  return (code >= 11 && code <= 15) || (code >= 21 && code <= 23) ||
         (code >= 31 && code <= 37) || (code >= 41 && code <= 46) ||
         (code >= 50 && code <= 54) || (code >= 61 && code <= 65) ||
         code == 71 || code == 81 || code == 82 || code == 83;
}

int DigitsToInt(absl::string_view digits) {
  int v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  return v;
}

// Whether y-m-d exists in the (proleptic) Gregorian calendar; *reason explains
// why not.
bool IsRealDate(int y, int m, int d, std::string* reason) {
  if (m < 1 || m > 12) {
    *reason = absl::StrFormat("month %02d is out of range 01-12", m);
    return false;
  }
  // absl normalises out-of-range fields, so a date is real iff it survives
  // unchanged.
  const absl::CivilDay day(y, m, d);
  if (d < 1 || day.year() != y || day.month() != m || day.day() != d) {
    *reason = absl::StrFormat("day %02d does not exist in %04d-%02d", d, y, m);
    return false;
  }
  return true;
}

// Decodes one well-formed UTF-8 sequence at s[*i] (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF). Advances *i and returns true, or
// returns false leaving *i at the bad byte.
bool DecodeUtf8(absl::string_view s, size_t* i, char32_t* cp) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(*i);
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // Allowed range of the second byte.
  if (b0 < 0x80) {
    *cp = b0;
    ++*i;
    return true;
  } else if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    *cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    *cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;  // Overlong.
    if (b0 == 0xED) hi = 0x9F;  // Surrogates.
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    *cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;  // Overlong.
    if (b0 == 0xF4) hi = 0x8F;  // Above U+10FFFF.
  } else {
    return false;
  }
  if (*i + len > s.size()) return false;
  for (size_t k = 1; k < len; ++k) {
    const unsigned char b = byte(*i + k);
    const unsigned char min = k == 1 ? lo : 0x80;
    const unsigned char max = k == 1 ? hi : 0xBF;
    if (b < min || b > max) return false;
    *cp = (*cp << 6) | (b & 0x3F);
  }
  *i += len;
  return true;
}

bool IsControl(char32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

bool IsAsciiWhitespaceOnly(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isspace(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

absl::CivilDay ChinaCivilDay(int64_t unix_ms) {
  return absl::ToCivilDay(absl::FromUnixMillis(unix_ms),
                          absl::FixedTimeZone(8 * 60 * 60));
}

absl::CivilDay ChinaToday() {
  return ChinaCivilDay(absl::ToUnixMillis(absl::Now()));
}

// ---- Citizen ID number ----

std::string NormalizeIdNumber(absl::string_view id) {
  return absl::AsciiStrToUpper(absl::StripAsciiWhitespace(id));
}

char IdNumberCheckChar(absl::string_view first17) {
  if (first17.size() < 17) return '\0';
  int sum = 0;
  for (int i = 0; i < 17; ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(first17[i])))
      return '\0';
    sum += (first17[i] - '0') * kIdWeights[i];
  }
  return kIdCheckMap[sum % 11];
}

absl::StatusOr<IdNumberInfo> ParseIdNumber(absl::string_view id,
                                           absl::CivilDay today,
                                           RegionCheck region) {
  constexpr absl::string_view kField = "id_number";
  if (id.empty()) return Invalid(kField, "is required");
  if (!IsAsciiOnly(id)) {
    return Invalid(kField,
                   "must contain only ASCII digits and 'X' (found a non-ASCII "
                   "character such "
                   "as a full-width digit)");
  }
  if (id.size() != 18) {
    return Invalid(
        kField,
        absl::StrCat("must be exactly 18 characters (17 digits and a check "
                     "character), got ",
                     id.size()));
  }
  for (int i = 0; i < 17; ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(id[i]))) {
      return Invalid(kField, absl::StrCat("character ", i + 1, " (",
                                          Quote(id[i]), ") must be a digit"));
    }
  }
  const char check = id[17];
  if (check == 'x') {
    return Invalid(
        kField, "check character must be upper-case 'X', not lower-case 'x'");
  }
  if (check != 'X' && !absl::ascii_isdigit(static_cast<unsigned char>(check))) {
    return Invalid(kField,
                   absl::StrCat("check character (character 18, ", Quote(check),
                                ") must be a digit or upper-case 'X'"));
  }
  const int province = DigitsToInt(id.substr(0, 2));
  if (!IsProvinceCode(province)) {
    return Invalid(kField,
                   absl::StrFormat("region code: first 2 digits %02d are not a "
                                   "province code",
                                   province));
  }
  const int year = DigitsToInt(id.substr(6, 4));
  const int month = DigitsToInt(id.substr(10, 2));
  const int day = DigitsToInt(id.substr(12, 2));
  std::string reason;
  if (!IsRealDate(year, month, day, &reason)) {
    return Invalid(
        kField,
        absl::StrCat("birth date (characters 7-14) is not a real date: ",
                     reason));
  }
  if (year < 1900) {
    return Invalid(kField,
                   absl::StrCat("birth year ", year, " is before 1900"));
  }
  const absl::CivilDay birth(year, month, day);
  if (birth > today) {
    return Invalid(
        kField, absl::StrFormat("birth date (characters 7-14) is after today, "
                                "%04d-%02d-%02d",
                                today.year(), today.month(), today.day()));
  }
  const char expected = IdNumberCheckChar(id);
  if (check != expected) {
    return Invalid(kField, absl::StrCat("check character is ", Quote(check),
                                        ", expected ", Quote(expected)));
  }
  IdNumberInfo info;
  info.region_code = std::string(id.substr(0, 6));
  // Last: a wrong check character more likely means a typo anywhere, which
  // that message says better.
  if (auto division = FindDivision(info.region_code)) {
    info.region_name = std::string(division->name);
  } else if (region == RegionCheck::kListed) {
    return Invalid(
        kField,
        absl::StrCat("region code ", info.region_code,
                     " (characters 1-6) is not an administrative division "
                     "code of ",
                     DivisionSource(),
                     "; check the number against the ID card, or, if the card "
                     "really carries this code, confirm it "
                     "(confirmed_region_code)"));
  }
  info.birth_date = birth;
  info.male = (id[16] - '0') % 2 == 1;
  return info;
}

absl::StatusOr<IdNumberInfo> ParseIdNumber(absl::string_view id) {
  return ParseIdNumber(id, ChinaToday());
}

absl::Status ValidateIdNumber(absl::string_view id, absl::CivilDay today,
                              RegionCheck region) {
  return ParseIdNumber(id, today, region).status();
}

absl::Status ValidateIdNumber(absl::string_view id) {
  return ValidateIdNumber(id, ChinaToday());
}

// ---- Unified social credit code ----

char CreditCodeCheckChar(absl::string_view first17) {
  if (first17.size() < 17) return '\0';
  int sum = 0;
  for (int i = 0; i < 17; ++i) {
    const int v = CreditValue(first17[i]);
    if (v < 0) return '\0';
    sum += v * kCreditWeights[i];
  }
  // C18 = 31 - (sum mod 31), where 31 stands for 0.
  return kCreditAlphabet[(31 - sum % 31) % 31];
}

char OrganizationCodeCheckChar(absl::string_view first8) {
  if (first8.size() < 8) return '\0';
  int sum = 0;
  for (int i = 0; i < 8; ++i) {
    const char c = first8[i];
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'A' && c <= 'Z') {
      v = c - 'A' + 10;
    } else {
      return '\0';
    }
    sum += v * kOrgCodeWeights[i];
  }
  // C9 = 11 - (sum mod 11), where 10 is written 'X' and 11 stands for 0.
  const int c9 = (11 - sum % 11) % 11;
  return c9 == 10 ? 'X' : static_cast<char>('0' + c9);
}

absl::Status ValidateCreditCode(absl::string_view code) {
  constexpr absl::string_view kField = "credit_code";
  if (code.empty()) return Invalid(kField, "is required");
  if (!IsAsciiOnly(code)) {
    return Invalid(kField,
                   "must contain only ASCII digits and upper-case letters "
                   "(found a non-ASCII "
                   "character such as a full-width digit)");
  }
  if (code.size() != 18) {
    return Invalid(kField, absl::StrCat("must be exactly 18 characters, got ",
                                        code.size()));
  }
  for (int i = 0; i < 18; ++i) {
    const char c = code[i];
    if (absl::ascii_islower(static_cast<unsigned char>(c))) {
      return Invalid(kField, absl::StrCat("character ", i + 1, " (", Quote(c),
                                          ") must be upper-case"));
    }
    if (CreditValue(c) < 0) {
      return Invalid(
          kField, absl::StrCat("character ", i + 1, " (", Quote(c),
                               ") is not allowed; GB 32100 uses digits and "
                               "upper-case letters except I, O, S, V and Z"));
    }
  }
  for (int i = 2; i < 8; ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(code[i]))) {
      return Invalid(kField,
                     absl::StrCat("character ", i + 1, " (", Quote(code[i]),
                                  ") must be a digit: characters 3-8 are the "
                                  "registration region code"));
    }
  }
  const char expected = CreditCodeCheckChar(code);
  if (code[17] != expected) {
    return Invalid(kField, absl::StrCat("check character is ", Quote(code[17]),
                                        ", expected ", Quote(expected)));
  }
  return absl::OkStatus();
}

// ---- Other fields ----

absl::Status ValidateMobile(absl::string_view field, absl::string_view phone) {
  if (phone.empty())
    return Invalid(field, "is empty; a mobile number has 11 digits");
  for (size_t i = 0; i < phone.size(); ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(phone[i]))) {
      return Invalid(
          field, absl::StrCat("character ", i + 1, " (", Quote(phone[i]),
                              ") must be a digit; write the 11 digits without "
                              "spaces, dashes or country code"));
    }
  }
  if (phone.size() != 11) {
    return Invalid(field, absl::StrCat("a mobile number has 11 digits, got ",
                                       phone.size()));
  }
  if (phone[0] != '1') return Invalid(field, "a mobile number starts with '1'");
  if (phone[1] < '3') {
    return Invalid(field,
                   absl::StrCat("second digit ", Quote(phone[1]),
                                " is not a mobile prefix (must be 3-9)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateMobile(absl::string_view phone) {
  return ValidateMobile("phone", phone);
}

absl::StatusOr<absl::CivilDay> ParseDate(absl::string_view field,
                                         absl::string_view yyyy_mm_dd) {
  const absl::string_view s = yyyy_mm_dd;
  if (s.empty()) return Invalid(field, "is empty; expected a date YYYY-MM-DD");
  bool shape_ok = s.size() == 10;
  for (size_t i = 0; shape_ok && i < s.size(); ++i) {
    const bool want_dash = i == 4 || i == 7;
    shape_ok = want_dash
                   ? s[i] == '-'
                   : absl::ascii_isdigit(static_cast<unsigned char>(s[i]));
  }
  if (!shape_ok) {
    return Invalid(field,
                   "must be a date written YYYY-MM-DD with zero-padded month "
                   "and day, e.g. "
                   "2019-06-01");
  }
  const int year = DigitsToInt(s.substr(0, 4));
  const int month = DigitsToInt(s.substr(5, 2));
  const int day = DigitsToInt(s.substr(8, 2));
  if (year == 0) return Invalid(field, "year 0000 does not exist");
  std::string reason;
  if (!IsRealDate(year, month, day, &reason)) return Invalid(field, reason);
  return absl::CivilDay(year, month, day);
}

absl::Status ValidateDate(absl::string_view field,
                          absl::string_view yyyy_mm_dd) {
  return ParseDate(field, yyyy_mm_dd).status();
}

size_t Utf8Length(absl::string_view s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

absl::Status ValidateText(absl::string_view field, absl::string_view value,
                          size_t max_chars, bool required) {
  size_t chars = 0;
  for (size_t i = 0; i < value.size();) {
    char32_t cp;
    if (!DecodeUtf8(value, &i, &cp)) {
      return Invalid(field,
                     absl::StrCat("is not valid UTF-8 (bad byte at offset ", i,
                                  "); save the file as UTF-8 or GBK"));
    }
    ++chars;
    if (IsControl(cp)) {
      return Invalid(
          field,
          absl::StrFormat("character %d is a control character U+%04X, which "
                          "is not allowed (no tabs or line breaks)",
                          chars, static_cast<uint32_t>(cp)));
    }
  }
  if (required && IsAsciiWhitespaceOnly(value))
    return Invalid(field, "is required");
  if (chars > max_chars) {
    return Invalid(field,
                   absl::StrCat("is ", chars, " characters long, at most ",
                                max_chars, " allowed"));
  }
  return absl::OkStatus();
}

absl::Status ValidateIdentifier(absl::string_view field,
                                absl::string_view value) {
  if (value.empty()) return Invalid(field, "is required (1-64 characters)");
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (!(absl::ascii_islower(static_cast<unsigned char>(c)) ||
          absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '.' ||
          c == '-')) {
      return Invalid(
          field, absl::StrCat("character ", i + 1, " (", Quote(c),
                              ") is not allowed; use a-z, 0-9, '.' and '-'"));
    }
  }
  if (value.size() > 64) {
    return Invalid(field, absl::StrCat("must be at most 64 characters, got ",
                                       value.size()));
  }
  if (value[0] == '.' || value[0] == '-') {
    return Invalid(field, "must not start with '.' or '-'");
  }
  return absl::OkStatus();
}

absl::Status ValidateUsername(absl::string_view field,
                              absl::string_view username) {
  // Characters first, so that a name in Chinese gets the useful message rather
  // than a byte count.
  for (size_t i = 0; i < username.size(); ++i) {
    const char c = username[i];
    if (!(absl::ascii_islower(static_cast<unsigned char>(c)) ||
          absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_' ||
          c == '.' || c == '-')) {
      return Invalid(
          field,
          absl::StrCat("character ", i + 1, " (", Quote(c),
                       ") is not allowed; use a-z, 0-9, '_', '.' and '-'"));
    }
  }
  if (username.size() < 3 || username.size() > 64) {
    return Invalid(
        field, absl::StrCat("must be 3-64 characters, got ", username.size()));
  }
  return absl::OkStatus();
}

absl::Status ValidateUsername(absl::string_view username) {
  return ValidateUsername("username", username);
}

}  // namespace unionsync
