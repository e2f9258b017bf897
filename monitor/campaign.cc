#include "monitor/campaign.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/divisions.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "monitor/campaign_files.h"

namespace unionsync {
namespace {

constexpr int64_t kMaxCount = 1'000'000'000;
constexpr char kShippedCampaign[] = "changsha-2019-2020.textproto";

absl::Status ValidateMilestones(
    absl::string_view field, absl::string_view start,
    const google::protobuf::RepeatedPtrField<v1::Milestone>& milestones) {
  std::string previous(start);
  for (int i = 0; i < milestones.size(); ++i) {
    const v1::Milestone& m = milestones[i];
    const std::string where = absl::StrCat(field, "[", i, "]");
    RETURN_IF_ERROR(ValidateDate(absl::StrCat(where, ".date"), m.date()));
    if (m.date() <= previous) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ".date: ", m.date(),
          " must come after the campaign start and the previous milestone (",
          previous, ")"));
    }
    previous = m.date();
    for (const auto& [name, value] :
         {std::pair<const char*, double>{"grassroots_fraction",
                                         m.grassroots_fraction()},
          {"members_fraction", m.members_fraction()}}) {
      if (!(value >= 0.0 && value <= 1.0)) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ".", name, ": must be between 0 and 1, got ", value));
      }
    }
    if (m.members() < 0 || m.members() > kMaxCount) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".members: out of range: ", m.members()));
    }
  }
  return absl::OkStatus();
}

class CollectErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (first_.empty()) {
      first_ = absl::StrCat("line ", line + 1, " column ", column + 1, ": ",
                            message);
    }
  }
  void AddWarning(int line, int column, const std::string& message) override {}
  const std::string& first() const { return first_; }

 private:
  std::string first_;
};

// Linear interpolation between (d0, v0) and (d1, v1) at d.
double Lerp(int64_t d0, double v0, int64_t d1, double v1, int64_t d) {
  if (d1 <= d0) return v1;
  return v0 +
         (v1 - v0) * static_cast<double>(d - d0) / static_cast<double>(d1 - d0);
}

}  // namespace

void FillRuleDefaults(v1::WarningRules* rules) {
  if (rules->no_entry_days() <= 0) rules->set_no_entry_days(14);
  if (rules->initial_password_days() <= 0) rules->set_initial_password_days(7);
  if (rules->node_sync_hours() <= 0) rules->set_node_sync_hours(24);
  if (rules->escalate_days() <= 0) rules->set_escalate_days(7);
  if (rules->training_days() <= 0) rules->set_training_days(30);
  if (rules->profile_days() <= 0) rules->set_profile_days(14);
  if (rules->behind_tolerance() <= 0) rules->set_behind_tolerance(0.05);
  if (rules->evaluate_every_seconds() <= 0) {
    rules->set_evaluate_every_seconds(60);
  }
}

absl::string_view ShippedCampaignText() {
  for (const campaign_files::CampaignFile* f = campaign_files::kCampaignFiles;
       f->name != nullptr; ++f) {
    if (absl::string_view(f->name) == kShippedCampaign) {
      return absl::string_view(reinterpret_cast<const char*>(f->bytes),
                               f->size);
    }
  }
  return "";
}

namespace {

// Parsed once; a shipped file that does not parse is a defect of the build,
// which tests/monitor/campaign_test.cc catches.
const v1::CampaignConfig& Shipped() {
  static const v1::CampaignConfig* const kShipped = [] {
    auto parsed = ParseCampaign(ShippedCampaignText());
    if (!parsed.ok()) {
      std::cerr << "monitor/campaigns/" << kShippedCampaign << ": "
                << parsed.status().message() << "\n";
      std::abort();
    }
    return new v1::CampaignConfig(*std::move(parsed));
  }();
  return *kShipped;
}

}  // namespace

v1::CampaignConfig DefaultCampaign() { return Shipped(); }

std::string DefaultLabel(absl::string_view scope) {
  if (const v1::AreaTarget* a = FindArea(Shipped(), scope)) {
    return a->label();
  }
  if (absl::StartsWith(scope, "region:")) {
    if (auto d = FindDivision(scope.substr(7)); d.has_value()) {
      return std::string(d->name);
    }
  }
  return "";
}

