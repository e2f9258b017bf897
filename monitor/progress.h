// Progress figures of one scope (the city or a node's subtree, a region, a
// system, an organisation's subtree) from the store's aggregates, against the
// campaign's trajectory; the daily series; the CSV report.
#ifndef UNIONSYNC_MONITOR_PROGRESS_H_
#define UNIONSYNC_MONITOR_PROGRESS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "store/store.h"
#include "unionsync/v1/monitor.pb.h"

namespace unionsync {

// One scope as the API names it and as the store keeps it.
struct ScopeRef {
  std::string scope;  // "city", "region:<code>", "system:<name>", "org:<id>"
  std::string store_scope;  // "all", "r:<code>", "y:<name>", "t:<id>"
  std::string label;        // Chinese
  // Expected counts: the campaign's for a region or system (and for the
  // district, zone or industry union that answers for it), or the parent's
  // target for an organisation (SetChildTarget), which comes first. Unset:
  // none, or the city's when `city`.
  std::optional<v1::AreaTarget> area;
  bool city = false;  // Use the city-wide expected counts and milestones
  bool parent_target = false;  // `area` is the parent's target for the org.

  const v1::AreaTarget* area_or_null() const {
    return area.has_value() ? &*area : nullptr;
  }
};

// The target `parent` set for its child `child_id`, or null.
const v1::ChildTarget* FindChildTarget(const v1::Org& parent,
                                       absl::string_view child_id);

// Resolves an API scope name. INVALID_ARGUMENT for a malformed one.
absl::StatusOr<ScopeRef> ResolveScope(const Store& store,
                                      const v1::CampaignConfig& config,
                                      absl::string_view scope);

// The API scopes of every region ("region:<code>") or every system
// ("system:<code>"): the campaign's areas in its order, then any other the
// store holds figures for.
absl::StatusOr<std::vector<std::string>> ListAreaScopes(
    const Store& store, const v1::CampaignConfig& config, bool regions);

absl::StatusOr<v1::Progress> ComputeProgress(const Store& store,
                                             const v1::CampaignConfig& config,
                                             const ScopeRef& ref,
                                             absl::string_view today);

// Cumulative figures at the end of every day in [from, to] with the targets.
absl::StatusOr<std::vector<v1::TimePoint>> ComputeSeries(
    const Store& store, const v1::CampaignConfig& config, const ScopeRef& ref,
    absl::string_view from, absl::string_view to);

// The report as CSV: UTF-8 with a BOM (Excel and WPS open it right), Chinese
// headers, the total row first.
std::string ProgressCsv(const v1::GetProgressResponse& report);

}  // namespace unionsync

#endif  // UNIONSYNC_MONITOR_PROGRESS_H_
