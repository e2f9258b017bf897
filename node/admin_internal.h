// Private to node/admin*.cc: helpers shared by the files of the Admin layer
// (the class is split by concern: sessions and gate in admin.cc,
// organisations, accounts, members and operators in admin_<concern>.cc).
#ifndef UNIONSYNC_NODE_ADMIN_INTERNAL_H_
#define UNIONSYNC_NODE_ADMIN_INTERNAL_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/admin.h"
#include "unionsync/v1/model.pb.h"

namespace unionsync {

struct Admin::Caller {
  Session session;
  std::string token;
  std::string peer;
};

namespace admin_internal {

inline constexpr int kDefaultPageSize = 100;
inline constexpr int kMaxPageSize = 1000;
inline constexpr size_t kMaxReasonChars = 200;

std::string OrgTarget(absl::string_view id);
std::string MemberTarget(absl::string_view id);
std::string AccountTarget(absl::string_view username);
// The account without its password hash.
v1::Account Redacted(v1::Account a);
// 1..kMaxPageSize; 0 is the default.
absl::StatusOr<int> PageSize(int32_t requested);
// Page tokens are the last returned key, base64-encoded; they must decode to
// an identifier.
absl::StatusOr<std::string> DecodePageToken(absl::string_view token);
// Lockout state of `username` in the local column family.
std::string LockoutKey(absl::string_view username);
// The credential epoch of a disable, enable or reset by the upper tier: the
// next multiple of 2^20 (docs/DESIGN.md, "Ownership").
int64_t AuthorityEpoch(int64_t epoch);
// A new account with a parent-set initial password (R2): it must be changed
// before use (R3). `creator` is the username that created it.
v1::Account NewAccount(const std::string& username, const std::string& org_id,
                       v1::Role role, const std::string& password_hash,
                       const std::string& author_org,
                       const std::string& display_name, int64_t now,
                       const std::string& creator);

}  // namespace admin_internal
}  // namespace unionsync

#endif  // UNIONSYNC_NODE_ADMIN_INTERNAL_H_
