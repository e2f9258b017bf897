// What kind of record a replicated change carries, where it is anchored and
// which way it travels: one definition for the store and the replication core.
#ifndef UNIONSYNC_COMMON_CHANGE_RULES_H_
#define UNIONSYNC_COMMON_CHANGE_RULES_H_

#include <string>

#include "unionsync/v1/model.pb.h"

namespace unionsync {

// The organisation a record belongs to (counted under, scoped by).
inline std::string AnchorOf(const v1::Change& c) {
  switch (c.record_case()) {
    case v1::Change::kOrg:
      return c.org().id();
    case v1::Change::kMember:
      return c.member().org_id();
    case v1::Change::kAccount:
      return c.account().org_id();
    case v1::Change::kConflict:
      return c.conflict().anchor_org();
    case v1::Change::kWarning:
      return c.warning().org_id();
    case v1::Change::kExportRequest:
      return c.export_request().org_id();
    case v1::Change::kExportApproval:
      return c.export_approval().org_id();
    default:
      return "";
  }
}

// Kinds a parent sends down to a child: registrations, accounts, warnings and
// export approvals (the upper tier's, written at the parent's node, must
// reach the node hosting the unit). Members, profiles and export requests are
// written inside the child's subtree; conflicts stay with the reconciling hub
// (and go up from it).
inline bool GoesDown(const v1::Change& c) {
  return c.kind() == v1::PUT_ORG || c.kind() == v1::PUT_ACCOUNT ||
         c.kind() == v1::PUT_WARNING || c.kind() == v1::PUT_EXPORT_APPROVAL;
}

// Auxiliary records: reconciliation records and export requests and approvals
// (not counted in subtree counters or digests).
inline bool IsAuxRecord(const v1::Change& c) {
  return c.kind() == v1::PUT_CONFLICT || c.kind() == v1::PUT_WARNING ||
         c.kind() == v1::PUT_EXPORT_REQUEST ||
         c.kind() == v1::PUT_EXPORT_APPROVAL;
}

}  // namespace unionsync

#endif  // UNIONSYNC_COMMON_CHANGE_RULES_H_
