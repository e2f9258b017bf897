// A running node: its store, the Admin layer and the gRPC server that exposes
// them with health checking and server reflection, and replication: a
// mutual-TLS replication port for child nodes (node/replication_service.h), an
// uplink to the parent node (node/uplink.h), and the LinkWorker thread that
// drives both (node/link_worker.h).
//
// The Admin API and replication are separate gRPC servers: the Admin API on
// `listen` (TLS with the node's certificate; plaintext only with
// `insecure_plaintext` on loopback), replication on `repl_listen` with mutual
// TLS only. Nothing in the Admin path waits for replication.
#ifndef UNIONSYNC_NODE_NODE_SERVER_H_
#define UNIONSYNC_NODE_NODE_SERVER_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/clock.h"
#include "common/log.h"
#include "node/admin.h"
#include "node/backups.h"
#include "node/rpc_metrics.h"
#include "repl/link_core.h"
#include "store/store.h"
#include "tls/tls.h"
#include "unionsync/v1/monitor.pb.h"

namespace grpc {
class Server;
class Service;
}  // namespace grpc

namespace unionsync {

class Dashboard;
class DashboardBackend;
class Exporter;
class Importer;
class LinkWorker;
class DuesLedger;
class Monitor;
class Reconciler;
class WarningEvaluator;
class ReplicationService;
class Uplink;

struct NodeOptions {
  std::string node_id;
  std::string data_dir;
  std::string listen = "127.0.0.1:7400";  // Port 0 picks a free port.
  AdminOptions admin;
  const Clock* clock = nullptr;  // Defaults to the system clock.
  // Largest Admin request accepted, in bytes; larger ones fail with
  // RESOURCE_EXHAUSTED.
  int max_request_bytes = 1 << 20;

  // Replication port for child nodes (mutual TLS); empty: none. Port 0 picks
  // a free port (see repl_port()).
  std::string repl_listen;
  // This node's certificate, key and CA. Required with a replication port or
  // a parent; the certificate must name `node_id`.
  TlsFiles tls;
  // The parent node's replication address and organisation id (its
  // certificate must name it); both empty: no parent.
  std::string parent_address;
  std::string parent_id;
  repl::LinkConfig link;

  // Every node serves the Monitor API (progress, warnings) for its subtree on
  // `listen`. A hub also reconciles what arrives and evaluates the warning
  // rules of `campaign` (monitor/campaign.h; DefaultCampaign() when its name
  // is empty).
  bool hub = false;
  v1::CampaignConfig campaign;
  // Web dashboard address (dashboard/), e.g. "127.0.0.1:8080"; empty: none.
  std::string dashboard_listen;
  // Development only: serve the Admin API and the dashboard in plain text.
  // Refused unless both listen on loopback (docs/SECURITY.md).
  bool insecure_plaintext = false;
  // Maintain progress aggregates (turned off only to measure their cost).
  bool track_progress = true;
  // Keys for personal data at rest (vault/vault.h, --key_file); required.
  std::shared_ptr<const Vault> vault;
  // Backups of the store (node/backups.h, --backup_dir); none when unset.
  std::optional<NodeBackupOptions> backup;
};

// The gRPC health service (grpc.health.v1) of the Admin API's port answers
// for the node ("": SERVING once it serves, NOT_SERVING from shutdown on)
// and, on a node with a parent, for kParentHealthService: SERVING while the
// link to the parent streams (updated every 5 s).
inline constexpr char kParentHealthService[] = "unionsync.parent";

// Thread-safety: the accessors and replication queries are thread-safe.
class NodeServer final : public ReplicationControl {
 public:
  // Checks the options and TLS files, opens the store and starts serving.
  // INVALID_ARGUMENT for incomplete options (e.g. a replication port without
  // TLS files), FAILED_PRECONDITION when the certificate names another
  // organisation than `node_id`.
  static absl::StatusOr<std::unique_ptr<NodeServer>> Start(
      const NodeOptions& options);
  ~NodeServer() override;

  int port() const { return port_; }
  // The bound replication port; 0 when there is none.
  int repl_port() const { return repl_port_; }
  Store& store() { return *store_; }
  Admin& admin() { return *admin_; }
  Monitor& monitor() { return *monitor_; }
  DuesLedger& dues() { return *dues_; }
  // The hub's reconciler and rule evaluator; null on other nodes.
  Reconciler* reconciler() { return reconciler_.get(); }
  WarningEvaluator* evaluator() { return evaluator_.get(); }
  // The bound dashboard port; 0 when there is none.
  int dashboard_port() const;

