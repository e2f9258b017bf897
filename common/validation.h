// Validation of the national codes and free-text fields that enter unionsync
// (R9: real-name data must be true and complete). Covers the citizen ID number
// (GB 11643-1999), the unified social credit code (GB 32100-2015), mainland
// mobile numbers, civil dates, bounded UTF-8 text and the identifiers used as
// keys (organisation ids, usernames).
//
// Every validator returns OK or INVALID_ARGUMENT with an English message of the
// form "<field>: <reason>", so that the API and the template importer can show
// it next to the field. Messages quote at most the offending character or
// part, never a whole ID number or phone number (they may reach logs).
//
// Thread-safety: every function here is pure (no shared state) and safe to call
// concurrently.
#ifndef UNIONSYNC_COMMON_VALIDATION_H_
#define UNIONSYNC_COMMON_VALIDATION_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"

namespace unionsync {

// The civil day in China Standard Time (UTC+8, no daylight saving) at `unix_ms`
// milliseconds since the Unix epoch. A fixed offset rather than the
// "Asia/Shanghai" zone so that no tzdata is needed on the node (China has not
// observed DST since 1991).
absl::CivilDay ChinaCivilDay(int64_t unix_ms);
// Today in China Standard Time, from the system clock.
absl::CivilDay ChinaToday();

// ---- Citizen ID number, GB 11643-1999 ----
//
// 18 characters: a 6-digit region code (the first 2 digits a province code),
// the birth date YYYYMMDD, a 3-digit sequence number whose last digit is odd
// for men and even for women, and an ISO 7064 MOD 11-2 check character (a digit
// or upper-case 'X').

// Upper-cases ASCII letters and trims leading and trailing ASCII whitespace, so
// "  11010519491231002x" becomes "11010519491231002X". Apply this to user input
// before ValidateIdNumber, which is strict.
std::string NormalizeIdNumber(absl::string_view id);

// The MOD 11-2 check character ('0'..'9' or 'X') for the first 17 characters of
// `first17` (extra characters are ignored). Returns '\0' if those are not 17
// ASCII digits.
char IdNumberCheckChar(absl::string_view first17);

// How the first six digits of an ID number are checked.
enum class RegionCheck {
  // A GB/T 2260 division code of some revision since 2002 or of today's lists
  // (common/divisions.h).
  kListed,
  // Any code under a province code: for a number whose card really carries a
  // code no list has (abolished before 2002), once a clerk has confirmed it.
  kConfirmedUnlisted,
};

// Validates `id` against GB 11643: length, digits, check character (upper-case
// 'X' only), a province code in the first 2 digits, a real birth date in
// [1900-01-01, today] and, with RegionCheck::kListed, a listed division code in
// the first 6 digits.
absl::Status ValidateIdNumber(absl::string_view id, absl::CivilDay today,
                              RegionCheck region = RegionCheck::kListed);
// As above with today's date in China Standard Time.
absl::Status ValidateIdNumber(absl::string_view id);

// What an ID number says about its holder.
struct IdNumberInfo {
  std::string region_code;  // The first 6 digits.
  std::string region_name;  // "芙蓉区"; empty for a confirmed unlisted code.
  absl::CivilDay birth_date;
  bool male = false;  // The 17th digit is odd.
};

// Validates `id` as ValidateIdNumber does and decodes it.
absl::StatusOr<IdNumberInfo> ParseIdNumber(
    absl::string_view id, absl::CivilDay today,
    RegionCheck region = RegionCheck::kListed);
absl::StatusOr<IdNumberInfo> ParseIdNumber(absl::string_view id);

// ---- Unified social credit code, GB 32100-2015 ----
//
// 18 characters from "0123456789ABCDEFGHJKLMNPQRTUWXY" (no I, O, S, V, Z): the
// registration authority (1), the organisation category (1), the registration
// region code (6 digits), the organisation code of GB 11714 (9) and a MOD 31
// check character.

// The GB 32100 check character for the first 17 characters of `first17` (extra
// characters are ignored). Returns '\0' if those are not 17 characters of the
// code's alphabet.
char CreditCodeCheckChar(absl::string_view first17);

// The GB 11714-1997 check character ('0'..'9' or 'X') of an organisation code
// for the first 8 characters of `first8`. Returns '\0' if those are not 8
// characters of [0-9A-Z]. The synthetic data generator uses it to make
// realistic organisation codes.
char OrganizationCodeCheckChar(absl::string_view first8);

// Validates `code` against GB 32100: length, alphabet (lower-case letters are
// refused with a hint), a 6-digit region code in characters 3-8 and the check
// character.
//
// The GB 11714 check character of the embedded organisation code (character 17)
// is deliberately not enforced: the MOD 31 check character already catches
// every single-character typo, and refusing a code that the registration
// authority actually issued would block entry (R9).
absl::Status ValidateCreditCode(absl::string_view code);

// ---- Other fields ----

// A mainland mobile number: 11 ASCII digits, "1" then 3-9. Messages name
// `field`.
absl::Status ValidateMobile(absl::string_view field, absl::string_view phone);
// As above with the field named "phone".
absl::Status ValidateMobile(absl::string_view phone);

// Parses a strict "YYYY-MM-DD" date (exactly 10 characters, zero-padded) that
// exists in the Gregorian calendar. Messages name `field`.
absl::StatusOr<absl::CivilDay> ParseDate(absl::string_view field,
                                         absl::string_view yyyy_mm_dd);
absl::Status ValidateDate(absl::string_view field,
                          absl::string_view yyyy_mm_dd);

// Number of Unicode code points in `s`, counting every byte that does not
// continue a UTF-8 sequence; exact for valid UTF-8.
size_t Utf8Length(absl::string_view s);

// Validates free text: well-formed UTF-8 (no overlong forms, no surrogates), no
// control characters at all (C0 including tab and newline, DEL, C1), at most
// `max_chars` code points and, if `required`, at least one non-whitespace
// character.
absl::Status ValidateText(absl::string_view field, absl::string_view value,
                          size_t max_chars, bool required);

// An organisation id: [a-z0-9.-]{1,64}, not starting with '.' or '-'.
absl::Status ValidateIdentifier(absl::string_view field,
                                absl::string_view value);

// An account username: [a-z0-9_.-]{3,64}. The one-argument form names the field
// "username".
absl::Status ValidateUsername(absl::string_view field,
                              absl::string_view username);
absl::Status ValidateUsername(absl::string_view username);

}  // namespace unionsync

#endif  // UNIONSYNC_COMMON_VALIDATION_H_
