// The session file: where `unionctl login` keeps the server address and session
// token for the calls that follow.
//
// Format: UTF-8 text, one "key=value" per line; lines that are empty or start
// with '#' are ignored, and so are unknown keys (forward compatibility). Keys:
// server, token (both required), username, org_id, expires_at_ms, ca,
// plaintext. The file is
// created with mode 0600 and its directory, when unionctl creates it, with mode
// 0700: the token is a bearer credential.
#ifndef UNIONSYNC_CLI_SESSION_H_
#define UNIONSYNC_CLI_SESSION_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace unionsync::cli {

struct Session {
  std::string server;  // host:port the token was issued by.
  std::string token;
  std::string username;
  std::string org_id;
  int64_t expires_at_ms = 0;
  // How the server is reached: TLS verified against this CA file, or (for a
  // development node on loopback) plaintext.
  std::string ca;
  bool plaintext = false;
};

// Text form of a session. Fails (InvalidArgument) if a value holds a line
// break.
absl::StatusOr<std::string> SerializeSession(const Session& session);
// Parses the text form; InvalidArgument when server or token is missing.
absl::StatusOr<Session> ParseSession(absl::string_view text);

// Writes the session file: missing parent directories are created with mode
// 0700, the file itself is opened O_CREAT|O_WRONLY|O_TRUNC|O_NOFOLLOW with mode
// 0600 and fchmod'ed to 0600 (an existing file may have been looser).
absl::Status WriteSessionFile(const std::string& path, const Session& session);

// Reads the session file. A missing file is Unauthenticated
// "not logged in: run `unionctl login USER`".
absl::StatusOr<Session> ReadSessionFile(const std::string& path);

// True when the file at `path` is readable or writable by group or others.
bool SessionFileTooOpen(const std::string& path);

// Removes the session file; a missing file is not an error.
absl::Status RemoveSessionFile(const std::string& path);

}  // namespace unionsync::cli

#endif  // UNIONSYNC_CLI_SESSION_H_