  // Replication state of every link (children, then the uplink); empty when
  // the node does not replicate.
  std::vector<repl::LinkStats> LinkStatus() const;
  // Forgets the checkpoint of the child node `child` and closes its stream,
  // so it reconnects and resends everything from the start (duplicates are
  // dropped on apply). NOT_FOUND for a node that is not a child of this one;
  // FAILED_PRECONDITION when the node has no replication port.
  absl::Status ForceResync(const std::string& child) override;
  // The parent holds this node's audit chain up to `audit_seq` (at most 5 s
  // of waiting); OK at once without a parent.
  absl::Status ConfirmAuditHeld(uint64_t audit_seq) override;
  // LinkStatus() and denied_links() for the Admin API (ReplicationControl).
  v1::GetReplicationStatusResponse ReplicationStatus() override;
  // Replication links refused (PERMISSION_DENIED / UNAUTHENTICATED; each one
  // is audited).
  int64_t denied_links() const;

  // Blocks until Shutdown.
  void Wait();
  // Stops replication, then both servers. Idempotent; thread-safe.
  void Shutdown();

 private:
  NodeServer();
  // Sets kParentHealthService from the uplink's state.
  void UpdateHealth();
  int port_ = 0;
  int repl_port_ = 0;
  const Clock* clock_ = nullptr;
  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
  // Declaration order is destruction order reversed: servers go before the
  // services and the worker they call, the store last.
  std::atomic<bool> replication_started_{false};
  // Latency by method of every call both servers serve (for /metrics).
  std::unique_ptr<RpcMetrics> rpc_metrics_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Admin> admin_;
  std::unique_ptr<NodeBackups> backups_;
  std::unique_ptr<Reconciler> reconciler_;
  std::unique_ptr<WarningEvaluator> evaluator_;
  std::unique_ptr<Monitor> monitor_;
  std::unique_ptr<DuesLedger> dues_;
  std::unique_ptr<Importer>
      importer_;  // Spools uploads in <data_dir>/import-spool.
  std::unique_ptr<DashboardBackend> dashboard_backend_;
  std::unique_ptr<Dashboard> dashboard_;
  std::unique_ptr<grpc::Service> admin_service_;
  std::unique_ptr<grpc::Service> monitor_service_;
  std::unique_ptr<grpc::Service> ingest_service_;
  std::unique_ptr<Exporter> exporter_;
  std::unique_ptr<grpc::Service> export_service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Uplink> uplink_;
  std::unique_ptr<LinkWorker> worker_;
  std::unique_ptr<ReplicationService> repl_service_;
  std::unique_ptr<grpc::Server> repl_server_;
  // Writes the summaries of throttled audit entries every few seconds.
  absl::Notification stop_housekeeping_;
  std::thread housekeeping_;
};

// The root organisation a node creates on its first start (Admin::Bootstrap).
struct BootstrapOptions {
  std::string name;
  std::string kind = "city_federation";  // As ParseOrgKind reads it.
  int tier = 1;
  std::string region;
  std::string admin = "admin";
};

// What the node and hub executables do once their flags are parsed: block
// SIGINT/SIGTERM, start the node, bootstrap its root organisation if asked
// (printing the administrator's initial password once), print the ports,
// write them to `port_file` / `repl_port_file` when set, and serve until a
// signal arrives. Returns the process exit code.
struct ServeOptions {
  std::string program;  // For messages, e.g. "unionsync-node".
  NodeOptions node;
  std::optional<BootstrapOptions> bootstrap;
  std::string port_file;
  std::string repl_port_file;
  std::string dashboard_port_file;
  // Reseal the store (Store::Reseal) and exit instead of serving.
  bool reseal_only = false;
  // The process's log (node_id is filled in from node.node_id).
  LogOptions log;
};
// Serves until SIGINT or SIGTERM (or reseals and returns); the exit code.
int ServeUntilSignal(const ServeOptions& options);

}  // namespace unionsync

#endif  // UNIONSYNC_NODE_NODE_SERVER_H_
