// The demo driver: builds a synthetic Changsha union tree on one running node
// through the public Admin API (gRPC), exactly as union staff would, tier by
// tier, then reads the subtree summaries back.
//
//   1. The city's data administrator logs in with the initial password and
//      chooses a strong one (R3).
//   2. The city registers district federations (one per Changsha division) and
//      industry unions (R2). Each new organisation's administrator logs in with
//      the initial password, changes it, completes the profile and registers
//      its own children: townships and their grassroots unions under a
//      district, grassroots unions directly under an industry union.
//   3. Each activated grassroots union's administrator enters its members
//      (R4).
//   4. The city administrator logs in again and reads GetSubtreeSummary for the
//      city and every tier-2 organisation.
//
// A deterministic share of the grassroots unions is left realistic: some are
// never activated (nobody logs in), some leave their profile incomplete. Which
// ones, and all synthetic data, depend only on the seed and the tree shape;
// passwords are random and never leave the process except the city
// administrator's new one (DemoReport::admin_new_password), which the operator
// needs to keep using the node.
//
// Every RPC has a deadline; any unexpected error aborts the run with a status
// naming the step and the organisation.
#ifndef UNIONSYNC_DEMO_DRIVER_H_
#define UNIONSYNC_DEMO_DRIVER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "unionsync/v1/model.pb.h"

namespace unionsync {

struct DemoOptions {
  // The node's Admin API, "host:port" (insecure channel: loopback only).
  std::string target;
  // The city's data administrator and its current (normally initial) password.
  std::string admin_user = "admin";
  std::string admin_password;
  // The city administrator's new password; generated when empty. Only used
  // when the node still asks for a password change.
  std::string admin_new_password;

  // Tree shape.
  int districts = 9;   // First N of ChangshaRegions() (0..9).
  int industries = 2;  // First N of IndustrySystems() (0..9).
  int townships = 2;   // Per district.
  int grassroots = 3;  // Per township and per industry union.
  int members = 20;    // Per activated grassroots union.

  // Shares of the grassroots unions (rounded to whole unions) that are never
  // activated and that leave their profile incomplete.
  int inactive_percent = 5;
  int incomplete_percent = 10;

  uint64_t seed = 20190601;
  absl::Duration rpc_deadline = absl::Seconds(10);
  // Called with one line of progress per tier-2 organisation when set.
  std::function<void(absl::string_view)> progress;
  // Called with the city administrator's new password right after it was
  // changed, before anything else can fail, so the operator never loses it.
  std::function<void(const std::string&)> admin_password_changed;
};

// One line of the summary: an organisation's subtree counters.
struct SummaryRow {
  std::string org_id;
  std::string name;
  v1::OrgKind kind = v1::ORG_KIND_UNSPECIFIED;
  int direct_children = 0;
  v1::SubtreeCounters counters;
};

struct DemoReport {
  // GetSubtreeSummary of the city (the totals) and of each tier-2 child, in id
  // order.
  SummaryRow city;
  std::vector<SummaryRow> units;

  // What the run did.
  int64_t orgs_created = 0;
  int64_t grassroots_created = 0;
  int64_t orgs_never_activated = 0;  // Grassroots unions nobody logged in.
  int64_t orgs_left_incomplete = 0;  // Activated, profile below 100%.
  int64_t members_added = 0;
  int64_t duplicate_members = 0;  // AddMember answered ALREADY_EXISTS.
  int64_t rpcs = 0;               // Every RPC issued, failed ones too.
  absl::Duration elapsed;

  // The city administrator's password after the run (the new one when it was
  // changed); empty when the run did not change it.
  std::string admin_new_password;
};

// Runs the demo against the node at options.target. Errors name the step and
// the organisation, e.g. "CreateChildOrg under 430100 (长沙市总工会): ...".
absl::StatusOr<DemoReport> RunDemo(const DemoOptions& options);

// The summary table in Simplified Chinese (columns aligned for a terminal that
// shows CJK characters double-width), the totals and one line with the elapsed
// time and number of RPCs.
std::string FormatReport(const DemoReport& report);

// The same as a JSON object (UTF-8, one line per unit).
std::string FormatReportJson(const DemoReport& report);

// Display width of UTF-8 text in a terminal: East Asian wide and full-width
// characters count 2, everything else 1. Exposed for tests.
int DisplayWidth(absl::string_view utf8);

}  // namespace unionsync

#endif  // UNIONSYNC_DEMO_DRIVER_H_
