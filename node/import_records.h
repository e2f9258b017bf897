// Record helpers of the importer (node/importer.cc): which fields of a row
// a data administrator edits or registers, and the city's system list.
#ifndef UNIONSYNC_NODE_IMPORT_RECORDS_H_
#define UNIONSYNC_NODE_IMPORT_RECORDS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "unionsync/v1/model.pb.h"

namespace unionsync::import_internal {

// The member fields a data administrator edits, compared and copied as the
// file has them (Admin's CopyEditable also normalises and unmasks).
bool SameEditable(const v1::Member& a, const v1::Member& b);
void CopyEditable(const v1::Member& from, v1::Member* to);

// Whether a contact or an organisation row carries any profile field.
bool HasContact(const v1::Contact& c);
bool HasProfile(const v1::Org& o);

// Whether two organisations are registered alike (name, kind, parent,
// region, system, host node, status).
bool SameRegistration(const v1::Org& a, const v1::Org& b);

// "" when `system` is empty, listed in `systems` (code, Chinese name), or
// `systems` is empty; otherwise the reason in Chinese, listing them.
std::string UnlistedSystemReason(
    const std::vector<std::pair<std::string, std::string>>& systems,
    absl::string_view system);

}  // namespace unionsync::import_internal

#endif  // UNIONSYNC_NODE_IMPORT_RECORDS_H_
