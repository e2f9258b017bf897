// Who may call what: the one table of roles per action (every RPC of the
// Admin, Monitor, Export and Ingest APIs, and the web endpoints that are not
// RPCs), checked by the session layer (Admin::Authenticate) before any
// handler runs. The finer scope rules (own organisation, subtree, the node's
// own organisation for operators) stay with each handler; this table is the
// first gate and the documentation of record (docs/SECURITY.md, "Roles").
// tests/node/policy_test.cc tries every role against every RPC.
//
// Thread-safe (constant data).
#ifndef UNIONSYNC_NODE_POLICY_H_
#define UNIONSYNC_NODE_POLICY_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "unionsync/v1/model.pb.h"

namespace unionsync {

// A set of v1::Role values, bit (1 << role).
using RoleSet = uint32_t;
constexpr RoleSet RoleBit(v1::Role r) { return RoleSet{1} << r; }
inline constexpr RoleSet kDataAdmin = RoleBit(v1::DATA_ADMIN);
inline constexpr RoleSet kReviewer = RoleBit(v1::REVIEWER);
inline constexpr RoleSet kLeader = RoleBit(v1::UNIT_LEADER);
inline constexpr RoleSet kOperator = RoleBit(v1::OPERATOR);
inline constexpr RoleSet kAnyRole = kDataAdmin | kReviewer | kLeader | kOperator;
// No session needed at all (the template download, Login itself).
inline constexpr RoleSet kPublic = RoleSet{1} << 31;

struct ActionPolicy {
  absl::string_view action;  // As audited, e.g. "GetMember", "ImportMembers".
  // The RPC ("AdminService/GetMember") or web route ("GET /metrics").
  absl::string_view endpoint;
  RoleSet roles;
  // Whether the action can return personal data (masked unless revealed).
  bool personal_data;
  absl::string_view scope;  // The scope rule in words.
};

// Every action, in the order of the APIs.
absl::Span<const ActionPolicy> ActionPolicies();
// The policy of `action`, or nullptr when there is none (then nobody may).
const ActionPolicy* FindActionPolicy(absl::string_view action);
// Whether `role` may call `action` at all.
bool RoleMay(absl::string_view action, v1::Role role);
// "data administrator, reviewer" for messages and docs.
std::string RoleSetText(RoleSet roles);
// "data administrator", "reviewer", "unit leader", "operator".
absl::string_view RoleText(v1::Role role);

}  // namespace unionsync

#endif  // UNIONSYNC_NODE_POLICY_H_
