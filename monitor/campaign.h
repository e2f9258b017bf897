// The entry campaign: expected counts, milestones and warning rules (R8), read
// from a protobuf text-format file (v1::CampaignConfig), and the target
// trajectory the progress is measured against.
#ifndef UNIONSYNC_MONITOR_CAMPAIGN_H_
#define UNIONSYNC_MONITOR_CAMPAIGN_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "unionsync/v1/monitor.pb.h"

namespace unionsync {

// The shipped campaign, monitor/campaigns/changsha-2019-2020.textproto,
// embedded at build time: R8's dates and city-wide counts (by 2019-12-31 at
// least 80% of 20,000 grassroots unions and 800,000 members, by 2020-06-30
// all of them and 2,000,000 members, from 2019-09-01), with expected counts
// for the nine county-level divisions of Changsha and nine industry systems
// that the city replaces with its own statistics. The hub's default.
v1::CampaignConfig DefaultCampaign();
// That file's text, for operators to start their own from.
absl::string_view ShippedCampaignText();

// The Chinese name of a scope when the configuration gives no label: the
// shipped campaign's ("system:education" -> "教育系统"), or for a region the
// GB/T 2260 name of its code ("region:430102" -> "芙蓉区"); "" if unknown.
std::string DefaultLabel(absl::string_view scope);

// Fills unset warning rules with their defaults (14 days without entries,
// 7 days with the initial password, 14 days with an incomplete profile,
// 24 hours without sync, escalation after 7 days, 30 days without a
// recorded training, 5 points behind the trajectory, evaluation every 60 s).
void FillRuleDefaults(v1::WarningRules* rules);

// Checks a configuration: dates, fractions in [0, 1], milestones in date
// order after the start, well-formed and distinct scopes, non-negative
// counts. INVALID_ARGUMENT names the field at fault.
absl::Status ValidateCampaign(const v1::CampaignConfig& config);

// Parses and validates text format (errors carry line and column) and fills
// rule defaults.
absl::StatusOr<v1::CampaignConfig> ParseCampaign(absl::string_view text);
absl::StatusOr<v1::CampaignConfig> LoadCampaign(const std::string& path);

struct Target {
  int64_t grassroots = 0;
  int64_t members = 0;
};

// The target of a scope at the end of `day` ("YYYY-MM-DD"): zero at the
// campaign's start, linear between milestones, the last milestone's after it,
// rounded to the nearest whole organisation or member.
// `area` is null for the city. An area without its own milestones follows
// the city's: fractions unchanged, absolute member targets in proportion of
// its expected members.
Target TargetOn(const v1::CampaignConfig& config, const v1::AreaTarget* area,
                absl::string_view day);

// The area configured for `scope` ("region:<code>", "system:<name>"), or
// null.
const v1::AreaTarget* FindArea(const v1::CampaignConfig& config,
                               absl::string_view scope);

// Day arithmetic on "YYYY-MM-DD" strings (invalid input gives 0 / "").
int64_t DayNumber(absl::string_view day);  // Days since 1970-01-01.
std::string DayString(int64_t day_number);

}  // namespace unionsync

#endif  // UNIONSYNC_MONITOR_CAMPAIGN_H_
