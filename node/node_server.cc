#include "node/node_server.h"

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/crypto.h"
#include "common/org_rules.h"
#include "common/password_policy.h"
#include "common/status_macros.h"
#include "dashboard/dashboard.h"
#include "dues/ledger.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/impl/codegen/service_type.h"
#include "monitor/campaign.h"
#include "monitor/evaluator.h"
#include "monitor/monitor.h"
#include "monitor/reconciler.h"
#include "node/admin_service.h"
#include "node/decode_errors.h"
#include "node/export_service.h"
#include "node/exporter.h"
#include "node/importer.h"
#include "node/ingest_service.h"
#include "node/link_worker.h"
#include "node/monitor_service.h"
#include "node/replication_service.h"
#include "node/uplink.h"
#include "node/web_api.h"
#include "vault/vault.h"

namespace unionsync {
namespace {

constexpr int kMaxReplicationMessageBytes = 64 << 20;

// The Admin API's options, with the campaign's industry systems as the list a
// new child's system is chosen from.
AdminOptions AdminOptionsFor(const NodeOptions& options,
                             const v1::CampaignConfig& campaign) {
  AdminOptions admin = options.admin;
  for (const v1::AreaTarget& a : campaign.areas()) {
    if (!absl::StartsWith(a.scope(), "system:")) continue;
    const std::string code = a.scope().substr(7);
    std::string label = a.label().empty() ? DefaultLabel(a.scope()) : a.label();
    admin.systems.emplace_back(code, label.empty() ? code : label);
  }
  return admin;
}

const char* LinkStateName(repl::LinkState state) {
  switch (state) {
    case repl::LinkState::kIdle:
      return "idle";
    case repl::LinkState::kHandshaking:
      return "handshaking";
    case repl::LinkState::kStreaming:
      return "streaming";
    case repl::LinkState::kClosed:
      return "closed";
  }
  return "unknown";
}

const char* DigestStateName(repl::DigestState state) {
  switch (state) {
    case repl::DigestState::kUnknown:
      return "unknown";
    case repl::DigestState::kChecking:
      return "checking";
    case repl::DigestState::kAgree:
      return "agree";
    case repl::DigestState::kDiffer:
      return "differ";
    case repl::DigestState::kRepairing:
      return "repairing";
  }
  return "unknown";
}

absl::Status CheckReplicationOptions(const NodeOptions& o) {
  if (o.parent_address.empty() != o.parent_id.empty()) {
    return absl::InvalidArgumentError(
        "a parent needs both its address (--parent_address) and its "
        "organisation id (--parent_id)");
  }
  if (!o.parent_id.empty() && o.parent_id == o.node_id) {
    return absl::InvalidArgumentError("a node cannot be its own parent");
  }
  const bool replicates = !o.repl_listen.empty() || !o.parent_address.empty();
  const bool has_tls = !o.tls.ca_pem_path.empty() &&
                       !o.tls.cert_pem_path.empty() &&
                       !o.tls.key_pem_path.empty();
  if (replicates && !has_tls) {
    return absl::InvalidArgumentError(
        "replication (a replication port or a parent) runs over mutual TLS "
        "only: give the CA, the node's certificate and its key (--tls_ca, "
        "--tls_cert, --tls_key)");
  }
  if (!o.tls.cert_pem_path.empty()) {
    // Peers know this node by the organisation in its certificate; a store
    // that believes it is another node would author records under the wrong
    // origin.
    ASSIGN_OR_RETURN(std::string cert_id,
                     OrgIdFromCertificateFile(o.tls.cert_pem_path));
    if (cert_id != o.node_id) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the certificate ", o.tls.cert_pem_path, " is for organisation '",
          cert_id, "' but this node is '", o.node_id, "'"));
    }
  }
  return absl::OkStatus();
}

// The web server's view of the node: the workbench's calls through WebApi
// (the same domain objects as the gRPC API), and /metrics for operators.
class NodeDashboardBackend final : public DashboardBackend {
 public:
  NodeDashboardBackend(Admin* admin, Monitor* monitor, Exporter* exporter,
                       Importer* importer, DuesLedger* dues,
                       NodeBackups* backups, RpcMetrics* rpc_metrics,
                       std::string node_id)
      : admin_(admin),
        monitor_(monitor),
        backups_(backups),
        rpc_metrics_(rpc_metrics),
        node_id_(std::move(node_id)),
        web_api_(admin, monitor, exporter, importer, dues) {}

