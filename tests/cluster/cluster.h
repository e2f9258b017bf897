// A harness for multi-process cluster tests with the real binaries
// (unionsync-hub, unionsync-node): child processes started with fork+exec and
// stopped, killed (SIGKILL) and restarted on the same data directory; a
// development CA made by certs/*.sh; an Admin API client that logs in again
// after a restart; and a loopback TCP proxy between a child node and its
// parent's replication port that a test can cut and heal, so that links fail
// independently of processes.
//
// Every wait polls with a deadline; all traffic stays on 127.0.0.1.
#ifndef UNIONSYNC_TESTS_CLUSTER_CLUSTER_H_
#define UNIONSYNC_TESTS_CLUSTER_CLUSTER_H_

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "synth/synth.h"
#include "testing/shell.h"
#include "tls/tls.h"
#include "unionsync/v1/admin.grpc.pb.h"

namespace unionsync::cluster {

using namespace std::chrono_literals;

// Polls `done` every `poll` until it holds (true) or `timeout` passes (false).
bool WaitUntil(const std::function<bool()>& done,
               std::chrono::milliseconds timeout,
               std::chrono::milliseconds poll = 50ms);

using ::unionsync::testing::ShellQuote;  // tests/testing/shell.h

// The whole file, "" when it cannot be read.
std::string ReadFileOrEmpty(const std::string& path);

// Creates a development CA in `dir` (certs/make-ca.sh) and a certificate for
// each of `orgs` (certs/make-node-cert.sh), and each one's key file for
// personal data at rest (certs/make-node-keys.sh; one index key per `dir`).
// `certs_scripts` is the repository's certs/ directory.
absl::Status MakeCertificates(const std::string& certs_scripts,
                              const std::string& dir,
                              const std::vector<std::string>& orgs);

// The TLS files of `org` in a directory made by MakeCertificates.
TlsFiles TlsOf(const std::string& dir, const std::string& org);

// The key file (--key_file) of `org` in a directory made by MakeCertificates.
std::string KeyFileOf(const std::string& dir, const std::string& org);

// One child process: argv[0] is the binary, stdin is /dev/null, stdout and
// stderr are appended to `log_path`. The child gets SIGKILL when the thread
// that started it exits, so a crashed test leaves no processes behind.
// Not thread-safe.
class Process {
 public:
  Process() = default;
  ~Process();  // Kills the process if it still runs.
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  absl::Status Start(const std::vector<std::string>& argv,
                     const std::string& log_path);
  // True while the process runs (reaps it when it has exited).
  bool Running();
  // SIGKILL, then reaps it.
  void Kill();
  // SIGTERM; SIGKILL when it has not exited within `timeout`. Returns the exit
  // code (128 + signal when killed by a signal), or nullopt if none runs.
  std::optional<int> Stop(std::chrono::milliseconds timeout = 15s);
  // Waits up to `timeout` for the process to exit by itself; its exit code,
  // or nullopt when it still runs.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);
  pid_t pid() const { return pid_; }
  // The exit code of the last run that ended.
  std::optional<int> exit_code() const { return exit_code_; }

 private:
  void Reaped(int wait_status);
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// How to run one unionsync-hub or unionsync-node.
struct NodeSpec {
  std::string binary;
  std::string node_id;
  std::string dir;  // Holds data/, the log and the port files.
  TlsFiles tls;
  std::string key_file;   // --key_file; outside `dir`.
  bool repl_port = true;  // Serve a replication port (--repl_listen port 0).
  std::string parent_address;
  std::string parent_id;
  std::string bootstrap_name;  // Root only, first start.
  std::vector<std::string> extra_args;
};

// A unionsync-hub or unionsync-node process on its own data directory. Every
// start picks new ports (port 0) and waits for --port_file/--repl_port_file.
// The port accessors are thread-safe (0 while the process is down); the rest
// is not.
class NodeProcess {
 public:
  explicit NodeProcess(NodeSpec spec);
  ~NodeProcess() = default;

  absl::Status Start(std::chrono::milliseconds timeout = 30s);
  // kill -9: no shutdown, RocksDB is left as the crash left it.
  void Kill9();
  // SIGTERM and wait; the exit code.
  std::optional<int> Stop();
  bool Running() { return process_.Running(); }
  // True when the harness stopped or killed it after its last start (false
  // when it exited by itself).
  bool stopped_by_harness() const { return stopped_by_harness_; }

  int admin_port() const { return admin_port_.load(); }
  // The CA the node's Admin API certificate chains to ("" without TLS).
  const std::string& ca() const { return spec_.tls.ca_pem_path; }
  int repl_port() const { return repl_port_.load(); }
  std::string admin_address() const;
  std::string repl_address() const;
  std::string data_dir() const { return spec_.dir + "/data"; }
  std::string log_path() const { return spec_.dir + "/node.log"; }
  std::string Log() const { return ReadFileOrEmpty(log_path()); }
  // The last `bytes` of the log, for failure messages.
  std::string LogTail(size_t bytes = 3000) const;
  const std::string& id() const { return spec_.node_id; }
  const std::string& key_file() const { return spec_.key_file; }
  NodeSpec& spec() { return spec_; }
  Process& process() { return process_; }
  int starts() const { return starts_; }

