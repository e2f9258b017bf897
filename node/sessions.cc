#include "node/sessions.h"

#include <algorithm>
#include <vector>

#include "common/crypto.h"
#include "common/status_macros.h"

namespace unionsync {

SessionManager::SessionManager(const Clock* clock, SessionOptions options)
    : clock_(clock), options_(options) {}

absl::StatusOr<std::string> SessionManager::Create(const v1::Account& account) {
  ASSIGN_OR_RETURN(std::string token, RandomToken());
  const int64_t now = clock_->NowMs();
  Session s;
  s.username = account.username();
  s.org_id = account.org_id();
  s.role = account.role();
  s.credential_epoch = account.credential_epoch();
  s.must_change_password = account.state() == v1::CREDENTIAL_INITIAL ||
                           account.state() == v1::CREDENTIAL_RESET;
  s.created_ms = now;
  s.last_used_ms = now;
  s.expires_ms = now + options_.absolute_timeout_ms;
  absl::MutexLock lock(&mu_);
  ExpireLocked(now);
  if (by_token_hash_.size() >= options_.max_sessions) {
    return absl::ResourceExhaustedError(
        "too many open sessions on this node; try again later");
  }
  by_token_hash_[Sha256(token)] = std::move(s);
  return token;
}

absl::StatusOr<Session> SessionManager::Lookup(const std::string& token) {
  const int64_t now = clock_->NowMs();
  absl::MutexLock lock(&mu_);
  auto it = by_token_hash_.find(Sha256(token));
  if (it == by_token_hash_.end()) {
    return absl::UnauthenticatedError("no such session: log in again");
  }
  Session& s = it->second;
  if (now >= s.expires_ms || now - s.last_used_ms >= options_.idle_timeout_ms) {
    by_token_hash_.erase(it);
    return absl::UnauthenticatedError("session expired: log in again");
  }
  s.last_used_ms = now;
  return s;
}

void SessionManager::Revoke(const std::string& token) {
  absl::MutexLock lock(&mu_);
  by_token_hash_.erase(Sha256(token));
}

void SessionManager::RevokeAccount(const std::string& username,
                                   const std::string& keep_token) {
  const std::string keep = keep_token.empty() ? "" : Sha256(keep_token);
  absl::MutexLock lock(&mu_);
  std::vector<std::string> doomed;
  for (const auto& [hash, s] : by_token_hash_) {
    if (s.username == username && hash != keep) doomed.push_back(hash);
  }
  for (const auto& h : doomed) by_token_hash_.erase(h);
}

void SessionManager::MarkPasswordChanged(const std::string& token,
                                         int64_t new_epoch) {
  absl::MutexLock lock(&mu_);
  auto it = by_token_hash_.find(Sha256(token));
  if (it == by_token_hash_.end()) return;
  it->second.must_change_password = false;
  it->second.credential_epoch = new_epoch;
}

size_t SessionManager::size() const {
  absl::MutexLock lock(&mu_);
  return by_token_hash_.size();
}

void SessionManager::ExpireLocked(int64_t now) {
  std::vector<std::string> doomed;
  for (const auto& [hash, s] : by_token_hash_) {
    if (now >= s.expires_ms ||
        now - s.last_used_ms >= options_.idle_timeout_ms) {
      doomed.push_back(hash);
    }
  }
  for (const auto& h : doomed) by_token_hash_.erase(h);
}

}  // namespace unionsync
