#include "dues/ledger.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/crypto.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "dues/dues_file.h"
#include "monitor/progress.h"
#include "vault/records.h"

namespace unionsync {
namespace {

constexpr char kPaymentPrefix[] = "dues/p/";
constexpr char kPeriodPrefix[] = "dues/k/";
constexpr size_t kScanPage = 10000;

std::string PeriodPaymentsPrefix(absl::string_view period) {
  return absl::StrCat(kPaymentPrefix, period, "/");
}
std::string PaymentKey(absl::string_view period, absl::string_view token,
                       absl::string_view reference) {
  return absl::StrCat(PeriodPaymentsPrefix(period), token, "/",
                      HexEncode(Sha256(reference).substr(0, 16)));
}
std::string PeriodKey(absl::string_view period) {
  return absl::StrCat(kPeriodPrefix, period);
}

std::string Yuan(int64_t fen) {
  return absl::StrCat(fen / 100, ".", fen % 100 < 10 ? "0" : "", fen % 100);
}

// Paid members and amounts per store scope ("all", "r:<code>", "y:<code>").
struct Tally {
  int64_t paid = 0;
  int64_t amount_fen = 0;
};

}  // namespace

DuesLedger::DuesLedger(Store* store, const Clock* clock, Authenticator* auth,
                       DuesOptions options)
    : store_(store), clock_(clock), auth_(auth), options_(std::move(options)) {}

absl::StatusOr<Viewer> DuesLedger::Check(const RequestContext& ctx,
                                         absl::string_view action, bool write) {
  ASSIGN_OR_RETURN(Viewer viewer, auth_->Authenticate(ctx, action));
  if (!options_.hub) {
    return absl::FailedPreconditionError(
        "dues are kept at the city hub; this node is not the hub");
  }
  if (viewer.org_id != store_->node_id()) {
    return auth_->Deny(viewer, ctx, action, "dues",
                       "dues are for the hub's own organisation");
  }
  if (write && viewer.role != v1::DATA_ADMIN) {
    return auth_->Deny(viewer, ctx, action, "dues",
                       "only the hub's data administrator imports dues");
  }
  return viewer;
}

absl::Status DuesLedger::CheckImport(const RequestContext& ctx) {
  return Check(ctx, "ImportDues", /*write=*/true).status();
}

absl::StatusOr<v1::ImportDuesResponse> DuesLedger::ImportDues(
    const RequestContext& ctx, const v1::ImportDuesRequest& req) {
  ASSIGN_OR_RETURN(Viewer viewer, Check(ctx, "ImportDues", /*write=*/true));
  if (req.content().size() > options_.max_file_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "文件超过", options_.max_file_bytes >> 20, " MB，请按月份分开导入"));
  }
  v1::ImportDuesResponse out;
  out.set_sha256(HexEncode(Sha256(req.content())));
  v1::AuditEntry audit;
  audit.set_actor(viewer.username);
  audit.set_actor_org(viewer.org_id);
  audit.set_action("ImportDues");
  audit.set_target(absl::StrCat("dues/", out.sha256().substr(0, 16)));
  audit.set_target_org(store_->node_id());
  audit.set_peer(ctx.peer);
  auto finish = [&](v1::AuditOutcome outcome, WriteSet* w) -> absl::Status {
    audit.set_time_ms(clock_->NowMs());
    audit.set_outcome(outcome);
    audit.set_detail(absl::StrCat(req.dry_run() ? "dry run; " : "", "file ",
                                  req.filename().substr(0, 64), "; sha256 ",
                                  out.sha256(), "; rows ", out.rows(),
                                  "; errors ", out.total_errors(), "; months ",
                                  absl::StrJoin(out.periods(), ","))
                         .substr(0, 500));
    WriteSet own;
    if (w == nullptr) w = &own;
    w->Audit(audit);
    return store_->Commit(*w, viewer.username).status();
  };

  // First pass: check every row; nothing is written unless all are valid.
  absl::StatusOr<dues::DuesFileSummary> checked = dues::ReadDuesFile(
      req.content(), [](const dues::DuesRow&) { return absl::OkStatus(); });
  if (!checked.ok()) {
    out.set_message(std::string(checked.status().message()));
    RETURN_IF_ERROR(finish(v1::AUDIT_FAILED, nullptr));
    return checked.status();
  }
  out.set_rows(checked->rows);
  out.set_amount_fen(checked->amount_fen);
  for (const std::string& p : checked->periods) out.add_periods(p);
  out.set_total_errors(checked->total_errors);
  for (v1::ImportCellError& e : checked->errors) {
    *out.add_errors() = std::move(e);
  }
  if (out.total_errors() > 0) {
    out.set_message(absl::StrCat("共", out.rows(), "行，其中",
                                 out.total_errors(),
                                 "处有问题，没有导入任何记录。请按下表改好后"
                                 "重新上传。"));
    RETURN_IF_ERROR(finish(v1::AUDIT_FAILED, nullptr));
    return out;
  }
  out.set_ok(true);
  if (req.dry_run()) {
    out.set_message(absl::StrCat("检查通过：共", out.rows(), "条缴费记录，合计",
                                 Yuan(out.amount_fen()), "元，可以导入。"));
    RETURN_IF_ERROR(finish(v1::AUDIT_OK, nullptr));
    return out;
  }

  // Second pass: write, a batch at a time; the months are marked (and the
  // import audited) in the last batch.
  absl::MutexLock lock(&import_mu_);
  for (const std::string& period : checked->periods) {
    RETURN_IF_ERROR(DropStale(period));
  }
  const Vault& vault = store_->vault();
  const int64_t now = clock_->NowMs();
  WriteSet batch;
  size_t in_batch = 0;
  v1::DuesPayment payment;
  ASSIGN_OR_RETURN(
      dues::DuesFileSummary written,
      dues::ReadDuesFile(
          req.content(), [&](const dues::DuesRow& row) -> absl::Status {
            payment.set_amount_fen(row.amount_fen);
            payment.set_paid_on(row.paid_on);
            payment.set_imported_at_ms(now);
            batch.PutLocal(
                PaymentKey(row.period, IdNumberToken(vault, row.id_number),
                           row.reference),
                payment.SerializeAsString());
            if (++in_batch < options_.batch_rows) return absl::OkStatus();
            RETURN_IF_ERROR(store_->Commit(batch, viewer.username).status());
            batch = WriteSet();
            in_batch = 0;
            return absl::OkStatus();
          }));
  if (written.valid_rows != checked->valid_rows) {
    return absl::InternalError("the file read differently the second time");
  }
  for (const std::string& period : checked->periods) {
    batch.PutLocal(PeriodKey(period), vault.IndexKeyCheck());
  }
  RETURN_IF_ERROR(finish(v1::AUDIT_OK, &batch));
  out.set_written(true);
  out.set_message(absl::StrCat("已导入", out.rows(), "条缴费记录（",
                               absl::StrJoin(out.periods(), "、"), "），合计",
                               Yuan(out.amount_fen()), "元。"));
  LogInfo("dues", absl::StrCat("imported ", out.rows(), " payments for ",
                               absl::StrJoin(out.periods(), ","), " by ",
                               viewer.username));
  return out;
}

