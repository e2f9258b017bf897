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
inline constexpr char kRepl[] = "repl";    // link cursors, applied sequences
inline constexpr char kVersions[] = "versions";  // record part -> version
// Progress aggregates, maintained in every commit (see below).
inline constexpr char kProgress[] = "progress";
// Reconciliation records: "w/<warning id>" -> v1::Warning,
// "x/<conflict id>" -> v1::Conflict.
inline constexpr char kHub[] = "hub";

// Meta keys in the default column family.
inline constexpr char kMetaNodeId[] = "meta/node_id";
inline constexpr char kMetaIncarnation[] = "meta/incarnation";
inline constexpr char kMetaSchema[] = "meta/schema";
inline constexpr char kMetaNextSeq[] = "meta/next_seq";
inline constexpr char kMetaNextLogPos[] = "meta/next_log_pos";
inline constexpr char kMetaHlc[] = "meta/hlc";
inline constexpr char kMetaAuditHead[] =
    "meta/audit_head";  // BE64(seq) + 32-byte hash
// Present once the audit search index covers every entry (stores written
// before it existed are indexed when opened).
inline constexpr char kMetaAuditIndexed[] = "meta/audit_indexed";
// Check value of the index key the ID-number index was built with
// (Vault::IndexKeyCheck).
inline constexpr char kMetaIndexKey[] = "meta/index_key";
// Present while Store::Reseal runs; the next Open finishes an interrupted one.
inline constexpr char kMetaResealPending[] = "meta/reseal_pending";
// Data keys records may be sealed under, e.g. "1,2": the active key is added
// when a store is opened with it; a reseal leaves only the active one.
inline constexpr char kMetaDataKeys[] = "meta/data_keys";
// The EnteredRule grassroots_entered was last counted under, e.g.
// "min_members=1;workforce_share=0" (store/entered.cc).
inline constexpr char kMetaEnteredRule[] = "meta/entered_rule";
// 4: ID and phone numbers sealed at rest, the ID-number index keyed by HMAC.
inline constexpr char kSchemaVersion[] = "4";
// Read, and resealed into schema 4 when opened.
inline constexpr char kSchemaBeforeSealing[] = "3";

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
// Active members by the keyed hash of their ID number (vault/records.h):
// one key per person, read with a point lookup (bloom filters answer the
// usual "nobody yet" cheaply). The value lists the holders' member ids,
// comma-separated: one, or more only where replicas from different nodes
// disagree, for the hub to reconcile.
inline std::string IdNumberKey(absl::string_view token) {
  return absl::StrCat("n/", token);
}
// Scratch keys of Store::Reseal while it rebuilds the index.
inline std::string ResealIdKey(absl::string_view token,
                               absl::string_view member) {
  return absl::StrCat("r/", token, "/", member);
}
inline std::string OrgAccountPrefix(absl::string_view org) {
  return absl::StrCat("a/", org, "/");
}
inline std::string OrgAccountKey(absl::string_view org,
                                 absl::string_view username) {
  return absl::StrCat("a/", org, "/", username);  // ("")
}

// Log positions of changes a parent may send down (registrations and
// accounts written here or received from above): "d/" + BE64(pos) -> "".
inline std::string DownPrefix() { return "d/"; }
inline std::string DownKey(uint64_t pos) {
  return absl::StrCat("d/", BigEndian64(pos));
}

// Audit search index: "ua/<actor>/" + BE64(seq) and "oa/<org>/" + BE64(seq)
// -> "" for the actor's organisation and the target's, written in the batch
// of the audit entry. Actors are usernames or node ids (no '/'); readers still
// check the entry itself.
inline std::string AuditActorPrefix(absl::string_view actor) {
  return absl::StrCat("ua/", actor, "/");
}
inline std::string AuditActorKey(absl::string_view actor, uint64_t seq) {
  return absl::StrCat("ua/", actor, "/", BigEndian64(seq));
}
inline std::string AuditOrgPrefix(absl::string_view org) {
  return absl::StrCat("oa/", org, "/");
}
inline std::string AuditOrgKey(absl::string_view org, uint64_t seq) {
  return absl::StrCat("oa/", org, "/", BigEndian64(seq));
}

