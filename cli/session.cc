#include "cli/session.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"

namespace unionsync::cli {
namespace {

absl::Status ErrnoError(absl::string_view what, const std::string& path,
                        int err) {
  return absl::InternalError(
      absl::StrCat(what, " ", path, ": ", std::strerror(err)));
}

// Creates the missing directories of `dir` (like mkdir -p) with mode 0700.
absl::Status MakeDirs(const std::string& dir) {
  if (dir.empty()) return absl::OkStatus();
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat(dir, " exists and is not a directory"));
    }
    return absl::OkStatus();
  }
  size_t slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    RETURN_IF_ERROR(MakeDirs(dir.substr(0, slash)));
  }
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoError("cannot create directory", dir, errno);
  }
  // mkdir honours the umask; make the mode exact.
  if (chmod(dir.c_str(), 0700) != 0) {
    return ErrnoError("cannot chmod directory", dir, errno);
  }
  return absl::OkStatus();
}

bool HasLineBreak(absl::string_view s) {
  return s.find_first_of("\r\n") != absl::string_view::npos;
}

}  // namespace

absl::StatusOr<std::string> SerializeSession(const Session& session) {
  for (absl::string_view v :
       {absl::string_view(session.server), absl::string_view(session.token),
        absl::string_view(session.username), absl::string_view(session.org_id),
        absl::string_view(session.ca)}) {
    if (HasLineBreak(v)) {
      return absl::InvalidArgumentError("session value contains a line break");
    }
  }
  return absl::StrCat(
      "# unionctl session: a bearer credential, keep it private (mode 0600).\n",
      "server=", session.server, "\n", "username=", session.username, "\n",
      "org_id=", session.org_id, "\n", "expires_at_ms=", session.expires_at_ms,
      "\n", "ca=", session.ca, "\n", "plaintext=", session.plaintext ? 1 : 0,
      "\n", "token=", session.token, "\n");
}

absl::StatusOr<Session> ParseSession(absl::string_view text) {
  Session s;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    absl::ConsumeSuffix(&line, "\r");
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad session file line \"", line, "\""));
    }
    absl::string_view key = line.substr(0, eq);
    absl::string_view value = line.substr(eq + 1);
    if (key == "server") {
      s.server = std::string(value);
    } else if (key == "token") {
      s.token = std::string(value);
    } else if (key == "username") {
      s.username = std::string(value);
    } else if (key == "org_id") {
      s.org_id = std::string(value);
    } else if (key == "ca") {
      s.ca = std::string(value);
    } else if (key == "plaintext") {
      s.plaintext = value == "1";
    } else if (key == "expires_at_ms") {
      if (!value.empty() && !absl::SimpleAtoi(value, &s.expires_at_ms)) {
        return absl::InvalidArgumentError("bad expires_at_ms in session file");
      }
    }
  }
  if (s.server.empty() || s.token.empty()) {
    return absl::InvalidArgumentError(
        "session file has no server or token; run `unionctl login USER`");
  }
  return s;
}

absl::Status WriteSessionFile(const std::string& path, const Session& session) {
  ASSIGN_OR_RETURN(std::string text, SerializeSession(session));
  size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    RETURN_IF_ERROR(MakeDirs(path.substr(0, slash)));
  }
  int fd = open(path.c_str(),
                O_CREAT | O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("cannot write session file", path, errno);
  absl::Status status;
  if (fchmod(fd, 0600) != 0) {
    status = ErrnoError("cannot chmod session file", path, errno);
  }
  size_t done = 0;
  while (status.ok() && done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      status = ErrnoError("cannot write session file", path, errno);
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (close(fd) != 0 && status.ok()) {
    status = ErrnoError("cannot write session file", path, errno);
  }
  return status;
}

absl::StatusOr<Session> ReadSessionFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return absl::UnauthenticatedError(
          "not logged in: run `unionctl login USER`");
    }
    return ErrnoError("cannot read session file", path, errno);
  }
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return ErrnoError("cannot read session file", path, err);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > (1 << 16)) {
      close(fd);
      return absl::InvalidArgumentError(
          absl::StrCat("session file ", path, " is too large"));
    }
  }
  close(fd);
  return ParseSession(text);
}

bool SessionFileTooOpen(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0;
}

absl::Status RemoveSessionFile(const std::string& path) {
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError("cannot remove session file", path, errno);
  }
  return absl::OkStatus();
}

}  // namespace unionsync::cli