  absl::Status AuthorizeMetrics(const std::string& authorization,
                                const std::string& session_token,
                                const std::string& peer) override {
    std::string token = session_token;
    absl::string_view header = authorization;
    if (absl::ConsumePrefix(&header, "Bearer ")) {
      token = std::string(header);
    } else if (absl::ConsumePrefix(&header, "Basic ")) {
      std::string decoded;
      if (!absl::Base64Unescape(header, &decoded)) {
        return absl::UnauthenticatedError("malformed Basic credentials");
      }
      const size_t colon = decoded.find(':');
      if (colon == std::string::npos) {
        return absl::UnauthenticatedError("malformed Basic credentials");
      }
      // A scraper sends the same credentials every few seconds: keep the
      // session they opened instead of a login (and an audit entry) each time.
      const std::string key = Sha256(decoded);
      {
        absl::MutexLock lock(&mu_);
        auto it = scraper_sessions_.find(key);
        if (it != scraper_sessions_.end()) token = it->second;
      }
      if (token.empty() || !Check(token, peer).ok()) {
        v1::LoginRequest req;
        req.set_username(decoded.substr(0, colon));
        req.set_password(decoded.substr(colon + 1));
        ASSIGN_OR_RETURN(v1::LoginResponse resp,
                         admin_->Login(CallContext{"", peer}, req));
        token = resp.token();
        absl::MutexLock lock(&mu_);
        if (scraper_sessions_.size() > 64) scraper_sessions_.clear();
        scraper_sessions_[key] = token;
      }
    }
    if (token.empty()) {
      return absl::UnauthenticatedError(
          "metrics are for operators: log in, or send an operator's "
          "credentials (HTTP Basic or a Bearer session token)");
    }
    return Check(token, peer);
  }
  std::string MetricsText() override {
    std::string text = monitor_->MetricsText();
    if (backups_ != nullptr) text += backups_->MetricsText();
    text += rpc_metrics_->MetricsText();
    text += web_calls_.MetricsText();
    return text;
  }
  absl::StatusOr<std::string> CallJson(const RequestContext& ctx,
                                       const std::string& method,
                                       const std::string& json) override {
    const absl::Time start = absl::Now();
    absl::StatusOr<std::string> result = web_api_.Call(ctx, method, json);
    // Only endpoints get a series: a made-up name must not make new ones.
    if (web_api_.Has(method)) {
      web_calls_.Record(method, static_cast<int>(result.status().code()),
                        absl::Now() - start);
    }
    return result;
  }
  absl::StatusOr<std::unique_ptr<WebUpload>> BeginUpload(
      const RequestContext& ctx, const std::string& method,
      const std::string& options_json) override {
    return web_api_.BeginUpload(ctx, method, options_json);
  }

 private:
  absl::Status Check(const std::string& token, const std::string& peer) {
    ASSIGN_OR_RETURN(
        Viewer viewer,
        admin_->Authenticate(RequestContext{token, peer}, "Metrics"));
    if (viewer.org_id != node_id_) {
      return absl::PermissionDeniedError(
          "metrics are for the operators of the node's own organisation");
    }
    return absl::OkStatus();
  }