absl::Status ValidateCampaign(const v1::CampaignConfig& config) {
  RETURN_IF_ERROR(ValidateText("name", config.name(), 100, false));
  RETURN_IF_ERROR(ValidateDate("start_date", config.start_date()));
  if (config.milestones().empty()) {
    return absl::InvalidArgumentError(
        "milestones: at least one milestone is needed");
  }
  RETURN_IF_ERROR(ValidateMilestones("milestones", config.start_date(),
                                     config.milestones()));
  if (config.expected_grassroots() < 0 ||
      config.expected_grassroots() > kMaxCount ||
      config.expected_members() < 0 || config.expected_members() > kMaxCount) {
    return absl::InvalidArgumentError(
        "expected_grassroots / expected_members: out of range");
  }
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < config.areas_size(); ++i) {
    const v1::AreaTarget& a = config.areas(i);
    const std::string where = absl::StrCat("areas[", i, "]");
    const bool region = absl::StartsWith(a.scope(), "region:");
    const bool system = absl::StartsWith(a.scope(), "system:");
    if (!region && !system) {
      return absl::InvalidArgumentError(absl::StrCat(
          where,
          ".scope: must be \"region:<code>\" or \"system:<name>\", got '",
          a.scope(), "'"));
    }
    const absl::string_view value =
        absl::string_view(a.scope()).substr(7);  // Both prefixes are 7 long.
    if (region && (value.size() != 6 || !std::all_of(value.begin(), value.end(),
                                                     absl::ascii_isdigit))) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ".scope: a region is a 6-digit division code, got '", value,
          "'"));
    }
    if (system && (value.empty() || value.size() > 64 ||
                   !std::all_of(value.begin(), value.end(), [](char c) {
                     return absl::ascii_islower(c) || absl::ascii_isdigit(c) ||
                            c == '_' || c == '-' || c == '.';
                   }))) {
      // The codes organisations accept (node/admin.cc ValidateSystem).
      return absl::InvalidArgumentError(absl::StrCat(
          where, ".scope: a system code is [a-z0-9_.-]{1,64}, got '", value,
          "'"));
    }
    if (!seen.insert(a.scope()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".scope: '", a.scope(), "' appears twice"));
    }
    RETURN_IF_ERROR(
        ValidateText(absl::StrCat(where, ".label"), a.label(), 100, false));
    if (a.expected_grassroots() < 0 || a.expected_grassroots() > kMaxCount ||
        a.expected_members() < 0 || a.expected_members() > kMaxCount) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": expected counts out of range"));
    }
    RETURN_IF_ERROR(ValidateMilestones(absl::StrCat(where, ".milestones"),
                                       config.start_date(), a.milestones()));
  }
  const v1::EnteredRule& e = config.entered();
  if (e.min_members() < 0 || e.min_members() > 100000) {
    return absl::InvalidArgumentError(
        absl::StrCat("entered.min_members: must be between 0 and 100000, got ",
                     e.min_members()));
  }
  if (!(e.workforce_share() >= 0.0 && e.workforce_share() <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("entered.workforce_share: must be between 0 and 1, got ",
                     e.workforce_share()));
  }
  const v1::WarningRules& r = config.rules();
  if (r.no_entry_days() < 0 || r.initial_password_days() < 0 ||
      r.node_sync_hours() < 0 || r.escalate_days() < 0 ||
      r.evaluate_every_seconds() < 0 || r.no_entry_days() > 3650 ||
      r.initial_password_days() > 3650 || r.node_sync_hours() > 87600 ||
      r.escalate_days() > 3650 || r.evaluate_every_seconds() > 86400 ||
      r.training_days() < 0 || r.training_days() > 3650 ||
      r.profile_days() < 0 || r.profile_days() > 3650 ||
      !(r.behind_tolerance() >= 0.0 && r.behind_tolerance() <= 1.0)) {
    return absl::InvalidArgumentError("rules: a value is out of range");
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::CampaignConfig> ParseCampaign(absl::string_view text) {
  v1::CampaignConfig config;
  google::protobuf::TextFormat::Parser parser;
  CollectErrors errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), &config)) {
    return absl::InvalidArgumentError(
        absl::StrCat("campaign configuration: ", errors.first()));
  }
  FillRuleDefaults(config.mutable_rules());
  absl::Status valid = ValidateCampaign(config);
  if (!valid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("campaign configuration: ", valid.message()));
  }
  return config;
}

absl::StatusOr<v1::CampaignConfig> LoadCampaign(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read campaign configuration ", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > (1 << 20)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": campaign configuration larger than 1 MiB"));
  }
  auto config = ParseCampaign(text.str());
  if (!config.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", config.status().message()));
  }
  return config;
}

const v1::AreaTarget* FindArea(const v1::CampaignConfig& config,
                               absl::string_view scope) {
  for (const v1::AreaTarget& a : config.areas()) {
    if (a.scope() == scope) return &a;
  }
  return nullptr;
}

int64_t DayNumber(absl::string_view day) {
  absl::CivilDay d;
  if (!absl::ParseCivilTime(day, &d)) return 0;
  return d - absl::CivilDay(1970, 1, 1);
}

std::string DayString(int64_t day_number) {
  return absl::FormatCivilTime(absl::CivilDay(1970, 1, 1) + day_number);
}

Target TargetOn(const v1::CampaignConfig& config, const v1::AreaTarget* area,
                absl::string_view day) {
  const bool own = area != nullptr && !area->milestones().empty();
  const auto& milestones = own ? area->milestones() : config.milestones();
  const int64_t expected_g = area != nullptr ? area->expected_grassroots()
                                             : config.expected_grassroots();
  const int64_t expected_m =
      area != nullptr ? area->expected_members() : config.expected_members();
  auto members_of = [&](const v1::Milestone& m) -> double {
    if (m.members() > 0) {
      if (area == nullptr || own) return static_cast<double>(m.members());
      if (config.expected_members() <= 0) return 0;
      return static_cast<double>(m.members()) * expected_m /
             config.expected_members();
    }
    return m.members_fraction() * expected_m;
  };
  const int64_t d = DayNumber(day);
  int64_t d0 = DayNumber(config.start_date());
  double g0 = 0, m0 = 0;
  Target t;
  if (d <= d0 || milestones.empty()) return t;
  for (const v1::Milestone& m : milestones) {
    const int64_t d1 = DayNumber(m.date());
    const double g1 = m.grassroots_fraction() * expected_g;
    const double m1 = members_of(m);
    if (d <= d1) {
      t.grassroots = std::llround(Lerp(d0, g0, d1, g1, d));
      t.members = std::llround(Lerp(d0, m0, d1, m1, d));
      return t;
    }
    d0 = d1;
    g0 = g1;
    m0 = m1;
  }
  t.grassroots = std::llround(g0);
  t.members = std::llround(m0);
  return t;
}

}  // namespace unionsync
