#include "node/audit_throttle.h"

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"

namespace unionsync {

std::string AuditThrottle::SourceOf(absl::string_view peer) {
  absl::ConsumePrefix(&peer, "ipv4:");
  absl::ConsumePrefix(&peer, "ipv6:");
  if (absl::StartsWith(peer, "[")) {
    const size_t close = peer.find(']');
    if (close != absl::string_view::npos) return std::string(peer.substr(1, close - 1));
  }
  const size_t colon = peer.rfind(':');
  if (colon != absl::string_view::npos && peer.find(':') == colon) {
    peer = peer.substr(0, colon);
  }
  return std::string(peer);
}

bool AuditThrottle::Admit(absl::string_view action, absl::string_view peer,
                          int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  auto [it, fresh] = windows_.try_emplace({std::string(action), SourceOf(peer)});
  Window& w = it->second;
  if (fresh || now_ms - w.start_ms >= interval_ms_) {
    if (w.suppressed > 0) return true;  // TakeDue writes the old one first.
    w = Window{now_ms, 0, 0};
  }
  if (w.admitted < per_interval_) {
    ++w.admitted;
    return true;
  }
  ++w.suppressed;
  return false;
}

std::vector<v1::AuditEntry> AuditThrottle::TakeDue(int64_t now_ms,
                                                   bool everything) {
  std::vector<v1::AuditEntry> out;
  absl::MutexLock lock(&mu_);
  for (auto it = windows_.begin(); it != windows_.end();) {
    Window& w = it->second;
    const bool over = now_ms - w.start_ms >= interval_ms_;
    if ((over || everything) && w.suppressed > 0) {
      v1::AuditEntry e;
      e.set_time_ms(now_ms);
      e.set_actor("system");
      e.set_action(it->first.first);
      e.set_outcome(v1::AUDIT_DENIED);
      e.set_peer(it->first.second);
      e.set_detail(absl::StrCat(w.suppressed, " more refused ", it->first.first,
                                " attempts from ", it->first.second, " in ",
                                (now_ms - w.start_ms + 999) / 1000,
                                " s (summarised)"));
      out.push_back(std::move(e));
      w.suppressed = 0;
    }
    if (over && w.suppressed == 0) {
      it = windows_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

}  // namespace unionsync
