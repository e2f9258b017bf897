#include "cluster/cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace unionsync::cluster {

bool WaitUntil(const std::function<bool()>& done,
               std::chrono::milliseconds timeout,
               std::chrono::milliseconds poll) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll);
  }
  return true;
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

absl::Status MakeCertificates(const std::string& certs_scripts,
                              const std::string& dir,
                              const std::vector<std::string>& orgs) {
  const std::string d = ShellQuote(dir);
  const std::string s = ShellQuote(certs_scripts);
  std::string script = absl::StrCat(s, "/make-ca.sh ", d);
  for (const std::string& org : orgs) {
    absl::StrAppend(&script, " && ", s, "/make-node-cert.sh ", d, " ",
                    ShellQuote(org), " && ", s, "/make-node-keys.sh ", d, " ",
                    ShellQuote(org));
  }
  const std::string cmd = absl::StrCat("bash -euo pipefail -c ",
                                       ShellQuote(script), " 2>/dev/null");
  const int rc = std::system(cmd.c_str());
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("'", cmd, "' exited with ", rc));
  }
  return absl::OkStatus();
}

TlsFiles TlsOf(const std::string& dir, const std::string& org) {
  TlsFiles t;
  t.ca_pem_path = dir + "/ca.pem";
  t.cert_pem_path = absl::StrCat(dir, "/", org, ".pem");
  t.key_pem_path = absl::StrCat(dir, "/", org, ".key");
  return t;
}

std::string KeyFileOf(const std::string& dir, const std::string& org) {
  return absl::StrCat(dir, "/", org, ".keys");
}

// ---------------------------------------------------------------------------
// Process

Process::~Process() { Kill(); }

absl::Status Process::Start(const std::vector<std::string>& argv,
                            const std::string& log_path) {
  if (pid_ > 0 && Running()) {
    return absl::FailedPreconditionError("the process is already running");
  }
  if (argv.empty()) return absl::InvalidArgumentError("empty argv");
  // Everything the child needs is prepared before fork: between fork and exec
  // only async-signal-safe calls are made.
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (std::string& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const int log_fd =
      open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot open ", log_path, ": ", std::strerror(errno)));
  }
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    close(log_fd);
    return absl::InternalError("cannot open /dev/null");
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    close(null_fd);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    // The stop signals may be blocked in the test's threads; unblock them.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    // No descriptor of the test process (sockets of proxies and channels)
    // leaks into the node.
    syscall(SYS_close_range, 3u, ~0u, 0u);
    execv(cargv[0], cargv.data());
    static const char kMsg[] = "cluster harness: execv failed\n";
    (void)!write(2, kMsg, sizeof(kMsg) - 1);
    _exit(127);
  }
  close(log_fd);
  close(null_fd);
  pid_ = pid;
  exit_code_.reset();
  return absl::OkStatus();
}

void Process::Reaped(int wait_status) {
  pid_ = -1;
  if (WIFEXITED(wait_status)) {
    exit_code_ = WEXITSTATUS(wait_status);
  } else if (WIFSIGNALED(wait_status)) {
    exit_code_ = 128 + WTERMSIG(wait_status);
  } else {
    exit_code_ = -1;
  }
}

bool Process::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == 0) return true;
  if (r == pid_) {
    Reaped(status);
  } else {
    pid_ = -1;
  }
  return false;
}

void Process::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  if (waitpid(pid_, &status, 0) == pid_) {
    Reaped(status);
  } else {
    pid_ = -1;
  }
}

std::optional<int> Process::WaitExit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return exit_code_;
  if (WaitUntil([&] { return !Running(); }, timeout, 10ms)) return exit_code_;
  return std::nullopt;
}

std::optional<int> Process::Stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  kill(pid_, SIGTERM);
  if (std::optional<int> code = WaitExit(timeout)) return code;
  Kill();
  return exit_code_;
}

// ---------------------------------------------------------------------------
// NodeProcess

NodeProcess::NodeProcess(NodeSpec spec) : spec_(std::move(spec)) {}

