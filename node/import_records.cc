#include "node/import_records.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace unionsync::import_internal {

bool SameEditable(const v1::Member& a, const v1::Member& b) {
  return a.name() == b.name() && a.gender() == b.gender() &&
         a.ethnicity() == b.ethnicity() && a.id_number() == b.id_number() &&
         a.phone() == b.phone() && a.education() == b.education() &&
         a.workplace() == b.workplace() && a.join_date() == b.join_date() &&
         a.card_number() == b.card_number() &&
         a.migrant_worker() == b.migrant_worker() &&
         a.dues_status() == b.dues_status();
}

void CopyEditable(const v1::Member& from, v1::Member* to) {
  to->set_name(from.name());
  to->set_gender(from.gender());
  to->set_ethnicity(from.ethnicity());
  to->set_id_number(from.id_number());
  to->set_phone(from.phone());
  to->set_education(from.education());
  to->set_workplace(from.workplace());
  to->set_join_date(from.join_date());
  to->set_card_number(from.card_number());
  to->set_migrant_worker(from.migrant_worker());
  to->set_dues_status(from.dues_status());
}

bool HasContact(const v1::Contact& c) {
  return !c.name().empty() || !c.phone().empty() || !c.trained_date().empty();
}

bool HasProfile(const v1::Org& o) {
  return !o.credit_code().empty() || HasContact(o.chair()) ||
         HasContact(o.data_admin()) || HasContact(o.contact()) ||
         o.employee_count() != 0 || !o.founding_date().empty() ||
         !o.address().empty();
}

bool SameRegistration(const v1::Org& a, const v1::Org& b) {
  return a.name() == b.name() && a.kind() == b.kind() &&
         a.parent_id() == b.parent_id() && a.region() == b.region() &&
         a.system() == b.system() && a.host_node() == b.host_node() &&
         a.status() == b.status();
}

std::string UnlistedSystemReason(
    const std::vector<std::pair<std::string, std::string>>& systems,
    absl::string_view system) {
  if (system.empty() || systems.empty() ||
      std::any_of(systems.begin(), systems.end(),
                  [&](const auto& s) { return s.first == system; })) {
    return "";
  }
  std::vector<std::string> listed;
  for (const auto& [code, label] : systems) {
    listed.push_back(absl::StrCat(label, " ", code));
  }
  return absl::StrCat("不是市总工会规定的系统代码，可填：",
                      absl::StrJoin(listed, "，"), "；或留空（与本单位相同）");
}

}  // namespace unionsync::import_internal
