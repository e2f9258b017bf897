#include "node/serve_flags.h"

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <system_error>

#include "absl/flags/flag.h"
#include "absl/flags/internal/program_name.h"
#include "absl/flags/internal/usage.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "monitor/campaign.h"
#include "vault/vault.h"

ABSL_FLAG(std::string, node_id, "",
          "Id of the organisation this process runs for (the organisation "
          "named in --tls_cert).");
ABSL_FLAG(std::string, data_dir, "", "Directory of the RocksDB store.");
ABSL_FLAG(std::string, key_file, "",
          "Key file for personal data at rest (docs/KEYS.md; create one with "
          "certs/make-node-keys.sh): mode 0600, outside --data_dir. "
          "Required.");
ABSL_FLAG(bool, reseal, false,
          "Do not serve: re-encrypt every record under the key file's active "
          "data key and rebuild the ID-number index under its index key, "
          "print what was done and exit (after a key rotation; "
          "docs/KEYS.md).");
ABSL_FLAG(std::string, listen, "127.0.0.1:7400",
          "Address of the Admin API, TLS with --tls_cert/--tls_key (port 0: "
          "any).");
ABSL_FLAG(bool, insecure_plaintext, false,
          "DEVELOPMENT ONLY: serve the Admin API and the dashboard in plain "
          "text; refused unless they listen on a loopback address.");
ABSL_FLAG(std::string, port_file, "",
          "If set, the bound Admin API port is written here once serving.");
ABSL_FLAG(std::string, repl_listen, "",
          "Replication port for child nodes, mutual TLS (port 0: any; empty: "
          "no child nodes).");
ABSL_FLAG(std::string, repl_port_file, "",
          "If set, the bound replication port is written here once serving.");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM file of the CA that node certificates chain to.");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM file of this process's certificate (CN = --node_id).");
ABSL_FLAG(std::string, tls_key, "", "PEM file of the matching private key.");
ABSL_FLAG(std::string, parent_address, "",
          "host:port of the parent's replication port (empty: no parent). A "
          "node with an empty store waits there for its registration.");
ABSL_FLAG(std::string, parent_id, "",
          "Organisation id of the parent (its certificate must name it).");
ABSL_FLAG(std::string, bootstrap_name, "",
          "First start of a root (no parent): create its organisation with "
          "this name.");
ABSL_FLAG(std::string, bootstrap_kind, "city_federation",
          "Kind of the bootstrapped organisation.");
ABSL_FLAG(int, bootstrap_tier, 1, "Tier of the bootstrapped organisation.");
ABSL_FLAG(std::string, bootstrap_region, "",
          "Region code of the bootstrapped organisation.");
ABSL_FLAG(std::string, bootstrap_admin, "admin",
          "Username of its first data administrator.");
ABSL_FLAG(int, scrypt_log2_n, 15,
          "scrypt cost: log2(N). 15 (32 MiB, ~110 ms) in production; lower "
          "only for demos and tests.");

ABSL_FLAG(std::string, campaign, "",
          "Campaign configuration (protobuf text format, v1.CampaignConfig): "
          "expected counts, milestones and warning rules. Default: the "
          "2019-2020 campaign of R8.");
ABSL_FLAG(std::string, web_listen, "",
          "Address of the HTTPS server of the workbench (工作台, /wb; at the "
          "hub also the city's progress) and /metrics, e.g. 0.0.0.0:8443; "
          "empty: none.");
ABSL_FLAG(std::string, web_port_file, "",
          "Write the bound workbench port to this file once serving.");
ABSL_FLAG(std::string, log_format, "text",
          "Log lines on stderr as text (for people) or json (one object per "
          "line, for log collectors).");
ABSL_FLAG(std::string, log_level, "info",
          "Lowest level logged: debug, info, warning or error.");
ABSL_FLAG(std::string, backup_dir, "",
          "Directory of the store's backups (docs/OPERATIONS.md, \"Backups\"): "
          "on another disk than --data_dir, one per node; empty: no backups.");