std::string NodeProcess::admin_address() const {
  return absl::StrCat("127.0.0.1:", admin_port());
}

std::string NodeProcess::repl_address() const {
  return absl::StrCat("127.0.0.1:", repl_port());
}

std::string NodeProcess::LogTail(size_t bytes) const {
  std::string log = Log();
  if (log.size() > bytes) log = "..." + log.substr(log.size() - bytes);
  return log;
}

namespace {

// The port written to `file`, 0 when it is not there (yet).
int ReadPortFile(const std::string& file) {
  std::string text = ReadFileOrEmpty(file);
  int port = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &port)) return 0;
  return port;
}

}  // namespace

absl::Status NodeProcess::Start(std::chrono::milliseconds timeout) {
  std::error_code ec;
  std::filesystem::create_directories(spec_.dir, ec);
  const std::string port_file = spec_.dir + "/admin.port";
  const std::string repl_port_file = spec_.dir + "/repl.port";
  std::filesystem::remove(port_file, ec);
  std::filesystem::remove(repl_port_file, ec);
  admin_port_ = 0;
  repl_port_ = 0;
  std::vector<std::string> argv = {
      spec_.binary,
      "--node_id=" + spec_.node_id,
      "--data_dir=" + data_dir(),
      "--listen=127.0.0.1:0",
      "--port_file=" + port_file,
      "--scrypt_log2_n=10",
  };
  if (!spec_.tls.cert_pem_path.empty()) {
    argv.push_back("--tls_ca=" + spec_.tls.ca_pem_path);
    argv.push_back("--tls_cert=" + spec_.tls.cert_pem_path);
    argv.push_back("--tls_key=" + spec_.tls.key_pem_path);
  } else {
    argv.push_back("--insecure_plaintext");
  }
  if (!spec_.key_file.empty()) {
    argv.push_back("--key_file=" + spec_.key_file);
  }
  if (spec_.repl_port) {
    argv.push_back("--repl_listen=127.0.0.1:0");
    argv.push_back("--repl_port_file=" + repl_port_file);
  }
  if (!spec_.parent_address.empty()) {
    argv.push_back("--parent_address=" + spec_.parent_address);
    argv.push_back("--parent_id=" + spec_.parent_id);
  }
  if (!spec_.bootstrap_name.empty()) {
    argv.push_back("--bootstrap_name=" + spec_.bootstrap_name);
  }
  for (const std::string& a : spec_.extra_args) argv.push_back(a);
  {
    std::ofstream log(log_path(), std::ios::app);
    log << "\n=== cluster harness: start #" << starts_ + 1 << " of "
        << spec_.node_id << " ===" << std::endl;
  }
  if (absl::Status s = process_.Start(argv, log_path()); !s.ok()) return s;
  ++starts_;
  stopped_by_harness_ = false;
  int admin = 0;
  int repl = 0;
  bool exited = false;
  const bool up = WaitUntil(
      [&] {
        admin = ReadPortFile(port_file);
        repl = spec_.repl_port ? ReadPortFile(repl_port_file) : 0;
        if (admin != 0 && (repl != 0 || !spec_.repl_port)) return true;
        exited = !process_.Running();
        return exited;
      },
      timeout, 10ms);
  if (!up || exited) {
    const std::optional<int> code = process_.exit_code();
    if (!exited) process_.Kill();
    return absl::UnavailableError(
        absl::StrCat(spec_.node_id, " did not start (",
                     exited ? absl::StrCat("exited with ", code.value_or(-1))
                            : "no port files before the deadline",
                     "); log:\n", LogTail()));
  }
  admin_port_ = admin;
  repl_port_ = repl;
  return absl::OkStatus();
}

void NodeProcess::Kill9() {
  stopped_by_harness_ = true;
  admin_port_ = 0;
  repl_port_ = 0;
  process_.Kill();
}

std::optional<int> NodeProcess::Stop() {
  stopped_by_harness_ = true;
  admin_port_ = 0;
  repl_port_ = 0;
  const auto start = std::chrono::steady_clock::now();
  std::optional<int> code = process_.Stop();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  std::ofstream log(log_path(), std::ios::app);
  log << "=== cluster harness: " << spec_.node_id << " stopped in " << ms
      << " ms, exit code " << code.value_or(-1) << " ===" << std::endl;
  return code;
}

