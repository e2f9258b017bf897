// The demo driver: builds a synthetic Changsha union tree through the public
// Admin API (gRPC), exactly as union staff would, tier by tier, then reads the
// subtree summaries back. It runs against one node, or against a real tree of
// nodes that replicate to the city hub.
//
//   1. The city's data administrator logs in with the initial password and
//      chooses a strong one (R3).
//   2. The city registers district federations (one per Changsha division, id
//      = its region code) and industry unions (R2). Each new organisation's
//      administrator logs in with the initial password, changes it, completes
//      the profile and registers its own children: townships ("<district
//      id>.<n>") and their grassroots unions under a district, grassroots
//      unions directly under an industry union.
//   3. Each activated grassroots union's administrator enters its members
//      (R4).
//   4. The city administrator logs in again and reads GetSubtreeSummary for the
//      city and every tier-2 organisation.
//
// Multi-node runs (DemoOptions::nodes): some districts and townships run their
// own unionsync-node, already started with an empty store and their parent
// organisation's node as replication parent. Their parent registers them with
// host_node = their own id; the registration and the administrator's account
// flow down by replication, so the driver polls the organisation's own node
// until the initial password works there, and from then on that
// organisation's staff (and the unions it hosts) work at their own node. Those
// organisations are prepared first, tier by tier, so their nodes are never
// left waiting. After the last write the driver waits until every node's
// subtree counters (digest included) read the same at its parent node and the
// hub holds exactly what was entered, then reads each node's replication
// status (DemoReport::nodes).
//
// A deterministic share of the grassroots unions is left realistic: some are
// never activated (nobody logs in), some leave their profile incomplete. Which
// ones, and all synthetic data, depend only on the seed and the tree shape;
// passwords are random and never leave the process except the city
// administrator's new one (DemoReport::admin_new_password), which the operator
// needs to keep using the node.
//
// Every RPC has a deadline, every wait for replication too; any unexpected
// error aborts the run with a status naming the step and the organisation.
#ifndef UNIONSYNC_DEMO_DRIVER_H_
#define UNIONSYNC_DEMO_DRIVER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "unionsync/v1/admin.pb.h"
#include "unionsync/v1/model.pb.h"

namespace grpc {
class ChannelCredentials;
}  // namespace grpc

namespace unionsync {

struct DemoOptions {
  // The Admin API, "host:port", of the node hosting the city (the hub in a
  // multi-node run). Insecure channels: loopback only.
  std::string target;
  // How every node is reached: TLS checked against the demo CA, or plaintext
  // for in-process nodes on loopback (null: plaintext).
  std::shared_ptr<grpc::ChannelCredentials> creds;
  // Organisations that run their own node, by organisation id, with that
  // node's Admin API "host:port". Ids: a district's region code ("430102") or
  // a township "<district id>.<n>" ("430102.1", n from 1), within the tree
  // shape below. Each node must be running, with an empty store or already
  // registered, its replication parent being the node that hosts its parent
  // organisation. Empty: everything is hosted on `target`.
  std::map<std::string, std::string> nodes;
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
  // Multi-node runs: how long a node may take to receive its registration,
  // and the hub to hold everything after the last write.
  absl::Duration replication_deadline = absl::Seconds(60);
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

// One node of a multi-node run, read after the hub caught up.
struct NodeRow {
  std::string node_id;  // The organisation it runs for.
  std::string name;
  int tier = 0;
  std::string parent_node;  // Empty for the hub.
  // The organisation's subtree read at its own node, and at its parent node.
  v1::SubtreeCounters counters;
  v1::SubtreeCounters at_parent;
  // GetReplicationStatus at this node, and when it was read (wall clock).
  v1::GetReplicationStatusResponse replication;
  int64_t read_at_ms = 0;
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
  // People entered at two nodes on purpose, for the hub to reconcile.
  int64_t cross_node_duplicates = 0;
  int64_t rpcs = 0;  // Every RPC issued, failed ones too.
  absl::Duration elapsed;

  // Multi-node runs: the hub, then every node by tier and id; and how long
  // the hub took to hold everything after the last write.
  std::vector<NodeRow> nodes;
  absl::Duration replication_wait;

  // The city administrator's password after the run (the new one when it was
  // changed); empty when the run did not change it.
  std::string admin_new_password;
};

// Runs the demo against the node at options.target (and options.nodes). Errors
// name the step and the organisation, e.g. "CreateChildOrg of 芙蓉区总工会
// (admin 'd430102') under 430100 (长沙市总工会): ...".
absl::StatusOr<DemoReport> RunDemo(const DemoOptions& options);

// The summary table in Simplified Chinese (columns aligned for a terminal that
// shows CJK characters double-width), the totals and one line with the elapsed
// time and number of RPCs.
std::string FormatReport(const DemoReport& report);

// Multi-node runs: one table of the nodes (节点, 组织数, 基层工会, 会员数, 摘要
// and whether the parent node reads the same) and one of every replication
// link as each node reports it (lag, last acknowledgement, digest check).
// Empty for single-node runs.
std::string FormatNodes(const DemoReport& report);

// The same as a JSON object (UTF-8, one line per unit and per node).
std::string FormatReportJson(const DemoReport& report);

// Display width of UTF-8 text in a terminal: East Asian wide and full-width
// characters count 2, everything else 1. Exposed for tests.
int DisplayWidth(absl::string_view utf8);

}  // namespace unionsync

#endif  // UNIONSYNC_DEMO_DRIVER_H_
