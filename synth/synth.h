// Deterministic synthetic data for the demo, tests and benchmarks: ID numbers,
// credit codes, mobile numbers, names, members and organisation profiles that
// pass every validator in common/validation.h and common/org_rules.h but
// describe nobody. Never real personal data: names are drawn from short
// built-in lists, ID numbers and credit codes from random digits with computed
// check characters.
//
// The same seed gives the same sequence on every platform: only std::mt19937_64
// (whose output the standard fixes) is used, never the std:: distributions
// (whose algorithms are implementation-defined).
#ifndef UNIONSYNC_SYNTH_SYNTH_H_
#define UNIONSYNC_SYNTH_SYNTH_H_

#include <cstdint>
#include <random>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/types/span.h"
#include "unionsync/v1/model.pb.h"

namespace unionsync {

// A county-level division of Changsha (R1.3 "region").
struct ChangshaRegion {
  const char* code;  // 6-digit administrative division code, e.g. "430102".
  const char* name;  // e.g. "芙蓉区".
};

// The 9 county-level divisions of Changsha, in code order.
absl::Span<const ChangshaRegion> ChangshaRegions();

// An industry system (R1.3 "system"), the value of Org.system.
struct IndustrySystem {
  const char* code;  // e.g. "education".
  const char* name;  // e.g. "教育".
};

// The industry systems used by the synthetic city: education, health,
// transport, finance, construction, manufacturing, commerce, energy,
// public_service.
absl::Span<const IndustrySystem> IndustrySystems();

// How many distinct ID numbers UniqueIdNumber can make: 9 regions x 16,071
// birth dates (1960-01-01 .. 2003-12-31) x 1,000 sequence numbers =
// 144,639,000.
inline constexpr uint64_t kUniqueIdNumberCapacity = 9ull * 16071 * 1000;

// A valid ID number that is distinct for every n < kUniqueIdNumberCapacity (a
// bijection of [0, capacity) onto Changsha region x birth date x sequence
// number), "" for larger n. The bijection is an affine permutation, so
// consecutive n spread over all regions, birth years and both sexes instead of
// filling one region and one year first. Thread-safe (pure).
std::string UniqueIdNumber(uint64_t n);

// A seeded generator. Not thread-safe: give each thread its own (seeds
// differing).
class SynthGenerator {
 public:
  explicit SynthGenerator(uint64_t seed);

  // A valid ID number from a Changsha region, born 1960-01-01 .. 2003-12-31,
  // either sex.
  std::string IdNumber();
  // An ID number for `region6` (e.g. "430104") and the given sex, born
  // 1960-01-01 .. 2003-12-31; valid when the first 2 digits of `region6` are a
  // province code. "" if `region6` is not 6 ASCII digits.
  std::string IdNumberForRegion(absl::string_view region6, bool male);
  // A valid GB 32100 credit code of a Changsha enterprise: "9143010" + a digit
  // of 0, 2-5 (the city or an urban district), a 9-character organisation code
  // with a valid GB 11714 check character (half of them in the post-2015 "MA"
  // style), and the check character.
  std::string CreditCode();
  // A valid mainland mobile number.
  std::string Mobile();
  // A Chinese name: a surname and a one- or two-character given name.
  std::string PersonName();
  // A fictional company name in `district_name` (e.g. "芙蓉区"); none if empty.
  std::string CompanyName(absl::string_view district_name);
  // A member of `org_id` with every person field filled and valid (gender
  // consistent with the ID number, join date after the 16th birthday and no
  // later than 2019-12-31). The node-assigned fields (id, created_at_ms,
  // updated_at_ms) are left empty.
  v1::Member Member(const std::string& org_id);
  // The name and a complete, valid profile (ProfileCompleteness 100) of a
  // company grassroots union. Registration fields other than name (id, kind,
  // tier, parent, region, system, status) and the node-computed ones are left
  // for the caller.
  v1::Org GrassrootsProfile();

  // A random region / system.
  const ChangshaRegion& Region();
  const IndustrySystem& System();

  // Uniform in [0, n) for n > 0, 0 for n == 0; exposed so callers derive
  // further data from the same stream.
  uint64_t Uniform(uint64_t n);
  // True with probability `percent` / 100.
  bool Chance(int percent);

 private:
  absl::CivilDay BirthDate();
  // region6 must be 6 digits.
  std::string IdNumberWith(absl::string_view region6, absl::CivilDay birth,
                           bool male);
  absl::CivilDay DayBetween(absl::CivilDay first, absl::CivilDay last);
  char Pick(absl::string_view chars);

  std::mt19937_64 rng_;
};

}  // namespace unionsync

#endif  // UNIONSYNC_SYNTH_SYNTH_H_