  Admin* admin_;
  Monitor* monitor_;
  NodeBackups* backups_;  // May be null.
  RpcMetrics* rpc_metrics_;
  std::string node_id_;
  WebApi web_api_;
  RpcMetrics web_calls_{"web_call", "workbench JSON call"};
  absl::Mutex mu_;
  // SHA-256 of "user:password" -> the session it opened.
  absl::flat_hash_map<std::string, std::string> scraper_sessions_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<NodeServer>> NodeServer::Start(
    const NodeOptions& options) {
  RETURN_IF_ERROR(CheckReplicationOptions(options));
  // Credentials first: a bad TLS file stops the node before it opens anything.
  std::shared_ptr<grpc::ServerCredentials> repl_creds;
  if (!options.repl_listen.empty()) {
    ASSIGN_OR_RETURN(repl_creds, MakeServerCredentials(options.tls));
  }
  // Every port people use speaks TLS (docs/SECURITY.md); plaintext only
  // behind the development flag, and only on loopback.
  std::shared_ptr<grpc::ServerCredentials> admin_creds;
  if (options.insecure_plaintext) {
    RETURN_IF_ERROR(RequireLoopback(options.listen, "--listen"));
    if (!options.dashboard_listen.empty()) {
      RETURN_IF_ERROR(
          RequireLoopback(options.dashboard_listen, "--web_listen"));
    }
    admin_creds = grpc::InsecureServerCredentials();
  } else if (options.tls.cert_pem_path.empty() ||
             options.tls.key_pem_path.empty() ||
             options.tls.ca_pem_path.empty()) {
    return absl::InvalidArgumentError(
        "the Admin API and the web pages serve TLS only: give the node's CA, "
        "certificate and key (--tls_ca, --tls_cert, --tls_key), or "
        "--insecure_plaintext on a loopback address for development");
  } else {
    ASSIGN_OR_RETURN(admin_creds, MakeServerTlsCredentials(options.tls));
  }
  RETURN_IF_ERROR(CheckPasswordDictionary());
  auto node = std::unique_ptr<NodeServer>(new NodeServer());
  node->rpc_metrics_ = std::make_unique<RpcMetrics>();
  if (!options.parent_address.empty()) {
    UplinkOptions uplink;
    uplink.parent_address = options.parent_address;
    uplink.parent_id = options.parent_id;
    uplink.tls = options.tls;
    ASSIGN_OR_RETURN(node->uplink_, Uplink::Create(std::move(uplink)));
  }

  const Clock* clock =
      options.clock != nullptr ? options.clock : SystemClock::Default();
  v1::CampaignConfig campaign =
      options.campaign.name().empty() ? DefaultCampaign() : options.campaign;
  FillRuleDefaults(campaign.mutable_rules());
  RETURN_IF_ERROR(ValidateCampaign(campaign));
  StoreOptions store_options;
  store_options.entered = campaign.entered();
  store_options.path = options.data_dir;
  store_options.node_id = options.node_id;
  store_options.clock = clock;
  store_options.track_progress = options.track_progress;
  store_options.vault = options.vault;
  ASSIGN_OR_RETURN(node->store_, Store::Open(store_options));
  node->clock_ = clock;
  node->admin_ = std::make_unique<Admin>(node->store_.get(), clock,
                                         AdminOptionsFor(options, campaign));
  node->admin_service_ = NewAdminService(node->admin_.get());
  if (options.backup.has_value()) {
    ASSIGN_OR_RETURN(node->backups_,
                     NodeBackups::Start(node->store_.get(), *options.backup));
    node->admin_->SetBackups(node->backups_.get());
  }

  NodeServer* raw = node.get();
  auto links = [raw] { return raw->LinkStatus(); };
  if (options.hub) {
    node->reconciler_ = std::make_unique<Reconciler>(node->store_.get(), clock);
    EvaluatorOptions eval;
    eval.campaign = campaign;
    eval.link_status = links;
    eval.reconciler = node->reconciler_.get();
    // Heartbeats from below come with the children's first probes, one
    // probe interval per tier at most once the links have caught up.
    eval.node_rules_from_ms =
        clock->NowMs() + 5 * options.link.probe_interval_ms;
    node->evaluator_ =
        std::make_unique<WarningEvaluator>(node->store_.get(), clock, eval);
  }
  MonitorOptions monitor_options;
  monitor_options.campaign = campaign;
  monitor_options.link_status = links;
  monitor_options.reconciler = node->reconciler_.get();
  node->monitor_ = std::make_unique<Monitor>(
      node->store_.get(), clock, node->admin_.get(), monitor_options);
  DuesOptions dues_options;
  dues_options.campaign = campaign;
  dues_options.hub = node->reconciler_ != nullptr;
  node->dues_ = std::make_unique<DuesLedger>(
      node->store_.get(), clock, node->admin_.get(), std::move(dues_options));
  node->monitor_service_ =
      NewMonitorService(node->monitor_.get(), node->dues_.get());
  ImporterOptions importer_options;
  importer_options.systems = AdminOptionsFor(options, campaign).systems;
  importer_options.spool_dir = options.data_dir + "/import-spool";
  node->importer_ = std::make_unique<Importer>(
      node->store_.get(), clock, node->admin_.get(), importer_options);
  RETURN_IF_ERROR(node->importer_->Init());
  node->ingest_service_ = NewIngestService(node->importer_.get());
  node->exporter_ =
      std::make_unique<Exporter>(node->store_.get(), clock, node->admin_.get());
  node->export_service_ = NewExportService(node->exporter_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // The Admin API speaks TLS with the node's certificate (people log in);
  // node-to-node links use mutual TLS on their own server below.
  builder.AddListeningPort(options.listen, admin_creds, &node->port_);
  // No SO_REUSEPORT: a second process on a taken port fails to start instead
  // of silently sharing it.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  {
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        interceptors;
    interceptors.push_back(node->rpc_metrics_->NewInterceptorFactory());
    interceptors.push_back(NewDecodeErrorInterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
  }
  builder.SetMaxReceiveMessageSize(options.max_request_bytes);
  builder.RegisterService(node->admin_service_.get());
  builder.RegisterService(node->monitor_service_.get());
  builder.RegisterService(node->ingest_service_.get());
  builder.RegisterService(node->export_service_.get());
  node->server_ = builder.BuildAndStart();
  if (node->server_ == nullptr || node->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen));
  }
  {
    NodeServer* self = node.get();
    node->housekeeping_ = std::thread([self] {
      do {
        (void)self->admin_->FlushSuppressedAudit();
        self->UpdateHealth();
      } while (!self->stop_housekeeping_.WaitForNotificationWithTimeout(
          absl::Seconds(5)));
    });
  }
  if (node->reconciler_ != nullptr) node->reconciler_->Start();
  if (node->evaluator_ != nullptr) node->evaluator_->Start();
  if (!options.dashboard_listen.empty()) {
    node->dashboard_backend_ = std::make_unique<NodeDashboardBackend>(
        node->admin_.get(), node->monitor_.get(), node->exporter_.get(),
        node->importer_.get(), node->dues_.get(), node->backups_.get(),
        node->rpc_metrics_.get(), options.node_id);
    DashboardOptions dashboard;
    dashboard.listen = options.dashboard_listen;
    if (!options.insecure_plaintext) {
      dashboard.tls_cert_pem_path = options.tls.cert_pem_path;
      dashboard.tls_key_pem_path = options.tls.key_pem_path;
    }
    ASSIGN_OR_RETURN(
        node->dashboard_,
        Dashboard::Start(dashboard, node->dashboard_backend_.get()));
  }