ABSL_FLAG(absl::Duration, backup_interval, absl::Hours(24),
          "With --backup_dir: take a backup this long after the newest one "
          "(e.g. 24h, 6h; at least 1m); 0: only when asked (unionctl backup "
          "create).");
ABSL_FLAG(int, backup_keep, 7,
          "With --backup_dir: backups kept; older ones are deleted after each "
          "new one.");
ABSL_FLAG(int, backup_rate_limit_kib, 0,
          "With --backup_dir: KiB per second written while backing up, so a "
          "backup does not crowd out the node's own writes (0: no limit).");
ABSL_FLAG(std::string, dashboard_listen, "",
          "Former name of --web_listen (still accepted).");
ABSL_FLAG(std::string, dashboard_port_file, "",
          "Former name of --web_port_file (still accepted).");

namespace unionsync {

void PrintHelpIfAsked(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--") return;
    if (arg == "--help" || arg == "-h" || arg == "-help") {
      absl::flags_internal::SetProgramInvocationName(argv[0]);
      absl::flags_internal::FlagsHelp(
          std::cout, "node/serve_flags.cc",
          absl::flags_internal::HelpFormat::kHumanReadable,
          absl::ProgramUsageMessage());
      std::cout.flush();
      std::exit(0);
    }
  }
}