 private:
  NodeSpec spec_;
  Process process_;
  std::atomic<int> admin_port_{0};
  std::atomic<int> repl_port_{0};
  int starts_ = 0;
  bool stopped_by_harness_ = false;
};

// The bootstrap password the root printed ("... initial password: <PW>").
absl::StatusOr<std::string> BootstrapPassword(const NodeProcess& root);

// The Admin API of one node through the generated stub, with a bounded
// deadline on every call. Thread-compatible.
class AdminClient {
 public:
  using Stub = v1::AdminService::Stub;
  // TLS checked against `ca_pem_path`; plaintext when it is empty.
  explicit AdminClient(int port, const std::string& ca_pem_path = "");

  template <typename Req, typename Resp>
  grpc::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*,
                                                 const Req&, Resp*),
                    const std::string& token, const Req& req,
                    Resp* resp = nullptr,
                    std::chrono::milliseconds timeout = 10s) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
    Resp local;
    return (stub_.get()->*method)(&ctx, req, resp != nullptr ? resp : &local);
  }

  grpc::Status Login(const std::string& user, const std::string& password,
                     v1::LoginResponse* resp);
  // Logs in with an initial password and changes it to `new_password`;
  // returns the session token (empty on failure, with `status` set).
  std::string Activate(const std::string& user, const std::string& initial,
                       const std::string& new_password, grpc::Status* status);
  int port() const { return port_; }

 private:
  int port_;
  std::unique_ptr<Stub> stub_;
};

// A logged-in user of one node that follows the node across restarts: a new
// client when the Admin port changed, a new login when the session is gone
// (sessions live in memory). Not thread-safe; one per thread.
class Session {
 public:
  Session(const NodeProcess* node, std::string user, std::string password)
      : node_(node), user_(std::move(user)), password_(std::move(password)) {}

  // Connected to the node's current port and logged in.
  grpc::Status Ensure();

  template <typename Req, typename Resp>
  grpc::Status Call(grpc::Status (AdminClient::Stub::*method)(
                        grpc::ClientContext*, const Req&, Resp*),
                    const Req& req, Resp* resp = nullptr,
                    std::chrono::milliseconds timeout = 10s) {
    grpc::Status s = Ensure();
    if (!s.ok()) return s;
    s = client_->Call(method, token_, req, resp, timeout);
    if (s.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
      token_.clear();
      s = Ensure();
      if (!s.ok()) return s;
      s = client_->Call(method, token_, req, resp, timeout);
    }
    return s;
  }

  // Closes the channel (the next call reconnects and logs in again).
  void Disconnect() {
    client_.reset();
    token_.clear();
  }

  // Subtree counters of `org` (GetSubtreeSummary).
  absl::StatusOr<v1::SubtreeCounters> Counters(const std::string& org);
  absl::StatusOr<v1::GetReplicationStatusResponse> ReplicationStatus();
  const std::string& user() const { return user_; }

 private:
  const NodeProcess* node_;
  const std::string user_;
  const std::string password_;
  std::unique_ptr<AdminClient> client_;
  std::string token_;
};

// "CODE: message".
std::string ToString(const grpc::Status& s);

// A member with valid synthetic data and the distinct ID number
// UniqueIdNumber(n), gender matching it; node-assigned fields left empty.
v1::Member SynthMember(SynthGenerator& gen, uint64_t n);

// A thread-based loopback TCP forwarder: accepts on 127.0.0.1 (port() is
// chosen at Start) and forwards each connection to 127.0.0.1:target. Cut()
// closes every forwarded connection and refuses new ones (accepted and closed
// at once) until Heal(). SetTarget() changes where new connections go (a
// restarted parent listens on a new port). Thread-safe.
class TcpProxy {
 public:
  TcpProxy() = default;
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  absl::Status Start(int target_port);
  void Stop();
  int port() const { return port_; }
  std::string address() const;
  void SetTarget(int port) { target_.store(port); }
  void Cut();
  void Heal();
  bool is_cut() const;
  // Connections forwarded so far.
  int64_t forwarded() const { return forwarded_.load(); }

 private:
  struct Pump {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  void AcceptLoop();
  void Forward(int a, int b, std::shared_ptr<std::atomic<bool>> done);
  void ShutdownAllLocked();

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> target_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> forwarded_{0};
  mutable std::mutex mu_;
  bool cut_ = false;           // Guarded by mu_.
  std::vector<int> live_fds_;  // Guarded by mu_: both ends of every pair.
  std::vector<Pump> pumps_;    // Accept thread only (and Stop after it).
  std::thread acceptor_;
};

}  // namespace unionsync::cluster

#endif  // UNIONSYNC_TESTS_CLUSTER_CLUSTER_H_
