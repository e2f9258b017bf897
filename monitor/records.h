// Raising, updating and clearing warning records, shared by the reconciler
// (warnings from conflicts) and the rule evaluator (progress warnings).
#ifndef UNIONSYNC_MONITOR_RECORDS_H_
#define UNIONSYNC_MONITOR_RECORDS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "common/labels.h"
#include "unionsync/v1/model.pb.h"

namespace unionsync {

// What a warning should say now.
struct WarningSpec {
  std::string id;
  v1::WarningKind kind = v1::WARNING_KIND_UNSPECIFIED;
  v1::Severity severity = v1::SEVERITY_WARNING;
  std::string org_id;
  std::string subject;
  std::string text;
  // Whether a changed text alone updates an open warning. Rule warnings
  // carry figures that move every day ("已20天"): their text is the one they
  // were raised (or last changed severity) with, so they are not rewritten
  // and replicated at every evaluation.
  bool update_text = true;
};

// The version to write so that the warning is open as `spec` says, or nullopt
// when `existing` already is. A closed or new warning is raised; an open one
// with another severity (or text, when spec.update_text) is updated. History
// keeps the last 50 events.
std::optional<v1::Warning> RaiseWarning(
    const std::optional<v1::Warning>& existing, const WarningSpec& spec,
    int64_t now_ms);

// The cleared version of an open warning, or nullopt when it is not open.
std::optional<v1::Warning> ClearWarning(const v1::Warning& existing,
                                        int64_t now_ms);

// The escalated version (shown to `parent_org` too), or nullopt when already
// escalated or closed.
std::optional<v1::Warning> EscalateWarning(const v1::Warning& existing,
                                           const std::string& parent_org,
                                           int64_t now_ms);

}  // namespace unionsync

#endif  // UNIONSYNC_MONITOR_RECORDS_H_