absl::StatusOr<ServeOptions> ServeOptionsFromFlags(const std::string& program,
                                                   bool hub) {
  ServeOptions serve;
  serve.program = program;
  NodeOptions& options = serve.node;
  options.node_id = absl::GetFlag(FLAGS_node_id);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.listen = absl::GetFlag(FLAGS_listen);
  options.insecure_plaintext = absl::GetFlag(FLAGS_insecure_plaintext);
  options.repl_listen = absl::GetFlag(FLAGS_repl_listen);
  options.tls.ca_pem_path = absl::GetFlag(FLAGS_tls_ca);
  options.tls.cert_pem_path = absl::GetFlag(FLAGS_tls_cert);
  options.tls.key_pem_path = absl::GetFlag(FLAGS_tls_key);
  options.parent_address = absl::GetFlag(FLAGS_parent_address);
  options.parent_id = absl::GetFlag(FLAGS_parent_id);
  serve.port_file = absl::GetFlag(FLAGS_port_file);
  serve.repl_port_file = absl::GetFlag(FLAGS_repl_port_file);
  const int log_n = absl::GetFlag(FLAGS_scrypt_log2_n);
  if (log_n < 10 || log_n > 20) {
    return absl::InvalidArgumentError(
        "--scrypt_log2_n must be between 10 and 20");
  }
  options.admin.scrypt.n = uint64_t{1} << log_n;
  if (options.node_id.empty() || options.data_dir.empty()) {
    return absl::InvalidArgumentError("--node_id and --data_dir are required");
  }
  const std::string key_file = absl::GetFlag(FLAGS_key_file);
  if (key_file.empty()) {
    return absl::InvalidArgumentError(
        "--key_file is required: ID and phone numbers are stored encrypted "
        "(create a key file with certs/make-node-keys.sh; docs/KEYS.md)");
  }
  {
    std::error_code key_ec, data_ec;
    const auto key = std::filesystem::weakly_canonical(key_file, key_ec);
    const auto data =
        std::filesystem::weakly_canonical(options.data_dir, data_ec);
    if (key_ec || data_ec) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot resolve --key_file '", key_file, "' or --data_dir '",
          options.data_dir, "': ", (key_ec ? key_ec : data_ec).message()));
    }
    const auto rel = key.lexically_relative(data);
    if (!rel.empty() && *rel.begin() != "..") {
      return absl::InvalidArgumentError(absl::StrCat(
          "--key_file '", key_file, "' lies inside --data_dir '",
          options.data_dir,
          "': keep the keys apart from the data they protect (and from its "
          "backups)"));
    }
  }
  auto vault = Vault::LoadFile(key_file);
  if (!vault.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--key_file: ", vault.status().message()));
  }
  options.vault = *std::move(vault);
  serve.reseal_only = absl::GetFlag(FLAGS_reseal);
  options.hub = hub;
  serve.log.format = absl::GetFlag(FLAGS_log_format);
  serve.log.level = absl::GetFlag(FLAGS_log_level);
  options.dashboard_listen = absl::GetFlag(FLAGS_web_listen);
  serve.dashboard_port_file = absl::GetFlag(FLAGS_web_port_file);
  for (auto [old_name, old_value, value] :
       {std::tuple{"--dashboard_listen", absl::GetFlag(FLAGS_dashboard_listen),
                   &options.dashboard_listen},
        std::tuple{"--dashboard_port_file",
                   absl::GetFlag(FLAGS_dashboard_port_file),
                   &serve.dashboard_port_file}}) {
    if (old_value.empty()) continue;
    if (!value->empty() && *value != old_value) {
      return absl::InvalidArgumentError(
          absl::StrCat(old_name, " is the former name of --web_", old_name + 12,
                       "; give one of them"));
    }
    *value = old_value;
  }
  if (const std::string dir = absl::GetFlag(FLAGS_backup_dir); !dir.empty()) {
    NodeBackupOptions backup;
    backup.archive.dir = dir;
    const int kib = absl::GetFlag(FLAGS_backup_rate_limit_kib);
    if (kib < 0) {
      return absl::InvalidArgumentError(
          "--backup_rate_limit_kib: KiB per second, 0 for no limit");
    }
    backup.archive.rate_limit_bytes = static_cast<uint64_t>(kib) * 1024;
    backup.interval = absl::GetFlag(FLAGS_backup_interval);
    backup.keep = absl::GetFlag(FLAGS_backup_keep);
    std::error_code backup_ec, data_ec;
    const auto b = std::filesystem::weakly_canonical(dir, backup_ec);
    const auto d = std::filesystem::weakly_canonical(options.data_dir, data_ec);
    const auto inside = [](const std::filesystem::path& a,
                           const std::filesystem::path& b) {
      const auto rel = a.lexically_relative(b);
      return !rel.empty() && *rel.begin() != "..";
    };
    if (!backup_ec && !data_ec && (inside(b, d) || inside(d, b))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--backup_dir '", dir, "' and --data_dir '", options.data_dir,
          "' must not contain one another: a backup is for when the data "
          "directory is lost"));
    }
    std::error_code key_ec;
    const auto k = std::filesystem::weakly_canonical(key_file, key_ec);
    if (!backup_ec && !key_ec && inside(k, b)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--key_file '", key_file, "' lies inside --backup_dir '", dir,
          "': the keys must not travel with the backups they protect "
          "(docs/KEYS.md)"));
    }
    options.backup = std::move(backup);
  }
  if (const std::string path = absl::GetFlag(FLAGS_campaign); !path.empty()) {
    auto campaign = LoadCampaign(path);
    if (!campaign.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--campaign: ", campaign.status().message()));
    }
    options.campaign = *std::move(campaign);
  }
  if (hub &&
      (options.repl_listen.empty() || options.tls.ca_pem_path.empty() ||
       options.tls.cert_pem_path.empty() || options.tls.key_pem_path.empty())) {
    return absl::InvalidArgumentError(absl::StrCat(
        program,
        " receives from its child nodes: --repl_listen, --tls_ca, --tls_cert "
        "and --tls_key are required"));
  }
  if (const std::string name = absl::GetFlag(FLAGS_bootstrap_name);
      !name.empty()) {
    if (!options.parent_address.empty()) {
      return absl::InvalidArgumentError(
          "a process with a parent receives its registration from the parent: "
          "drop --bootstrap_name");
    }
    BootstrapOptions b;
    b.name = name;
    b.kind = absl::GetFlag(FLAGS_bootstrap_kind);
    b.tier = absl::GetFlag(FLAGS_bootstrap_tier);
    b.region = absl::GetFlag(FLAGS_bootstrap_region);
    b.admin = absl::GetFlag(FLAGS_bootstrap_admin);
    serve.bootstrap = b;
  }
  return serve;
}

}  // namespace unionsync
