// Masking of personal numbers for every read that is not an explicit,
// audited request for one record's full values (R10, docs/SECURITY.md):
// ID numbers keep their first 6 and last 4 characters ("430104********1234"),
// phone numbers their first 3 and last 4 ("138****5678"). Used by the Admin
// API, the Monitor API's conflicts, exports and the command line, so there is
// one rule.
#ifndef UNIONSYNC_COMMON_MASK_H_
#define UNIONSYNC_COMMON_MASK_H_

#include <string>

#include "absl/strings/string_view.h"
#include "unionsync/v1/model.pb.h"

namespace unionsync {

std::string MaskIdNumber(absl::string_view id_number);
std::string MaskPhone(absl::string_view phone);

// True when `value` is what MaskIdNumber / MaskPhone make of `full` (so an
// edit form that sends back what it read keeps the stored value).
bool IsMaskedIdNumberOf(absl::string_view value, absl::string_view full);
bool IsMaskedPhoneOf(absl::string_view value, absl::string_view full);

// The member with its ID and phone numbers masked.
void MaskMember(v1::Member* member);
// The organisation's contacts: phones masked; with `keep_names` false the
// contacts (chair, data administrator, contact person) are removed entirely,
// and the trainees' names with them (the trainings' dates stay).
void MaskOrgContacts(v1::Org* org, bool keep_names);

}  // namespace unionsync

#endif  // UNIONSYNC_COMMON_MASK_H_