// Replication state (column family kRepl).
inline std::string CursorKey(absl::string_view peer) {
  return absl::StrCat("cursor/", peer);  // (BE64(pos) + peer incarnation)
}
inline std::string AppliedKey(absl::string_view origin,
                              absl::string_view incarnation) {
  return absl::StrCat("applied/", origin, "/", incarnation);  // (BE64(seq))
}

// Version stamps (column family kVersions), one per record part:
// "o/<org>" registration, "p/<org>" profile, "m/<member>", "a/<username>"
// -> BE64(hlc) + origin node id of the change that wrote the version held.
inline std::string OrgVersionKey(absl::string_view id) {
  return absl::StrCat("o/", id);
}
inline std::string ProfileVersionKey(absl::string_view id) {
  return absl::StrCat("p/", id);
}
inline std::string MemberVersionKey(absl::string_view id) {
  return absl::StrCat("m/", id);
}
inline std::string AccountVersionKey(absl::string_view username) {
  return absl::StrCat("a/", username);
}

// Credit codes of active organisations: "cc/<code>/<org>" -> "" (more than
// one organisation per code only in replicas, for the hub to reconcile).
inline std::string CreditCodePrefix(absl::string_view code) {
  return absl::StrCat("cc/", code, "/");
}
inline std::string CreditCodeKey(absl::string_view code,
                                 absl::string_view org) {
  return absl::StrCat("cc/", code, "/", org);
}
// Organisations that run their own node: "h/<org>" -> "".
inline std::string NodeOrgKey(absl::string_view org) {
  return absl::StrCat("h/", org);
}
// Warnings by warned organisation: "wo/<org>/<warning id>" -> "".
inline std::string OrgWarningPrefix(absl::string_view org) {
  return absl::StrCat("wo/", org, "/");
}
inline std::string OrgWarningKey(absl::string_view org, absl::string_view id) {
  return absl::StrCat("wo/", org, "/", id);
}
inline std::string WarningVersionKey(absl::string_view id) {
  return absl::StrCat("w/", id);
}
inline std::string ConflictVersionKey(absl::string_view id) {
  return absl::StrCat("x/", id);
}

// Records in kHub.
inline std::string WarningKey(absl::string_view id) {
  return absl::StrCat("w/", id);
}
inline std::string ConflictKey(absl::string_view id) {
  return absl::StrCat("x/", id);
}

// Approved exports, also in kHub: "e/<request id>" -> v1::ExportRequest,
// "ea/<request id>/<level number>" -> v1::ExportApproval. Version stamps use
// the same keys in kVersions. Index: "eo/<org>/<request id>" -> "".
inline std::string ExportRequestKey(absl::string_view id) {
  return absl::StrCat("e/", id);
}
inline std::string ExportApprovalPrefix(absl::string_view request_id) {
  return absl::StrCat("ea/", request_id, "/");
}
inline std::string ExportApprovalKey(absl::string_view request_id, int level) {
  return absl::StrCat("ea/", request_id, "/", level);
}
inline std::string OrgExportPrefix(absl::string_view org) {
  return absl::StrCat("eo/", org, "/");
}
inline std::string OrgExportKey(absl::string_view org, absl::string_view id) {
  return absl::StrCat("eo/", org, "/", id);
}

// Progress (column family kProgress). Scopes: "all" (everything held),
// "r:<region>", "y:<system>".
//   "s/<scope>" -> v1::SubtreeCounters (digest unused)
//   "d/<scope>/<YYYY-MM-DD>" -> v1::DayProgress (day in UTC+8)
//   "o/<org>" -> v1::OrgProgress
// Days are also kept per subtree, scope "t:<org>".
inline std::string ScopeKey(absl::string_view scope) {
  return absl::StrCat("s/", scope);
}
inline std::string DayPrefix(absl::string_view scope) {
  return absl::StrCat("d/", scope, "/");
}
inline std::string DayKey(absl::string_view scope, absl::string_view day) {
  return absl::StrCat("d/", scope, "/", day);
}
inline std::string OrgProgressKey(absl::string_view org) {
  return absl::StrCat("o/", org);
}
// "n/<origin node>" -> BE64(writer's ms of the newest change held from it).
inline std::string OriginTimeKey(absl::string_view origin) {
  return absl::StrCat("n/", origin);
}

}  // namespace unionsync::keys

#endif  // UNIONSYNC_STORE_KEYS_H_