absl::StatusOr<std::string> BootstrapPassword(const NodeProcess& root) {
  const std::string log = root.Log();
  const std::string kMarker = "initial password: ";
  const size_t at = log.find(kMarker);
  if (at == std::string::npos) {
    return absl::NotFoundError(
        absl::StrCat("no bootstrap password in the log of ", root.id(), ":\n",
                     root.LogTail()));
  }
  const size_t from = at + kMarker.size();
  size_t end = from;
  while (end < log.size() &&
         !std::isspace(static_cast<unsigned char>(log[end])))
    ++end;
  return log.substr(from, end - from);
}

// ---------------------------------------------------------------------------
// AdminClient, Session

namespace {
std::shared_ptr<grpc::ChannelCredentials> CredentialsFor(
    const std::string& ca_pem_path) {
  if (ca_pem_path.empty()) return grpc::InsecureChannelCredentials();
  auto creds = MakeClientTlsCredentials(ca_pem_path);
  return creds.ok() ? *creds : grpc::InsecureChannelCredentials();
}
}  // namespace

AdminClient::AdminClient(int port, const std::string& ca_pem_path)
    : port_(port),
      stub_(v1::AdminService::NewStub(
          grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                              CredentialsFor(ca_pem_path)))) {}

grpc::Status AdminClient::Login(const std::string& user,
                                const std::string& password,
                                v1::LoginResponse* resp) {
  v1::LoginRequest req;
  req.set_username(user);
  req.set_password(password);
  return Call(&Stub::Login, "", req, resp);
}

std::string AdminClient::Activate(const std::string& user,
                                  const std::string& initial,
                                  const std::string& new_password,
                                  grpc::Status* status) {
  v1::LoginResponse session;
  *status = Login(user, initial, &session);
  if (!status->ok()) return "";
  if (!session.must_change_password()) {
    *status = grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                           user + ": the initial password needs no change?");
    return "";
  }
  v1::ChangePasswordRequest change;
  change.set_old_password(initial);
  change.set_new_password(new_password);
  *status = Call(&Stub::ChangePassword, session.token(), change);
  if (!status->ok()) return "";
  return session.token();
}

grpc::Status Session::Ensure() {
  const int port = node_->admin_port();
  if (port == 0) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        node_->id() + " is not running");
  }
  if (client_ == nullptr || client_->port() != port) {
    client_ = std::make_unique<AdminClient>(port, node_->ca());
    token_.clear();
  }
  if (!token_.empty()) return grpc::Status::OK;
  v1::LoginResponse resp;
  grpc::Status s = client_->Login(user_, password_, &resp);
  if (!s.ok()) return s;
  token_ = resp.token();
  return grpc::Status::OK;
}

absl::StatusOr<v1::SubtreeCounters> Session::Counters(const std::string& org) {
  v1::GetSubtreeSummaryRequest req;
  req.set_org_id(org);
  v1::GetSubtreeSummaryResponse resp;
  grpc::Status s = Call(&AdminClient::Stub::GetSubtreeSummary, req, &resp);
  if (!s.ok()) {
    return absl::Status(
        static_cast<absl::StatusCode>(s.error_code()),
        absl::StrCat(user_, "@", node_->id(), ": ", s.error_message()));
  }
  return resp.counters();
}

absl::StatusOr<v1::GetReplicationStatusResponse> Session::ReplicationStatus() {
  v1::GetReplicationStatusResponse resp;
  grpc::Status s = Call(&AdminClient::Stub::GetReplicationStatus,
                        v1::GetReplicationStatusRequest(), &resp);
  if (!s.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                        s.error_message());
  }
  return resp;
}

std::string ToString(const grpc::Status& s) {
  return absl::StrCat(static_cast<int>(s.error_code()), ": ",
                      s.error_message());
}