  if (options.repl_listen.empty() && node->uplink_ == nullptr) {
    node->admin_->SetReplicationControl(node.get());
    return node;
  }

  LinkWorkerOptions worker_options;
  worker_options.node_id = options.node_id;
  worker_options.link = options.link;
  node->worker_ = std::make_unique<LinkWorker>(
      node->store_.get(), clock, worker_options, node->uplink_.get());
  if (!options.repl_listen.empty()) {
    node->repl_service_ =
        std::make_unique<ReplicationService>(node->worker_->events());
    grpc::ServerBuilder repl;
    repl.AddListeningPort(options.repl_listen, repl_creds, &node->repl_port_);
    repl.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);  // As above.
    {
      std::vector<std::unique_ptr<
          grpc::experimental::ServerInterceptorFactoryInterface>>
          interceptors;
      interceptors.push_back(node->rpc_metrics_->NewInterceptorFactory());
      repl.experimental().SetInterceptorCreators(std::move(interceptors));
    }
    // Children ping every 10 s, also between batches: accept that instead of
    // answering with GOAWAY "too_many_pings".
    repl.AddChannelArgument(
        GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5'000);
    repl.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
    repl.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    // And ping them too, so a child that vanished (power loss, a dropped NAT
    // mapping) does not leave a half-open stream looking alive here.
    repl.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 30'000);
    repl.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
    repl.SetMaxReceiveMessageSize(kMaxReplicationMessageBytes);
    repl.RegisterService(node->repl_service_.get());
    node->repl_server_ = repl.BuildAndStart();
    if (node->repl_server_ == nullptr || node->repl_port_ == 0) {
      return absl::UnavailableError(absl::StrCat(
          "cannot listen for replication on ", options.repl_listen));
    }
  }
  node->worker_->Start();
  node->replication_started_ = true;
  // Only now may Admin calls reach the replication members (the Admin server
  // is already serving on other threads).
  node->admin_->SetReplicationControl(node.get());
  return node;
}

NodeServer::NodeServer() = default;
NodeServer::~NodeServer() { Shutdown(); }

int NodeServer::dashboard_port() const {
  return dashboard_ != nullptr ? dashboard_->port() : 0;
}

std::vector<repl::LinkStats> NodeServer::LinkStatus() const {
  if (!replication_started_ || worker_ == nullptr) return {};
  return worker_->LinkStatus();
}

absl::Status NodeServer::ForceResync(const std::string& child) {
  if (worker_ == nullptr || repl_server_ == nullptr) {
    return absl::FailedPreconditionError(
        "this node has no replication port: it has no child nodes");
  }
  return worker_->ForceResync(child);
}

