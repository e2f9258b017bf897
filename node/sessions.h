// In-memory login sessions of one node.
//
// A session is bound to the account's credential epoch at login; the Admin
// layer compares it with the stored account on every call, so a password
// change, reset or disable by anyone ends every session of that account at once
// (R10.3). Sessions are not persisted: a restarted node asks people to log in
// again, which is the safe default for personal data.
//
// Tokens are 256-bit random values; only their SHA-256 is kept, so a memory
// dump does not hand out live tokens. Thread-safe.
#ifndef UNIONSYNC_NODE_SESSIONS_H_
#define UNIONSYNC_NODE_SESSIONS_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "unionsync/v1/model.pb.h"

namespace unionsync {

struct Session {
  std::string username;
  std::string org_id;
  v1::Role role = v1::ROLE_UNSPECIFIED;
  int64_t credential_epoch = 0;
  bool must_change_password = false;
  int64_t created_ms = 0;
  int64_t last_used_ms = 0;
  int64_t expires_ms = 0;  // Absolute expiry.
};

struct SessionOptions {
  int64_t idle_timeout_ms = 30 * 60 * 1000;  // 30 minutes without a call.
  int64_t absolute_timeout_ms = 12 * 60 * 60 * 1000;  // 12 hours after login.
  size_t max_sessions = 100000;
};

class SessionManager {
 public:
  SessionManager(const Clock* clock, SessionOptions options = {});

  // Opens a session and returns its token (shown to the client once).
  absl::StatusOr<std::string> Create(const v1::Account& account);
  // The live session of `token`, refreshed; UNAUTHENTICATED when unknown or
  // expired.
  absl::StatusOr<Session> Lookup(const std::string& token);
  void Revoke(const std::string& token);
  // Ends every session of `username` (except the one holding `keep_token`, if
  // given).
  void RevokeAccount(const std::string& username,
                     const std::string& keep_token = "");
  // Marks the session's password as changed and moves it to `new_epoch`.
  void MarkPasswordChanged(const std::string& token, int64_t new_epoch);
  size_t size() const;

 private:
  void ExpireLocked(int64_t now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock* clock_;
  const SessionOptions options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Session> by_token_hash_ ABSL_GUARDED_BY(mu_);
};

}  // namespace unionsync

#endif  // UNIONSYNC_NODE_SESSIONS_H_
