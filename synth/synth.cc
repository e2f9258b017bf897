#include "synth/synth.h"

#include <cstdint>
#include <limits>
#include <numeric>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/types/span.h"
#include "common/validation.h"
#include "unionsync/v1/model.pb.h"

namespace unionsync {
namespace {

constexpr ChangshaRegion kRegions[] = {
    {"430102", "芙蓉区"}, {"430103", "天心区"}, {"430104", "岳麓区"},
    {"430105", "开福区"}, {"430111", "雨花区"}, {"430112", "望城区"},
    {"430121", "长沙县"}, {"430181", "浏阳市"}, {"430182", "宁乡市"},
};

constexpr IndustrySystem kSystems[] = {
    {"education", "教育"},          {"health", "卫生健康"},
    {"transport", "交通运输"},      {"finance", "金融"},
    {"construction", "建设"},       {"manufacturing", "机械冶金"},
    {"commerce", "商贸"},           {"energy", "能源"},
    {"public_service", "机关事业"},
};

// Common surnames and given-name characters; combinations are fictional by
// construction.
constexpr const char* kSurnames[] = {
    "王", "李", "张", "刘", "陈",   "杨", "黄", "赵", "周", "吴",
    "徐", "孙", "胡", "朱", "高",   "林", "何", "郭", "马", "罗",
    "梁", "宋", "郑", "谢", "唐",   "许", "邓", "彭", "曾", "肖",
    "田", "袁", "蒋", "龙", "欧阳", "易", "谭", "贺", "廖", "邹"};
constexpr const char* kGivenChars[] = {
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋",
    "勇", "艳", "杰", "娟", "涛", "明", "超", "秀", "霞", "平",
    "刚", "桂", "英", "华", "建", "国", "文", "辉", "红", "玲",
    "志", "宇", "浩", "欣", "婷", "雪", "晨", "阳", "湘", "岚"};
// Trade names and lines of business for fictional companies.
constexpr const char* kTradeNames[] = {
    "华兴", "湘江", "麓山", "星城", "楚天", "新源", "恒达", "天成",
    "远航", "金桥", "鑫盛", "瑞丰", "宏图", "长兴", "中联", "橘洲"};
constexpr const char* kBusinesses[] = {
    "机械制造", "电子科技", "建筑工程",   "物流", "食品", "商贸",
    "软件",     "医药",     "汽车零部件", "纺织", "印刷", "环保科技"};
constexpr const char* kRoads[] = {
    "五一大道", "芙蓉中路", "韶山北路", "劳动西路", "人民东路", "麓山南路",
    "湘江中路", "解放西路", "车站北路", "万家丽路", "岳麓大道", "金星北路"};
// Han and the larger minorities of Hunan.
constexpr const char* kMinorities[] = {"土家族", "苗族", "侗族", "瑶族",
                                       "回族",   "白族", "壮族", "满族"};

constexpr absl::string_view kDigits = "0123456789";
// GB 32100 characters, all of which are also valid in a GB 11714 organisation
// code.
constexpr absl::string_view kCreditChars = "0123456789ABCDEFGHJKLMNPQRTUWXY";

template <typename T, size_t N>
constexpr size_t Len(const T (&)[N]) {
  return N;
}

// Birth dates of synthetic people: 1960-01-01 .. 2003-12-31 (working age in
// 2019-2020).
constexpr absl::CivilDay kBirthFirst(1960, 1, 1);
constexpr absl::CivilDay kBirthLast(2003, 12, 31);
constexpr uint64_t kBirthDays =
    16071;  // kBirthLast - kBirthFirst + 1, checked by the tests.

// UniqueIdNumber's permutation n -> (kMul * n + kAdd) mod capacity. kMul is
// Knuth's prime 2654435761 reduced mod capacity; being prime and not a factor
// of capacity, it is coprime with it, so the map is a bijection.
constexpr uint64_t kMul = 2654435761ull % kUniqueIdNumberCapacity;
constexpr uint64_t kAdd = 12345;
static_assert(std::gcd(kMul, kUniqueIdNumberCapacity) == 1,
              "multiplier must be invertible");
static_assert(kUniqueIdNumberCapacity == Len(kRegions) * kBirthDays * 1000);

// Assembles region + birth date + 3-digit sequence + check character.
std::string MakeIdNumber(absl::string_view region6, absl::CivilDay birth,
                         int seq) {
  std::string id = absl::StrFormat("%s%04d%02d%02d%03d", region6, birth.year(),
                                   birth.month(), birth.day(), seq);
  id.push_back(IdNumberCheckChar(id));
  return id;
}

}  // namespace

absl::Span<const ChangshaRegion> ChangshaRegions() { return kRegions; }

absl::Span<const IndustrySystem> IndustrySystems() { return kSystems; }

std::string UniqueIdNumber(uint64_t n) {
  if (n >= kUniqueIdNumberCapacity) return "";
  uint64_t p =
      (kMul * n + kAdd) % kUniqueIdNumberCapacity;  // < 2^53: no overflow.
  const uint64_t region = p % Len(kRegions);
  p /= Len(kRegions);
  const uint64_t day = p % kBirthDays;
  const uint64_t seq = p / kBirthDays;  // < 1000.
  return MakeIdNumber(kRegions[region].code,
                      kBirthFirst + static_cast<int64_t>(day),
                      static_cast<int>(seq));
}

SynthGenerator::SynthGenerator(uint64_t seed) : rng_(seed) {}

uint64_t SynthGenerator::Uniform(uint64_t n) {
  if (n == 0) return 0;
  // Rejection sampling: draws at or above the largest multiple of n would bias
  // the modulo.
  const uint64_t limit = std::numeric_limits<uint64_t>::max() -
                         std::numeric_limits<uint64_t>::max() % n;
  uint64_t x;
  do {
    x = rng_();
  } while (x >= limit);
  return x % n;
}

bool SynthGenerator::Chance(int percent) {
  return static_cast<int>(Uniform(100)) < percent;
}

char SynthGenerator::Pick(absl::string_view chars) {
  return chars[Uniform(chars.size())];
}

absl::CivilDay SynthGenerator::DayBetween(absl::CivilDay first,
                                          absl::CivilDay last) {
  return first +
         static_cast<int64_t>(Uniform(static_cast<uint64_t>(last - first) + 1));
}

absl::CivilDay SynthGenerator::BirthDate() {
  return DayBetween(kBirthFirst, kBirthLast);
}

const ChangshaRegion& SynthGenerator::Region() {
  return kRegions[Uniform(Len(kRegions))];
}

const IndustrySystem& SynthGenerator::System() {
  return kSystems[Uniform(Len(kSystems))];
}

std::string SynthGenerator::IdNumber() {
  return IdNumberForRegion(Region().code, Chance(50));
}

std::string SynthGenerator::IdNumberForRegion(absl::string_view region6,
                                              bool male) {
  if (region6.size() != 6 ||
      region6.find_first_not_of(kDigits) != absl::string_view::npos) {
    return "";
  }
  return IdNumberWith(region6, BirthDate(), male);
}

std::string SynthGenerator::IdNumberWith(absl::string_view region6,
                                         absl::CivilDay birth, bool male) {
  // The last sequence digit carries the sex: odd for men, even for women.
  const int seq = static_cast<int>(Uniform(100)) * 10 +
                  static_cast<int>(Uniform(5)) * 2 + (male ? 1 : 0);
  return MakeIdNumber(region6, birth, seq);
}

std::string SynthGenerator::CreditCode() {
  // 9 = market regulator, 1 = enterprise, 43010x = Changsha city or an urban
  // district.
  std::string code = "9143010";
  code.push_back(Pick("02345"));
  std::string org;
  if (Chance(50)) {
    org = "MA4";  // Codes issued since 2015 in Hunan start "MA4".
    while (org.size() < 8) org.push_back(Pick(kCreditChars));
  } else {
    while (org.size() < 8) org.push_back(Pick(kDigits));
  }
  org.push_back(OrganizationCodeCheckChar(org));
  code += org;
  code.push_back(CreditCodeCheckChar(code));
  return code;
}

std::string SynthGenerator::Mobile() {
  std::string phone = "1";
  phone.push_back(Pick("3456789"));
  while (phone.size() < 11) phone.push_back(Pick(kDigits));
  return phone;
}

std::string SynthGenerator::PersonName() {
  std::string name = kSurnames[Uniform(Len(kSurnames))];
  const int given = Chance(70) ? 2 : 1;
  for (int i = 0; i < given; ++i)
    name += kGivenChars[Uniform(Len(kGivenChars))];
  return name;
}

std::string SynthGenerator::CompanyName(absl::string_view district_name) {
  std::string name =
      district_name.empty() ? "长沙" : absl::StrCat("长沙市", district_name);
  absl::StrAppend(&name, kTradeNames[Uniform(Len(kTradeNames))],
                  kBusinesses[Uniform(Len(kBusinesses))], "有限公司");
  return name;
}

v1::Member SynthGenerator::Member(const std::string& org_id) {
  v1::Member m;
  m.set_org_id(org_id);
  m.set_name(PersonName());
  const bool male = Chance(50);
  m.set_gender(male ? v1::MALE : v1::FEMALE);
  m.set_ethnicity(Chance(88) ? "汉族" : kMinorities[Uniform(Len(kMinorities))]);
  const ChangshaRegion& region = Region();
  const absl::CivilDay birth = BirthDate();
  m.set_id_number(IdNumberWith(region.code, birth, male));
  m.set_phone(Mobile());
  m.set_education(static_cast<v1::Education>(1 + Uniform(v1::Education_MAX)));
  m.set_workplace(CompanyName(region.name));
  // Joined after the 16th birthday (the minimum working age), by the end of the
  // 2019 campaign.
  absl::CivilDay earliest(birth.year() + 16, birth.month(), birth.day());
  if (earliest < absl::CivilDay(1978, 1, 1))
    earliest = absl::CivilDay(1978, 1, 1);
  const absl::CivilDay join =
      DayBetween(earliest, absl::CivilDay(2019, 12, 31));
  m.set_join_date(absl::FormatCivilTime(join));
  m.set_card_number(
      absl::StrFormat("CS%s-%08d", region.code, Uniform(100000000)));
  m.set_migrant_worker(Chance(25));
  const uint64_t dues = Uniform(100);
  m.set_dues_status(dues < 80   ? v1::DUES_PAID
                    : dues < 95 ? v1::DUES_UNPAID
                                : v1::DUES_EXEMPT);
  m.set_status(v1::MEMBER_ACTIVE);
  return m;
}

v1::Org SynthGenerator::GrassrootsProfile() {
  v1::Org org;
  const ChangshaRegion& region = Region();
  const std::string company = CompanyName(region.name);
  org.set_name(absl::StrCat(company, "工会委员会"));
  org.set_credit_code(CreditCode());
  org.mutable_chair()->set_name(PersonName());
  org.mutable_chair()->set_phone(Mobile());
  org.mutable_data_admin()->set_name(PersonName());
  org.mutable_data_admin()->set_phone(Mobile());
  org.mutable_data_admin()->set_trained_date(absl::FormatCivilTime(
      DayBetween(absl::CivilDay(2019, 3, 1), absl::CivilDay(2019, 9, 30))));
  org.mutable_contact()->set_name(PersonName());
  org.mutable_contact()->set_phone(Mobile());
  org.set_employee_count(static_cast<int32_t>(5 + Uniform(2996)));
  org.set_founding_date(absl::FormatCivilTime(
      DayBetween(absl::CivilDay(1990, 1, 1), absl::CivilDay(2019, 6, 30))));
  org.set_address(absl::StrCat("湖南省长沙市", region.name,
                               kRoads[Uniform(Len(kRoads))], 1 + Uniform(999),
                               "号"));
  return org;
}

}  // namespace unionsync
