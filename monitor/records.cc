#include "monitor/records.h"

#include "absl/strings/str_cat.h"

namespace unionsync {
namespace {

constexpr int kMaxHistory = 50;

void AddEvent(v1::Warning* w, int64_t now_ms, const char* what) {
  v1::WarningEvent* e = w->add_history();
  e->set_time_ms(now_ms);
  e->set_what(what);
  e->set_text(w->text());
  if (w->history_size() > kMaxHistory) {
    w->mutable_history()->DeleteSubrange(0, w->history_size() - kMaxHistory);
  }
  w->set_updated_at_ms(now_ms);
}

}  // namespace

std::optional<v1::Warning> RaiseWarning(
    const std::optional<v1::Warning>& existing, const WarningSpec& spec,
    int64_t now_ms) {
  if (existing.has_value() && existing->open() &&
      existing->severity() == spec.severity &&
      (existing->text() == spec.text || !spec.update_text)) {
    return std::nullopt;
  }
  v1::Warning w;
  if (existing.has_value()) w = *existing;
  const bool reopen = !existing.has_value() || !existing->open();
  w.set_id(spec.id);
  w.set_kind(spec.kind);
  w.set_severity(spec.severity);
  w.set_org_id(spec.org_id);
  w.set_subject(spec.subject);
  w.set_text(spec.text);
  w.set_open(true);
  if (reopen) {
    w.set_raised_at_ms(now_ms);
    w.set_cleared_at_ms(0);
    w.clear_escalated_to();
    w.set_escalated_at_ms(0);
  }
  AddEvent(&w, now_ms, reopen ? "raised" : "updated");
  return w;
}

std::optional<v1::Warning> ClearWarning(const v1::Warning& existing,
                                        int64_t now_ms) {
  if (!existing.open()) return std::nullopt;
  v1::Warning w = existing;
  w.set_open(false);
  w.set_cleared_at_ms(now_ms);
  AddEvent(&w, now_ms, "cleared");
  return w;
}

std::optional<v1::Warning> EscalateWarning(const v1::Warning& existing,
                                           const std::string& parent_org,
                                           int64_t now_ms) {
  if (!existing.open() || !existing.escalated_to().empty() ||
      parent_org.empty()) {
    return std::nullopt;
  }
  v1::Warning w = existing;
  w.set_escalated_to(parent_org);
  w.set_escalated_at_ms(now_ms);
  AddEvent(&w, now_ms, "escalated");
  return w;
}

}  // namespace unionsync