v1::Member SynthMember(SynthGenerator& gen, uint64_t n) {
  v1::Member m = gen.Member("");
  m.set_id_number(UniqueIdNumber(n));
  // GB 11643: the 17th character is odd for men.
  const int digit = m.id_number()[16] - '0';
  m.set_gender(digit % 2 == 1 ? v1::MALE : v1::FEMALE);
  return m;
}

// ---------------------------------------------------------------------------
// TcpProxy

namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  return a;
}

// A connected socket to 127.0.0.1:port, or -1.
int ConnectLoopback(int port) {
  if (port <= 0) return -1;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a = Loopback(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    const ssize_t w = send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

TcpProxy::~TcpProxy() { Stop(); }

absl::Status TcpProxy::Start(int target_port) {
  target_ = target_port;
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return absl::InternalError("socket");
  const int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a = Loopback(0);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      listen(listen_fd_, 64) != 0) {
    close(listen_fd_);
    listen_fd_ = -1;
    return absl::InternalError(absl::StrCat("bind/listen: ", strerror(errno)));
  }
  socklen_t len = sizeof(a);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
  return absl::OkStatus();
}

std::string TcpProxy::address() const {
  return absl::StrCat("127.0.0.1:", port_);
}

void TcpProxy::ShutdownAllLocked() {
  for (int fd : live_fds_) shutdown(fd, SHUT_RDWR);
}

void TcpProxy::Cut() {
  std::lock_guard<std::mutex> lock(mu_);
  cut_ = true;
  ShutdownAllLocked();
}

void TcpProxy::Heal() {
  std::lock_guard<std::mutex> lock(mu_);
  cut_ = false;
}

bool TcpProxy::is_cut() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cut_;
}

void TcpProxy::Stop() {
  if (listen_fd_ < 0) return;
  stop_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ShutdownAllLocked();
  }
  if (acceptor_.joinable()) acceptor_.join();
  for (Pump& p : pumps_) p.thread.join();
  pumps_.clear();
  close(listen_fd_);
  listen_fd_ = -1;
}

void TcpProxy::AcceptLoop() {
  while (!stop_) {
    // Join the pumps whose connection ended (bounded thread count).
    for (auto it = pumps_.begin(); it != pumps_.end();) {
      if (it->done->load()) {
        it->thread.join();
        it = pumps_.erase(it);
      } else {
        ++it;
      }
    }
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    if (is_cut()) {
      close(client);  // Refused while cut.
      continue;
    }
    const int upstream = ConnectLoopback(target_.load());
    if (upstream < 0) {
      close(client);  // The parent is down.
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (cut_ || stop_) {
        close(client);
        close(upstream);
        continue;
      }
      live_fds_.push_back(client);
      live_fds_.push_back(upstream);
    }
    ++forwarded_;
    auto done = std::make_shared<std::atomic<bool>>(false);
    pumps_.push_back(Pump{std::thread([this, client, upstream, done] {
                            Forward(client, upstream, done);
                          }),
                          done});
  }
}

void TcpProxy::Forward(int a, int b, std::shared_ptr<std::atomic<bool>> done) {
  std::vector<char> buf(64 * 1024);
  bool open = true;
  while (open && !stop_) {
    pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    const int r = poll(p, 2, 100);
    if (r < 0 && errno != EINTR) break;
    for (int i = 0; i < 2 && open; ++i) {
      if (p[i].revents == 0) continue;
      const int from = i == 0 ? a : b;
      const int to = i == 0 ? b : a;
      const ssize_t n = recv(from, buf.data(), buf.size(), 0);
      if (n <= 0 || !SendAll(to, buf.data(), static_cast<size_t>(n))) {
        open = false;
      }
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    live_fds_.erase(std::remove_if(live_fds_.begin(), live_fds_.end(),
                                   [&](int fd) { return fd == a || fd == b; }),
                    live_fds_.end());
  }
  shutdown(a, SHUT_RDWR);
  shutdown(b, SHUT_RDWR);
  close(a);
  close(b);
  done->store(true);
}

}  // namespace unionsync::cluster