absl::Status NodeServer::ConfirmAuditHeld(uint64_t audit_seq) {
  if (uplink_ == nullptr) return absl::OkStatus();
  if (!replication_started_ || worker_ == nullptr) {
    return absl::UnavailableError("replication to the parent is not running");
  }
  return worker_->WaitAuditHeld(audit_seq, absl::Seconds(5));
}

v1::GetReplicationStatusResponse NodeServer::ReplicationStatus() {
  v1::GetReplicationStatusResponse resp;
  resp.set_node_id(store_->node_id());
  resp.set_incarnation(store_->incarnation());
  resp.set_log_end(store_->next_log_pos());
  resp.set_refused_streams(static_cast<uint64_t>(denied_links()));
  const int64_t now = clock_->NowMs();
  for (const repl::LinkStats& s : LinkStatus()) {
    v1::LinkStatus* l = resp.add_links();
    l->set_peer(s.peer);
    l->set_direction(s.side == repl::Side::kChild ? "parent" : "child");
    l->set_state(LinkStateName(s.state));
    l->set_log_end(s.log_end);
    l->set_acked(s.acked);
    l->set_lag_positions(s.log_end > s.acked + 1 ? s.log_end - 1 - s.acked : 0);
    l->set_lag_seconds(s.oldest_unacked_ms > 0 && now > s.oldest_unacked_ms
                           ? (now - s.oldest_unacked_ms) / 1000
                           : 0);
    l->set_last_ack_ms(s.last_ack_ms);
    l->set_inflight_batches(static_cast<uint32_t>(s.inflight));
    l->set_sent_changes(s.sent_changes);
    l->set_applied_peer_pos(s.applied_peer_pos);
    l->set_applied_changes(s.applied_changes);
    l->set_duplicate_changes(s.duplicate_changes);
    l->set_rejected_changes(s.rejected_changes);
    l->set_last_receive_ms(s.last_receive_ms);
    l->set_digest(DigestStateName(s.digest));
    l->set_last_agree_ms(s.last_agree_ms);
    l->set_repairs(s.repairs);
    l->set_sessions(s.sessions);
    l->set_audit_seq(s.audit_seq);
    l->set_audit_hash(s.audit_hash);
    l->set_audit_seen_ms(s.audit_seen_ms);
    l->set_audit_alarms(s.audit_alarms);
    l->set_audit_alarm(s.audit_alarm);
    l->set_audit_alarm_ms(s.audit_alarm_ms);
  }
  return resp;
}

int64_t NodeServer::denied_links() const {
  return worker_ == nullptr ? 0 : worker_->denied_links();
}

void NodeServer::Wait() {
  if (server_ != nullptr) server_->Wait();
}

void NodeServer::UpdateHealth() {
  grpc::HealthCheckServiceInterface* health =
      server_ != nullptr ? server_->GetHealthCheckService() : nullptr;
  if (health == nullptr || uplink_ == nullptr) return;
  bool up = false;
  for (const repl::LinkStats& link : LinkStatus()) {
    up |= link.side == repl::Side::kChild &&
          link.state == repl::LinkState::kStreaming;
  }
  health->SetServingStatus(kParentHealthService, up);
}