absl::Status DuesLedger::DropStale(const std::string& period) {
  ASSIGN_OR_RETURN(std::optional<std::string> check,
                   store_->GetLocal(PeriodKey(period)));
  if (!check.has_value() || *check == store_->vault().IndexKeyCheck()) {
    return absl::OkStatus();
  }
  const std::string prefix = PeriodPaymentsPrefix(period);
  for (;;) {
    ASSIGN_OR_RETURN(auto page, store_->ScanLocal(prefix, "", kScanPage));
    if (page.empty()) break;
    WriteSet w;
    for (const auto& [suffix, value] : page) {
      w.DeleteLocal(absl::StrCat(prefix, suffix));
    }
    RETURN_IF_ERROR(store_->Commit(w, "dues").status());
  }
  LogInfo("dues", absl::StrCat("dropped the payments of ", period,
                               " kept under an earlier index key"));
  return absl::OkStatus();
}

absl::StatusOr<v1::GetDuesCoverageResponse> DuesLedger::GetDuesCoverage(
    const RequestContext& ctx, const v1::GetDuesCoverageRequest& req) {
  ASSIGN_OR_RETURN(Viewer viewer,
                   Check(ctx, "GetDuesCoverage", /*write=*/false));
  v1::GetDuesCoverageResponse out;
  out.set_as_of_ms(clock_->NowMs());
  ASSIGN_OR_RETURN(auto months, store_->ScanLocal(kPeriodPrefix, "", 10000));
  std::reverse(months.begin(), months.end());
  for (const auto& [period, check] : months) out.add_periods(period);
  std::string period = req.period();
  if (period.empty()) {
    if (months.empty()) return out;  // Nothing imported yet.
    period = months.front().first;
  } else if (dues::ParseDuesPeriod(period) != period) {
    return absl::InvalidArgumentError(absl::StrCat(
        "period: '", period.substr(0, 16), "' is not a month written YYYY-MM"));
  }
  auto held = std::find_if(months.begin(), months.end(),
                           [&](const auto& m) { return m.first == period; });
  if (held == months.end()) {
    return absl::NotFoundError(
        absl::StrCat("no dues have been imported for ", period));
  }
  if (held->second != store_->vault().IndexKeyCheck()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the dues of ", period,
        " were imported under an earlier index key; import the month's file "
        "again"));
  }
  out.set_period(period);

  // One pass over the month's payments, grouped by payer (keys are sorted by
  // token), each payer looked up in the ID-number index.
  std::map<std::string, Tally> tally;
  absl::flat_hash_map<std::string, std::pair<std::string, std::string>> orgs;
  std::string token;
  int64_t amount = 0;
  auto settle = [&]() -> absl::Status {
    if (token.empty()) return absl::OkStatus();
    out.set_payers(out.payers() + 1);
    ASSIGN_OR_RETURN(std::vector<std::string> holders,
                     store_->MembersWithIdToken(token));
    bool matched = false;
    for (const std::string& id : holders) {
      absl::StatusOr<v1::Member> m = store_->GetMember(id);
      if (absl::IsNotFound(m.status())) continue;
      RETURN_IF_ERROR(m.status());
      if (m->status() != v1::MEMBER_ACTIVE) continue;
      auto org = orgs.find(m->org_id());
      if (org == orgs.end()) {
        ASSIGN_OR_RETURN(v1::Org o, store_->GetOrg(m->org_id()));
        org =
            orgs.emplace(m->org_id(), std::pair(o.region(), o.system())).first;
      }
      // The amount counts once, at the first holder (more than one only
      // while the hub reconciles a person in two unions).
      const int64_t counted = matched ? 0 : amount;
      matched = true;
      for (std::string scope :
           {std::string("all"),
            org->second.first.empty() ? "" : "r:" + org->second.first,
            org->second.second.empty() ? "" : "y:" + org->second.second}) {
        if (scope.empty()) continue;
        Tally& t = tally[scope];
        ++t.paid;
        t.amount_fen += counted;
      }
    }
    if (!matched) {
      out.set_unmatched_payers(out.unmatched_payers() + 1);
      out.set_unmatched_amount_fen(out.unmatched_amount_fen() + amount);
    }
    return absl::OkStatus();
  };
  const std::string prefix = PeriodPaymentsPrefix(period);
  v1::DuesPayment payment;
  for (std::string after;;) {
    ASSIGN_OR_RETURN(auto page, store_->ScanLocal(prefix, after, kScanPage));
    for (const auto& [suffix, value] : page) {
      after = suffix;
      const absl::string_view payer =
          absl::string_view(suffix).substr(0, suffix.find('/'));
      if (payer != token) {
        RETURN_IF_ERROR(settle());
        token = std::string(payer);
        amount = 0;
      }
      if (!payment.ParseFromString(value)) {
        return absl::DataLossError(
            absl::StrCat("unreadable dues payment under ", prefix));
      }
      amount += payment.amount_fen();
    }
    if (page.size() < kScanPage) break;
  }
  RETURN_IF_ERROR(settle());

  auto row = [&](const std::string& scope,
                 v1::DuesCoverage* c) -> absl::Status {
    ASSIGN_OR_RETURN(ScopeRef ref,
                     ResolveScope(*store_, options_.campaign, scope));
    ASSIGN_OR_RETURN(v1::SubtreeCounters counters,
                     store_->GetScopeCounters(ref.store_scope));
    const Tally& t = tally[ref.store_scope];
    c->set_scope(scope);
    c->set_label(ref.label);
    c->set_members(counters.members());
    c->set_paid(t.paid);
    c->set_amount_fen(t.amount_fen);
    c->set_ratio(counters.members() > 0
                     ? static_cast<double>(t.paid) / counters.members()
                     : 0.0);
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(row("city", out.mutable_total()));
  for (bool regions : {true, false}) {
    ASSIGN_OR_RETURN(std::vector<std::string> scopes,
                     ListAreaScopes(*store_, options_.campaign, regions));
    for (const std::string& scope : scopes) {
      RETURN_IF_ERROR(
          row(scope, regions ? out.add_regions() : out.add_systems()));
    }
  }
  return out;
}

}  // namespace unionsync
