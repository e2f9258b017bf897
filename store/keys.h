// Key encodings of the store's column families (docs/DESIGN.md, "Store key
// layout"). Identifiers never contain '/', so '/' separates key parts and
// prefix scans are exact.
#ifndef UNIONSYNC_STORE_KEYS_H_
#define UNIONSYNC_STORE_KEYS_H_

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace unionsync::keys {

// Column families.
inline constexpr char kOrgs[] = "orgs";          // org id -> v1::Org
inline constexpr char kMembers[] = "members";    // member id -> v1::Member
inline constexpr char kAccounts[] = "accounts";  // username -> v1::Account
inline constexpr char kLog[] = "log";            // BE64(log_pos) -> v1::Change
inline constexpr char kIndex[] = "index";        // see below -> value
inline constexpr char kCounters[] =
    "counters";                            // org id -> v1::SubtreeCounters
inline constexpr char kAudit[] = "audit";  // BE64(seq) -> v1::AuditEntry
inline constexpr char kLocal[] = "local";  // free-form, not replicated

// Meta keys in the default column family.
inline constexpr char kMetaNodeId[] = "meta/node_id";
inline constexpr char kMetaIncarnation[] = "meta/incarnation";
inline constexpr char kMetaSchema[] = "meta/schema";
inline constexpr char kMetaNextSeq[] = "meta/next_seq";
inline constexpr char kMetaNextLogPos[] = "meta/next_log_pos";
inline constexpr char kMetaHlc[] = "meta/hlc";
inline constexpr char kMetaAuditHead[] =
    "meta/audit_head";  // BE64(seq) + 32-byte hash
inline constexpr char kSchemaVersion[] = "1";

inline std::string BigEndian64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

inline uint64_t DecodeBigEndian64(absl::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) {
    v = (v << 8) | static_cast<unsigned char>(s[i]);
  }
  return v;
}

// Index entries (value in parentheses).
inline std::string ChildPrefix(absl::string_view parent) {
  return absl::StrCat("c/", parent, "/");
}
inline std::string ChildKey(absl::string_view parent, absl::string_view child) {
  return absl::StrCat("c/", parent, "/", child);  // ("")
}
inline std::string OrgMemberPrefix(absl::string_view org) {
  return absl::StrCat("m/", org, "/");
}
inline std::string OrgMemberKey(absl::string_view org,
                                absl::string_view member) {
  return absl::StrCat("m/", org, "/", member);  // ("")
}
inline std::string IdNumberKey(absl::string_view id_number) {
  return absl::StrCat("n/", id_number);  // (member id) active members only
}
inline std::string OrgAccountPrefix(absl::string_view org) {
  return absl::StrCat("a/", org, "/");
}
inline std::string OrgAccountKey(absl::string_view org,
                                 absl::string_view username) {
  return absl::StrCat("a/", org, "/", username);  // ("")
}

}  // namespace unionsync::keys

#endif  // UNIONSYNC_STORE_KEYS_H_
