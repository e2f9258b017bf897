#include "common/mask.h"

#include "absl/strings/str_cat.h"

namespace unionsync {
namespace {

// Keeps `head` leading and `tail` trailing characters and stars the rest;
// all stars when the value is too short to keep anything.
std::string Masked(absl::string_view s, size_t head, size_t tail) {
  if (s.empty()) return "";
  if (s.size() <= head + tail) return std::string(s.size(), '*');
  return absl::StrCat(s.substr(0, head), std::string(s.size() - head - tail, '*'),
                      s.substr(s.size() - tail));
}

}  // namespace

std::string MaskIdNumber(absl::string_view id_number) {
  return Masked(id_number, 6, 4);
}

std::string MaskPhone(absl::string_view phone) { return Masked(phone, 3, 4); }

bool IsMaskedIdNumberOf(absl::string_view value, absl::string_view full) {
  return !full.empty() && value == MaskIdNumber(full) && value != full;
}

bool IsMaskedPhoneOf(absl::string_view value, absl::string_view full) {
  return !full.empty() && value == MaskPhone(full) && value != full;
}

void MaskMember(v1::Member* member) {
  member->set_id_number(MaskIdNumber(member->id_number()));
  member->set_phone(MaskPhone(member->phone()));
}

void MaskOrgContacts(v1::Org* org, bool keep_names) {
  if (!keep_names) {
    org->clear_chair();
    org->clear_data_admin();
    org->clear_contact();
    // Whether and when a training took place stays; who it was does not.
    for (v1::Training& t : *org->mutable_trainings()) {
      t.clear_trainee();
      t.clear_recorded_by();
    }
    return;
  }
  if (org->has_chair()) {
    org->mutable_chair()->set_phone(MaskPhone(org->chair().phone()));
  }
  if (org->has_data_admin()) {
    org->mutable_data_admin()->set_phone(MaskPhone(org->data_admin().phone()));
  }
  if (org->has_contact()) {
    org->mutable_contact()->set_phone(MaskPhone(org->contact().phone()));
  }
}

}  // namespace unionsync