void NodeServer::Shutdown() {
  absl::MutexLock lock(&shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  // Health checks answer NOT_SERVING from now on (load balancers drain).
  if (server_ != nullptr && server_->GetHealthCheckService() != nullptr) {
    server_->GetHealthCheckService()->Shutdown();
  }
  // Replication first: the worker finishes every stream (new ones finish
  // themselves), so the replication server has nothing left to wait for.
  if (dashboard_ != nullptr) dashboard_->Stop();
  if (worker_ != nullptr) worker_->Stop();
  // Then the hub's threads, which commit to the store.
  if (evaluator_ != nullptr) evaluator_->Stop();
  if (reconciler_ != nullptr) reconciler_->Stop();
  // A backup in progress is cut off (an RPC waiting for it returns).
  if (backups_ != nullptr) backups_->Stop();
  const auto deadline =
      std::chrono::system_clock::now() + std::chrono::seconds(5);
  if (repl_server_ != nullptr) repl_server_->Shutdown(deadline);
  if (server_ != nullptr) server_->Shutdown(deadline);
  if (housekeeping_.joinable()) {
    stop_housekeeping_.Notify();
    housekeeping_.join();
  }
  if (admin_ != nullptr) (void)admin_->FlushSuppressedAudit(true);
}

namespace {

int ResealAndExit(const ServeOptions& options) {
  StoreOptions so;
  so.path = options.node.data_dir;
  so.node_id = options.node.node_id;
  so.create_if_missing = false;
  so.vault = options.node.vault;
  so.reseal = true;
  so.entered = (options.node.campaign.name().empty() ? DefaultCampaign()
                                                     : options.node.campaign)
                   .entered();
  auto store = Store::Open(so);
  if (!store.ok()) {
    std::cerr << "error: reseal: " << store.status() << "\n";
    return 1;
  }
  const ResealStats& r = (*store)->open_reseal();
  std::cout << options.program << " " << so.node_id
            << ": resealed under data key " << so.vault->active_key()
            << " and index key " << so.vault->index_key_id() << ": "
            << r.members << " members, " << r.orgs << " organisations, "
            << r.conflicts << " conflicts and " << r.log_entries
            << " change-log entries re-encrypted; " << r.index_entries
            << " ID-number index entries rebuilt\n";
  std::cout << "sealed values found before the reseal, by data key:";
  if (r.sealed_under.empty()) std::cout << " none";
  for (const auto& [key, n] : r.sealed_under) {
    std::cout << " "
              << (key == 0 ? std::string("plaintext")
                           : absl::StrCat("key ", key))
              << "=" << n;
  }
  std::cout << "\nevery record is now sealed under data key "
            << so.vault->active_key()
            << "; other data keys can be removed from the key file"
            << std::endl;
  return 0;
}

}  // namespace

int ServeUntilSignal(const ServeOptions& options) {
  const NodeOptions& o = options.node;
  // Block the stop signals in every thread; one thread waits for them below.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  LogOptions log = options.log;
  log.node_id = o.node_id;
  if (absl::Status s = InitLogging(log); !s.ok()) {
    std::cerr << "error: " << s.message() << "\n";
    return 2;
  }
  if (options.reseal_only) return ResealAndExit(options);
  auto node = NodeServer::Start(o);
  if (!node.ok()) {
    LogError("node", absl::StrCat("cannot start: ", node.status().ToString()));
    return 1;
  }
  if (options.bootstrap.has_value()) {
    const BootstrapOptions& b = *options.bootstrap;
    auto kind = ParseOrgKind(b.kind);
    if (!kind.ok()) {
      LogError("node",
               absl::StrCat("--bootstrap_kind: ", kind.status().message()));
      return 2;
    }
    v1::Org org;
    org.set_id(o.node_id);
    org.set_name(b.name);
    org.set_kind(*kind);
    org.set_tier(b.tier);
    org.set_region(b.region);
    auto password = (*node)->admin().Bootstrap(org, b.admin);
    if (password.ok()) {
      // The one secret a process prints: to the operator's terminal, never
      // to the log (common/log.h).
      std::cout << "bootstrapped organisation " << o.node_id
                << "; data administrator '" << b.admin
                << "' initial password: " << *password
                << "\n(shown once: change it at first login)" << std::endl;
      LogInfo("node", absl::StrCat("bootstrapped organisation ", o.node_id,
                                   " with data administrator '", b.admin, "'"));
    } else if (!absl::IsAlreadyExists(password.status())) {
      LogError("node",
               absl::StrCat("bootstrap: ", password.status().ToString()));
      return 1;
    }
  }
  std::string serving = absl::StrCat(options.program, " ", o.node_id,
                                     " serving on port ", (*node)->port());
  if ((*node)->repl_port() != 0) {
    absl::StrAppend(&serving, ", replication on port ", (*node)->repl_port());
  }
  if (!o.parent_address.empty()) {
    absl::StrAppend(&serving, ", parent ", o.parent_id, " at ",
                    o.parent_address);
  }
  if ((*node)->dashboard_port() != 0) {
    absl::StrAppend(&serving, ", workbench on port ",
                    (*node)->dashboard_port());
  }
  LogInfo("node", serving);
  auto write_port = [](const std::string& file, int port) {
    if (file.empty()) return;
    std::ofstream out(file + ".tmp");
    out << port << "\n";
    out.close();
    std::rename((file + ".tmp").c_str(), file.c_str());
  };
  write_port(options.port_file, (*node)->port());
  write_port(options.repl_port_file, (*node)->repl_port());
  write_port(options.dashboard_port_file, (*node)->dashboard_port());
  std::thread waiter([&stop, &node] {
    int sig = 0;
    sigwait(&stop, &sig);
    LogInfo("node", absl::StrCat("signal ", sig, ": shutting down"));
    (*node)->Shutdown();
  });
  (*node)->Wait();
  waiter.join();
  return 0;
}

}  // namespace unionsync
