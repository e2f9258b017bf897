// The rules of the four-tier organisation tree (R1) and the validation of
// organisation profiles and members (R3, R4, R9): which kind of organisation
// may sit at which tier and under which parent, which kinds are grassroots
// unions, how complete a profile is, and whether a profile or a member record
// holds valid data.
//
// Thread-safety: every function here is pure and safe to call concurrently.
#ifndef UNIONSYNC_COMMON_ORG_RULES_H_
#define UNIONSYNC_COMMON_ORG_RULES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "unionsync/v1/model.pb.h"

namespace unionsync {

// The lowest and highest tier of the tree (1 is the city federation).
inline constexpr int kMinTier = 1;
inline constexpr int kMaxTier = 4;

// The Chinese name users see, exactly as in model.proto, e.g.
// "区（县）市总工会" for DISTRICT_FEDERATION; "未指定" for ORG_KIND_UNSPECIFIED
// and "" for values outside the enum.
absl::string_view OrgKindChineseName(v1::OrgKind kind);

// The enum name in lower case, e.g. "district_federation"; "" for values
// outside the enum.
absl::string_view OrgKindCode(v1::OrgKind kind);

// "district_federation (区（县）市总工会)", for messages and logs; "org kind N"
// when unknown.
std::string OrgKindLabel(v1::OrgKind kind);

// Parses a kind from its code (case-insensitive, e.g. "district_federation") or
// its Chinese name (ASCII parentheses are accepted for the full-width ones, as
// spreadsheets often have them). Surrounding ASCII whitespace is ignored.
// ORG_KIND_UNSPECIFIED is never returned: INVALID_ARGUMENT for anything else.
absl::StatusOr<v1::OrgKind> ParseOrgKind(
    absl::string_view code_or_chinese_name);

// Whether an organisation of `kind` may sit at `tier` (the R1 tier table).
bool KindAllowedAtTier(v1::OrgKind kind, int tier);

// Whether `kind` is a grassroots union (基层工会): a leaf that has members and
// counts toward the entry targets (R1.2).
bool IsGrassroots(v1::OrgKind kind);

// Whether `parent` may get a new child of `child_kind` (R1.1): the parent is
// active, consistent (its kind allowed at its tier) and not a grassroots union,
// the child's tier (parent.tier + 1) is at most 4 and allows the kind, and the
// pair is in the affiliation table. FAILED_PRECONDITION if the parent is not
// active, INVALID_ARGUMENT otherwise; messages name both kinds by code and
// Chinese name.
absl::Status CheckParentChild(const v1::Org& parent, v1::OrgKind child_kind);

// Percentage (0, 10, ..., 100) of the ten profile fields that are filled in:
// credit_code, chair.name, chair.phone, data_admin.name, data_admin.phone,
// contact.name, contact.phone, employee_count > 0, founding_date and address. A
// string consisting only of whitespace counts as missing. Presence only:
// ValidateOrgProfile checks the values.
int ProfileCompleteness(const v1::Org& org);
bool IsProfileComplete(const v1::Org& org);

// Checks that every profile field that is present holds a valid value: the
// credit code (GB 32100), mobile numbers, dates (founding_date,
// *.trained_date), names (<= 100 characters), the address (<= 200) and
// employee_count (0..10,000,000). Missing fields are not errors; use
// ProfileCompleteness for those. INVALID_ARGUMENT naming the field, e.g.
// "chair.phone: ...".
absl::Status ValidateOrgProfile(const v1::Org& org);

// Checks a member record (R4, R9): name required (<= 50 characters); id_number
// a valid GB 11643 number (birth date not after `today`); gender set and
// matching the sex digit of id_number; phone valid if present; ethnicity <= 20
// and workplace <= 100 characters; join_date a valid date if present;
// card_number <= 32 characters of [A-Za-z0-9-]; every enum within its range.
// INVALID_ARGUMENT naming the field.
absl::Status ValidateMember(const v1::Member& m, absl::CivilDay today);
// Whether the member's id_number starts with the region code a clerk
// confirmed (Member.confirmed_region_code), so that a code no GB/T 2260 list
// has is accepted for it.
bool RegionConfirmed(const v1::Member& m);
// As above with today's date in China Standard Time.
absl::Status ValidateMember(const v1::Member& m);

}  // namespace unionsync

#endif  // UNIONSYNC_COMMON_ORG_RULES_H_
