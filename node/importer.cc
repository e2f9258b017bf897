#include "node/importer.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <functional>
#include <iterator>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/org_rules.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "ingest/import.h"
#include "ingest/table.h"
#include "ingest/template.h"
#include "ingest/writer.h"
#include "node/import_records.h"

namespace unionsync {
namespace {

using namespace import_internal;  // NOLINT: this layer's own helpers.

constexpr absl::string_view kMembersAction = "ImportMembers";
constexpr absl::string_view kOrgsAction = "ImportOrgs";
constexpr absl::string_view kSpoolPrefix = "import-";

std::string OrgTarget(absl::string_view id) { return absl::StrCat("org/", id); }

ingest::FileFormat FormatOf(v1::FileFormat f) {
  switch (f) {
    case v1::FILE_FORMAT_XLSX:
      return ingest::FileFormat::kXlsx;
    case v1::FILE_FORMAT_CSV:
      return ingest::FileFormat::kCsv;
    default:
      return ingest::FileFormat::kAuto;
  }
}

ingest::TextEncoding EncodingOf(v1::TextEncoding e) {
  switch (e) {
    case v1::TEXT_ENCODING_UTF8:
      return ingest::TextEncoding::kUtf8;
    case v1::TEXT_ENCODING_GBK:
      return ingest::TextEncoding::kGbk;
    case v1::TEXT_ENCODING_GB18030:
      return ingest::TextEncoding::kGb18030;
    default:
      return ingest::TextEncoding::kAuto;
  }
}

absl::Status ErrnoStatus(absl::string_view what, int err) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(err)));
}

// Merges two lists sorted by row into one, at most `limit` long.
std::vector<ingest::CellError> MergeByRow(std::vector<ingest::CellError> a,
                                          std::vector<ingest::CellError> b,
                                          size_t limit) {
  std::vector<ingest::CellError> out;
  out.reserve(std::min(limit, a.size() + b.size()));
  std::merge(std::make_move_iterator(a.begin()),
             std::make_move_iterator(a.end()),
             std::make_move_iterator(b.begin()),
             std::make_move_iterator(b.end()), std::back_inserter(out),
             [](const ingest::CellError& x, const ingest::CellError& y) {
               return x.row < y.row;
             });
  if (out.size() > limit) out.resize(limit);
  return out;
}

template <typename Record>
struct Pending {
  int64_t row = 0;
  bool create = false;
  bool profile = false;  // Orgs: also write the profile part.
  Record record;
};

void Put(WriteSet& w, const Pending<v1::Member>& p) {
  w.PutMember(p.record,
              p.create ? WriteSet::Mode::kCreate : WriteSet::Mode::kUpsert);
}

void Put(WriteSet& w, const Pending<v1::Org>& p) {
  w.PutOrg(p.record,
           p.create ? WriteSet::Mode::kCreate : WriteSet::Mode::kUpsert);
  if (p.profile) w.PutOrgProfile(p.record);
}

// A row the store refused at commit time (a concurrent edit).
std::string CommitRefusal(const Pending<v1::Member>&) {
  return "保存失败：该人员已在其他工会在册，或刚被他人录入；请核对后重新导入";
}
std::string CommitRefusal(const Pending<v1::Org>&) {
  return "保存失败：该组织编号刚被他人登记；请核对后重新导入";
}

// Runs batch commits on its own thread, at most two batches queued, so that
// reading and checking the next rows overlaps the synced write of the last
// ones. The first failure stops it; later batches are dropped.
class Committer {
 public:
  Committer() : thread_([this] { Loop(); }) {}
  ~Committer() { (void)Finish(); }

  // Queues `commit` (blocks while two are queued). Returns the first failure
  // of an earlier batch, if any.
  absl::Status Push(std::function<absl::Status()> commit) {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &Committer::HasRoom));
    if (!status_.ok()) return status_;
    queue_.push_back(std::move(commit));
    return absl::OkStatus();
  }

  // Waits for every queued batch; the first failure.
  absl::Status Finish() {
    {
      absl::MutexLock lock(&mu_);
      closed_ = true;
    }
    if (thread_.joinable()) thread_.join();
    absl::MutexLock lock(&mu_);
    return status_;
  }

 private:
  bool HasRoom() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return queue_.size() < 2 || !status_.ok();
  }
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !queue_.empty() || closed_;
  }
  void Loop() {
    for (;;) {
      std::function<absl::Status()> commit;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &Committer::HasWork));
        if (queue_.empty()) return;
        commit = std::move(queue_.front());
        queue_.pop_front();
      }
      absl::Status s = commit();
      absl::MutexLock lock(&mu_);
      if (!s.ok() && status_.ok()) status_ = s;
      if (!status_.ok()) queue_.clear();
    }
  }

  absl::Mutex mu_;
  std::deque<std::function<absl::Status()>> queue_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;  // Last: starts once the rest is constructed.
};

}  // namespace

class Importer::Job final : public ImportJob {
 public:
  Job(Importer* importer, Viewer viewer, RequestContext ctx,
      v1::ImportOptions options, v1::Org target, std::string key,
      std::string path, int fd)
      : im_(importer),
        viewer_(std::move(viewer)),
        ctx_(std::move(ctx)),
        options_(std::move(options)),
        target_(std::move(target)),
        key_(std::move(key)),
        path_(std::move(path)),
        fd_(fd),
        members_(options_.kind() == v1::TEMPLATE_MEMBER) {}

  ~Job() override {
    if (fd_ >= 0) close(fd_);
    unlink(path_.c_str());
    im_->Release(key_);
  }

  absl::Status Append(absl::string_view chunk) override {
    if (fd_ < 0) {
      return absl::FailedPreconditionError("the upload has already ended");
    }
    if (bytes_ + static_cast<int64_t>(chunk.size()) >
        im_->options_.max_upload_bytes) {
      return Fail(absl::ResourceExhaustedError(
          absl::StrCat("文件超过", im_->options_.max_upload_bytes >> 20,
                       " MiB的上限，请拆分成几个文件分别导入")));
    }
    size_t done = 0;
    while (done < chunk.size()) {
      ssize_t n = write(fd_, chunk.data() + done, chunk.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Fail(ErrnoStatus("cannot spool the upload", errno));
      }
      done += static_cast<size_t>(n);
    }
    bytes_ += static_cast<int64_t>(chunk.size());
    return absl::OkStatus();
  }

  int64_t bytes_received() const override { return bytes_; }

  absl::StatusOr<v1::ImportSummary> Run(
      const ImportProgressFn& progress,
      const std::atomic<bool>* cancelled) override;

 private:
  struct PassResult {
    ingest::ImportSummary ingest;
    std::vector<ingest::CellError> store_errors;  // Sorted by row.
    int64_t store_error_count = 0;
    int64_t store_invalid_rows = 0;
  };

  absl::string_view action() const {
    return members_ ? kMembersAction : kOrgsAction;
  }
  std::string target() const { return OrgTarget(target_.id()); }
  std::string CountsText() const {
    return absl::StrCat(
        options_.dry_run() ? "dry run; " : "",
        options_.mode() == v1::IMPORT_VALID_ROWS_ONLY ? "valid rows only; "
                                                      : "all or nothing; ",
        bytes_, " bytes; rows ", n_.rows_read.load(), ", valid ",
        n_.valid.load(), ", invalid ", n_.invalid.load(), ", created ",
        n_.created.load(), ", updated ", n_.updated.load(), ", unchanged ",
        n_.unchanged.load());
  }
  absl::Status Audit(v1::AuditOutcome outcome, absl::string_view detail) {
    v1::AuditEntry e;
    e.set_time_ms(im_->clock_->NowMs());
    e.set_actor(viewer_.username);
    e.set_actor_org(viewer_.org_id);
    e.set_action(std::string(action()));
    e.set_target(target());
    e.set_outcome(outcome);
    e.set_detail(std::string(detail.substr(0, 500)));
    e.set_peer(ctx_.peer);
    WriteSet w;
    w.Audit(std::move(e));
    return im_->store_->Commit(w, viewer_.username).status();
  }
  // Audits a failed import and returns `status`.
  absl::Status Fail(absl::Status status) {
    if (audited_) return status;
    audited_ = true;
    RETURN_IF_ERROR(Audit(
        v1::AUDIT_FAILED,
        absl::StrCat(status.ToString().substr(0, 300), "; ", CountsText())));
    return status;
  }

  void Report(v1::ImportPhase phase, bool force) {
    if (!progress_) return;
    const int64_t now = im_->clock_->NowMs();
    if (!force && phase == phase_ &&
        now - last_report_ms_ < im_->options_.progress_interval_ms) {
      return;
    }
    phase_ = phase;
    last_report_ms_ = now;
    v1::ImportProgress p;
    p.set_phase(phase);
    *p.mutable_counts() = Counts();
    progress_(p);
  }

  absl::StatusOr<PassResult> RunPass(bool commit);
  absl::Status OnMember(int64_t row, const v1::Member& in, bool commit,
                        PassResult* r);
  absl::Status OnOrg(int64_t row, const v1::Org& in, bool commit,
                     PassResult* r);
  void RowError(PassResult* r, int64_t row, absl::string_view column,
                absl::string_view value, std::string reason) {
    absl::MutexLock lock(&errors_mu_);
    ++r->store_error_count;
    if (r->store_errors.size() <
        static_cast<size_t>(im_->options_.max_report_errors)) {
      r->store_errors.push_back({row, std::string(column),
                                 std::string(value.substr(0, 120)),
                                 std::move(reason)});
    }
  }
  void RowInvalid(PassResult* r) {
    absl::MutexLock lock(&errors_mu_);
    ++r->store_invalid_rows;
  }
  // Hands a full batch to the committer thread (commit passes) .
  template <typename Record>
  absl::Status Hand(std::vector<Pending<Record>>* pending);
  // Commits `pending` as `w` (their writes, prepared), or row by row when a
  // concurrent edit refuses one of them.
  template <typename Record>
  absl::Status Flush(std::vector<Pending<Record>>* pending, const WriteSet& w,
                     PassResult* r);
  v1::ImportSummary Summarize(PassResult r, bool written);

  Importer* im_;
  const Viewer viewer_;
  const RequestContext ctx_;
  const v1::ImportOptions options_;
  // Members: the union imported into. Orgs: the parent (the caller's own).
  const v1::Org target_;
  const std::string key_;
  const std::string path_;
  int fd_;
  const bool members_;
  int64_t bytes_ = 0;
  bool audited_ = false;

  // While running.
  ImportProgressFn progress_;
  const std::atomic<bool>* cancelled_ = nullptr;
  v1::ImportPhase phase_ = v1::IMPORT_UPLOADING;
  int64_t last_report_ms_ = 0;
  // Counters, updated by the worker and the committer thread.
  struct Tally {
    std::atomic<int64_t> rows_read{0}, valid{0}, invalid{0}, committed{0},
        created{0}, updated{0}, unchanged{0}, total{0};
  };
  Tally n_;
  v1::ImportCounts Counts() const {
    v1::ImportCounts c;
    c.set_bytes_received(bytes_);
    c.set_rows_read(n_.rows_read);
    c.set_valid_rows(n_.valid);
    c.set_invalid_rows(n_.invalid);
    c.set_committed_rows(n_.committed);
    c.set_created(n_.created);
    c.set_updated(n_.updated);
    c.set_unchanged(n_.unchanged);
    c.set_total_rows(n_.total);
    return c;
  }
  // Row errors found by the worker and the committer thread.
  absl::Mutex errors_mu_;
  int64_t now_ms_ = 0;
  int64_t row_in_batch_ = 0;
  std::vector<Pending<v1::Member>> pending_members_;
  std::vector<Pending<v1::Org>> pending_orgs_;
  // Commit passes: writes batches while the worker reads the next ones.
  std::unique_ptr<Committer> committer_;
  PassResult* pass_ = nullptr;  // The pass running.
};

absl::Status Importer::Job::OnMember(int64_t row, const v1::Member& in,
                                     bool commit, PassResult* r) {
  auto found = im_->store_->FindMemberByIdNumber(in.id_number());
  if (found.ok()) {
    if (found->org_id() != target_.id()) {
      RowError(r, row, "公民身份号码", in.id_number(),
               "该人员已在其他工会在册，一人只能加入一个工会；请先由原工会办理"
               "转会，或核对号码");
      RowInvalid(r);
      return absl::OkStatus();
    }
    if (SameEditable(*found, in)) {
      ++n_.unchanged;
      return absl::OkStatus();
    }
    if (!commit) {
      ++n_.updated;
      return absl::OkStatus();
    }
    Pending<v1::Member> p{row, false, false, *std::move(found)};
    CopyEditable(in, &p.record);
    p.record.set_updated_at_ms(now_ms_);
    pending_members_.push_back(std::move(p));
  } else if (absl::IsNotFound(found.status())) {
    if (!commit) {
      ++n_.created;
      return absl::OkStatus();
    }
    Pending<v1::Member> p{row, true, false, in};
    ASSIGN_OR_RETURN(std::string raw_id, RandomBytes(12));
    p.record.set_id(HexEncode(raw_id));
    p.record.set_org_id(target_.id());
    p.record.set_status(v1::MEMBER_ACTIVE);
    p.record.set_created_at_ms(now_ms_);
    p.record.set_updated_at_ms(now_ms_);
    pending_members_.push_back(std::move(p));
  } else {
    return found.status();
  }
  if (pending_members_.size() >=
      static_cast<size_t>(im_->options_.batch_rows)) {
    return Hand(&pending_members_);
  }
  return absl::OkStatus();
}

absl::Status Importer::Job::OnOrg(int64_t row, const v1::Org& in, bool commit,
                                  PassResult* r) {
  const v1::Org& parent = target_;
  const Store& store = *im_->store_;
  bool bad = false;
  auto error = [&](absl::string_view column, absl::string_view value,
                   std::string reason) {
    RowError(r, row, column, value, std::move(reason));
    bad = true;
  };
  if (in.parent_id() != parent.id()) {
    error("上级组织编号", in.parent_id(),
          absl::StrCat("只能登记本单位的直属下级组织：上级组织编号应为 ",
                       parent.id()));
  }
  if (!in.host_node().empty() && in.host_node() != in.id()) {
    error("托管节点", in.host_node(),
          "托管节点应留空（由本节点托管），或填写本组织自己的编号（该组织运行"
          "自己的节点）");
  }
  if (!CheckParentChild(parent, in.kind()).ok()) {
    error("组织类别", OrgKindChineseName(in.kind()),
          absl::StrCat("“", OrgKindChineseName(parent.kind()), "”下不能设立“",
                       OrgKindChineseName(in.kind()), "”"));
  }
  if (std::string why =
          UnlistedSystemReason(im_->options_.systems, in.system());
      !why.empty()) {
    error("所属系统", in.system(), std::move(why));
  }
  v1::Org reg;
  reg.set_id(in.id());
  reg.set_name(in.name());
  reg.set_kind(in.kind());
  reg.set_tier(parent.tier() + 1);
  reg.set_parent_id(parent.id());
  reg.set_region(in.region().empty() ? parent.region() : in.region());
  reg.set_system(in.system().empty() ? parent.system() : in.system());
  reg.set_status(v1::ORG_ACTIVE);
  reg.set_host_node(in.host_node().empty() ? store.node_id() : in.host_node());
  bool create = false;
  if (!bad) {
    auto existing = store.GetOrg(in.id());
    if (existing.ok()) {
      if (existing->parent_id() != parent.id()) {
        error("组织编号", in.id(), "该组织编号已被其他组织使用，请核对");
      } else if (!SameRegistration(*existing, reg)) {
        error("组织编号", in.id(),
              "该组织已登记，但文件中的登记信息（名称、类别、区域、系统或托管"
              "节点）与系统中的不一致；已登记的信息不能通过导入修改");
      } else {
        ++n_.unchanged;
        return absl::OkStatus();
      }
    } else if (absl::IsNotFound(existing.status())) {
      create = true;
    } else {
      return existing.status();
    }
  }
  const bool hosted_here = reg.host_node() == store.node_id();
  if (create && HasProfile(in) && !hosted_here) {
    error("", "",
          "该组织由其自己的节点托管，资料信息由该组织自行填写（R3）；请清空统一"
          "社会信用代码至地址各列");
  }
  if (bad) {
    RowInvalid(r);
    return absl::OkStatus();
  }
  if (!commit) {
    ++n_.created;
    return absl::OkStatus();
  }
  Pending<v1::Org> p{row, true, hosted_here && HasProfile(in), reg};
  if (p.profile) {
    v1::Org& o = p.record;
    o.set_credit_code(in.credit_code());
    if (HasContact(in.chair())) *o.mutable_chair() = in.chair();
    if (HasContact(in.data_admin())) *o.mutable_data_admin() = in.data_admin();
    if (HasContact(in.contact())) *o.mutable_contact() = in.contact();
    o.set_employee_count(in.employee_count());
    o.set_founding_date(in.founding_date());
    o.set_address(in.address());
  }
  p.record.set_profile_completeness(ProfileCompleteness(p.record));
  p.record.set_created_at_ms(now_ms_);
  p.record.set_updated_at_ms(now_ms_);
  pending_orgs_.push_back(std::move(p));
  if (pending_orgs_.size() >= static_cast<size_t>(im_->options_.batch_rows)) {
    return Hand(&pending_orgs_);
  }
  return absl::OkStatus();
}

template <typename Record>
absl::Status Importer::Job::Hand(std::vector<Pending<Record>>* pending) {
  auto batch =
      std::make_shared<std::vector<Pending<Record>>>(std::move(*pending));
  pending->clear();
  PassResult* r = pass_;
  // Encrypting and serialising the rows happens here, on the reading
  // thread, while the committer writes the previous batch.
  auto w = std::make_shared<WriteSet>();
  for (const Pending<Record>& p : *batch) Put(*w, p);
  RETURN_IF_ERROR(w->Prepare(*im_->store_));
  return committer_->Push(
      [this, batch, w, r] { return Flush(batch.get(), *w, r); });
}

template <typename Record>
absl::Status Importer::Job::Flush(std::vector<Pending<Record>>* pending,
                                  const WriteSet& w, PassResult* r) {
  if (pending->empty()) return absl::OkStatus();
  auto count = [&](const Pending<Record>& p) {
    if (p.create) {
      ++n_.created;
    } else {
      ++n_.updated;
    }
    ++n_.committed;
  };
  auto done = im_->store_->Commit(w, viewer_.username);
  if (done.ok()) {
    for (const Pending<Record>& p : *pending) count(p);
  } else if (absl::IsAlreadyExists(done.status()) ||
             absl::IsFailedPrecondition(done.status())) {
    // A concurrent edit refused one of the rows: find it, keep the others.
    for (const Pending<Record>& p : *pending) {
      WriteSet one;
      Put(one, p);
      auto s = im_->store_->Commit(one, viewer_.username);
      if (s.ok()) {
        count(p);
      } else if (absl::IsAlreadyExists(s.status()) ||
                 absl::IsFailedPrecondition(s.status())) {
        RowError(r, p.row, "", "", CommitRefusal(p));
        RowInvalid(r);
      } else {
        return s.status();
      }
    }
  } else {
    return done.status();
  }
  pending->clear();
  return absl::OkStatus();
}

absl::StatusOr<Importer::Job::PassResult> Importer::Job::RunPass(bool commit) {
  for (std::atomic<int64_t>* c :
       {&n_.rows_read, &n_.valid, &n_.invalid, &n_.committed, &n_.created,
        &n_.updated, &n_.unchanged}) {
    *c = 0;
  }
  const v1::ImportPhase phase =
      commit ? v1::IMPORT_COMMITTING : v1::IMPORT_VALIDATING;
  Report(phase, /*force=*/true);

  ingest::ReaderOptions ro;
  ro.format = FormatOf(options_.format());
  ro.encoding = EncodingOf(options_.encoding());
  const ingest::TemplateSpec& spec = ingest::Template(
      members_ ? ingest::TemplateKind::kMember : ingest::TemplateKind::kOrg);
  ro.sheet_name = std::string(spec.sheet_name);
  ASSIGN_OR_RETURN(std::unique_ptr<ingest::TableReader> reader,
                   ingest::OpenTableFile(path_, ro));
  ingest::ImportOptions io;
  io.org_id = target_.id();
  io.today = ChinaCivilDay(im_->clock_->NowMs());
  io.max_errors = static_cast<size_t>(im_->options_.max_report_errors);
  now_ms_ = im_->clock_->NowMs();

  PassResult r;
  pass_ = &r;
  if (commit) committer_ = std::make_unique<Committer>();
  auto on_row = [&](int64_t row) -> absl::Status {
    if (cancelled_ != nullptr && cancelled_->load()) {
      return absl::CancelledError("导入已取消");
    }
    n_.rows_read = std::max<int64_t>(n_.rows_read, row - 1);
    ++n_.valid;
    Report(phase, false);
    return absl::OkStatus();
  };
  absl::StatusOr<ingest::ImportSummary> s;
  if (members_) {
    s = ingest::ImportMembers(
        *reader, io, [&](int64_t row, const v1::Member& m) -> absl::Status {
          RETURN_IF_ERROR(on_row(row));
          return OnMember(row, m, commit, &r);
        });
    if (s.ok() && commit && !pending_members_.empty()) {
      if (auto h = Hand(&pending_members_); !h.ok()) s = h;
    }
  } else {
    s = ingest::ImportOrgs(*reader, io,
                           [&](int64_t row, const v1::Org& o) -> absl::Status {
                             RETURN_IF_ERROR(on_row(row));
                             return OnOrg(row, o, commit, &r);
                           });
    if (s.ok() && commit && !pending_orgs_.empty()) {
      if (auto h = Hand(&pending_orgs_); !h.ok()) s = h;
    }
  }
  pending_members_.clear();
  pending_orgs_.clear();
  if (committer_ != nullptr) {
    // Wait for the batches in flight, also when reading failed.
    absl::Status c = committer_->Finish();
    committer_.reset();
    if (s.ok() && !c.ok()) s = c;
  }
  pass_ = nullptr;
  if (!s.ok()) return s.status();
  r.ingest = *std::move(s);
  std::stable_sort(r.store_errors.begin(), r.store_errors.end(),
                   [](const ingest::CellError& a, const ingest::CellError& b) {
                     return a.row < b.row;
                   });
  n_.rows_read = r.ingest.rows;
  n_.valid = r.ingest.valid_rows - r.store_invalid_rows;
  n_.invalid = r.ingest.invalid_rows + r.store_invalid_rows;
  n_.total = r.ingest.rows;
  return r;
}

v1::ImportSummary Importer::Job::Summarize(PassResult r, bool written) {
  v1::ImportSummary out;
  const int64_t total_errors = r.ingest.total_errors + r.store_error_count;
  out.set_ok(total_errors == 0);
  out.set_written(written);
  out.set_dry_run(options_.dry_run());
  out.set_mode(options_.mode());
  *out.mutable_counts() = Counts();
  out.set_total_errors(total_errors);
  std::vector<ingest::CellError> errors =
      MergeByRow(std::move(r.ingest.errors), std::move(r.store_errors),
                 static_cast<size_t>(im_->options_.max_report_errors));
  for (size_t i = 0; i < errors.size() &&
                     i < static_cast<size_t>(im_->options_.max_listed_errors);
       ++i) {
    v1::ImportCellError* e = out.add_errors();
    e->set_row(errors[i].row);
    e->set_column(errors[i].column);
    e->set_value(errors[i].value);
    e->set_reason(errors[i].reason);
  }
  if (!errors.empty()) out.set_error_report_csv(ingest::ErrorReportCsv(errors));
  out.set_fingerprint(r.ingest.fingerprint);
  const v1::ImportCounts c = Counts();
  const std::string tally = absl::StrCat("新增", c.created(), "、更新",
                                         c.updated(), "、未变", c.unchanged());
  if (options_.dry_run()) {
    out.set_message(
        total_errors == 0
            ? absl::StrCat("试导入（未写入）：共", c.rows_read(),
                           "行，全部正确；正式导入将", tally)
            : absl::StrCat("试导入（未写入）：共", c.rows_read(), "行，其中",
                           c.invalid_rows(),
                           "行有错误，请按错误报告在表格中修改后重新导入"));
  } else if (total_errors == 0) {
    out.set_message(absl::StrCat("导入完成：共", c.rows_read(), "行，", tally));
  } else if (options_.mode() == v1::IMPORT_VALID_ROWS_ONLY) {
    out.set_message(absl::StrCat("已导入正确的行：共", c.rows_read(), "行，",
                                 tally, "；", c.invalid_rows(),
                                 "行有错误未导入，请按错误报告修改后重新导入"));
  } else if (!written) {
    out.set_message(absl::StrCat(
        "未导入任何数据：共", c.rows_read(), "行，其中", c.invalid_rows(),
        "行有错误；请按错误报告修改后重新导入（或选择只导入正确的行）"));
  } else {
    out.set_message(
        absl::StrCat("导入中途发现", c.invalid_rows(),
                     "行被他人同时修改的数据，已写入", c.committed_rows(),
                     "行；请核对错误报告后重新导入（已导入的行不会重复）"));
  }
  return out;
}

absl::StatusOr<v1::ImportSummary> Importer::Job::Run(
    const ImportProgressFn& progress, const std::atomic<bool>* cancelled) {
  if (fd_ < 0) return absl::FailedPreconditionError("the job has already run");
  close(fd_);
  fd_ = -1;
  progress_ = progress;
  cancelled_ = cancelled;
  const int64_t start = im_->clock_->NowMs();
  if (options_.size_bytes() > 0 && options_.size_bytes() != bytes_) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("文件上传不完整：收到", bytes_, "字节，应为",
                     options_.size_bytes(), "字节；请重新导入")));
  }
  if (bytes_ == 0) {
    return Fail(absl::InvalidArgumentError("文件是空的，请选择填好的模板文件"));
  }
  const bool validate_first =
      options_.dry_run() || options_.mode() == v1::IMPORT_ALL_OR_NOTHING;
  PassResult result;
  bool written = false;
  if (validate_first) {
    auto first = RunPass(/*commit=*/false);
    if (!first.ok()) return Fail(first.status());
    result = *std::move(first);
    const bool clean =
        result.ingest.total_errors == 0 && result.store_error_count == 0;
    if (!options_.dry_run() && clean) {
      auto second = RunPass(/*commit=*/true);
      written = n_.committed > 0;
      if (!second.ok()) return Fail(second.status());
      result = *std::move(second);
    }
  } else {
    auto only = RunPass(/*commit=*/true);
    written = n_.committed > 0;
    if (!only.ok()) return Fail(only.status());
    result = *std::move(only);
  }
  v1::ImportSummary summary = Summarize(std::move(result), written);
  summary.set_elapsed_ms(im_->clock_->NowMs() - start);
  Report(v1::IMPORT_DONE, /*force=*/true);
  audited_ = true;
  RETURN_IF_ERROR(
      Audit(summary.ok() || summary.written() ? v1::AUDIT_OK : v1::AUDIT_FAILED,
            absl::StrCat(options_.filename().empty()
                             ? ""
                             : absl::StrCat("file ", options_.filename(), "; "),
                         CountsText(), "; errors ", summary.total_errors())));
  return summary;
}

// ---------------------------------------------------------------------------

Importer::Importer(Store* store, const Clock* clock, Authenticator* auth,
                   ImporterOptions options)
    : store_(store), clock_(clock), auth_(auth), options_(std::move(options)) {}

Importer::~Importer() = default;

absl::Status Importer::Init() {
  if (options_.spool_dir.empty()) {
    return absl::InvalidArgumentError("importer: spool_dir is required");
  }
  if (mkdir(options_.spool_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus(
        absl::StrCat("cannot create spool directory ", options_.spool_dir),
        errno);
  }
  DIR* dir = opendir(options_.spool_dir.c_str());
  if (dir == nullptr) {
    return ErrnoStatus(absl::StrCat("cannot open ", options_.spool_dir), errno);
  }
  while (struct dirent* e = readdir(dir)) {
    if (absl::StartsWith(e->d_name, kSpoolPrefix)) {
      unlink(absl::StrCat(options_.spool_dir, "/", e->d_name).c_str());
    }
  }
  closedir(dir);
  return absl::OkStatus();
}

absl::StatusOr<v1::GetTemplateResponse> Importer::GetTemplate(
    const v1::GetTemplateRequest& req) {
  ingest::TemplateKind kind;
  switch (req.kind()) {
    case v1::TEMPLATE_MEMBER:
      kind = ingest::TemplateKind::kMember;
      break;
    case v1::TEMPLATE_ORG:
      kind = ingest::TemplateKind::kOrg;
      break;
    default:
      return absl::InvalidArgumentError(
          "kind: TEMPLATE_MEMBER or TEMPLATE_ORG");
  }
  ingest::WriteOptions wo;
  wo.format = req.format() == v1::FILE_FORMAT_CSV ? ingest::FileFormat::kCsv
                                                  : ingest::FileFormat::kXlsx;
  wo.encoding = req.encoding() == v1::TEXT_ENCODING_AUTO
                    ? ingest::TextEncoding::kUtf8
                    : EncodingOf(req.encoding());
  const ingest::TemplateSpec& spec = ingest::Template(kind);
  v1::GetTemplateResponse resp;
  ASSIGN_OR_RETURN(*resp.mutable_content(), ingest::TemplateBytes(spec, wo));
  const bool csv = wo.format == ingest::FileFormat::kCsv;
  std::string suffix;
  if (csv && wo.encoding != ingest::TextEncoding::kUtf8) {
    suffix = absl::StrCat("-", ingest::EncodingName(wo.encoding));
  }
  resp.set_filename(
      absl::StrCat(spec.file_stem, suffix, csv ? ".csv" : ".xlsx"));
  resp.set_content_type(
      csv ? "text/csv"
          : "application/"
            "vnd.openxmlformats-officedocument.spreadsheetml.sheet");
  return resp;
}

void Importer::Release(const std::string& key) {
  absl::MutexLock lock(&mu_);
  busy_.erase(key);
  --running_;
}

absl::StatusOr<std::unique_ptr<ImportJob>> Importer::Begin(
    const RequestContext& ctx, const v1::ImportOptions& options) {
  const bool members = options.kind() == v1::TEMPLATE_MEMBER;
  const absl::string_view action = members ? kMembersAction : kOrgsAction;
  ASSIGN_OR_RETURN(Viewer viewer, auth_->Authenticate(ctx, action));
  auto fail = [&](absl::string_view target, absl::Status s) -> absl::Status {
    v1::AuditEntry e;
    e.set_time_ms(clock_->NowMs());
    e.set_actor(viewer.username);
    e.set_actor_org(viewer.org_id);
    e.set_action(std::string(action));
    e.set_target(std::string(target));
    e.set_outcome(v1::AUDIT_FAILED);
    e.set_detail(s.ToString().substr(0, 500));
    e.set_peer(ctx.peer);
    WriteSet w;
    w.Audit(std::move(e));
    RETURN_IF_ERROR(store_->Commit(w, viewer.username).status());
    return s;
  };
  if (options.kind() != v1::TEMPLATE_MEMBER &&
      options.kind() != v1::TEMPLATE_ORG) {
    return fail("", absl::InvalidArgumentError(
                        "options.kind: TEMPLATE_MEMBER or TEMPLATE_ORG"));
  }
  if (!v1::ImportMode_IsValid(options.mode()) ||
      !v1::FileFormat_IsValid(options.format()) ||
      !v1::TextEncoding_IsValid(options.encoding())) {
    return fail("", absl::InvalidArgumentError(
                        "options: unknown mode, format or encoding"));
  }
  if (options.size_bytes() < 0 ||
      options.size_bytes() > options_.max_upload_bytes) {
    return fail("", absl::ResourceExhaustedError(absl::StrCat(
                        "文件超过", options_.max_upload_bytes >> 20,
                        " MiB的上限，请拆分成几个文件分别导入")));
  }
  if (auto s = ValidateText("options.filename", options.filename(), 200, false);
      !s.ok()) {
    return fail("", s);
  }
  std::string org_id;
  if (members) {
    org_id = options.org_id().empty() ? viewer.org_id : options.org_id();
    if (auto s = ValidateIdentifier("options.org_id", org_id); !s.ok()) {
      return fail("", s);
    }
    if (viewer.role != v1::DATA_ADMIN) {
      return auth_->Deny(viewer, ctx, action, OrgTarget(org_id),
                         "only the data administrator may do this");
    }
    if (org_id != viewer.org_id) {
      return auth_->Deny(
          viewer, ctx, action, OrgTarget(org_id),
          "members are entered by the union of the unit where they work: "
          "org_id must be your own organisation (R4)");
    }
  } else {
    org_id = viewer.org_id;
    if (!options.org_id().empty() && options.org_id() != viewer.org_id) {
      return auth_->Deny(viewer, ctx, action, OrgTarget(options.org_id()),
                         "organisations are registered by their direct "
                         "parent: they are imported as children of your own "
                         "organisation (R2)");
    }
    if (viewer.role != v1::DATA_ADMIN) {
      return auth_->Deny(viewer, ctx, action, OrgTarget(org_id),
                         "only the data administrator may do this");
    }
  }
  const std::string target = OrgTarget(org_id);
  auto org = store_->GetOrg(org_id);
  if (!org.ok()) return fail(target, org.status());
  if (org->host_node() != store_->node_id()) {
    return fail(target, absl::FailedPreconditionError(absl::StrCat(
                            "organisation '", org_id, "' is hosted on node '",
                            org->host_node(), "'; import there")));
  }
  if (org->status() != v1::ORG_ACTIVE) {
    return fail(target, absl::FailedPreconditionError(
                            absl::StrCat("'", org_id, "' is dissolved")));
  }
  if (members && !IsGrassroots(org->kind())) {
    return fail(target, absl::FailedPreconditionError(absl::StrCat(
                            "members belong to active grassroots unions; '",
                            org_id, "' is a ", OrgKindCode(org->kind()))));
  }

  const std::string key = absl::StrCat(members ? "m/" : "o/", org_id);
  {
    absl::MutexLock lock(&mu_);
    if (busy_.count(key) > 0) {
      return fail(target, absl::FailedPreconditionError(absl::StrCat(
                              "an import into '", org_id,
                              "' is already running; wait for it to end")));
    }
    if (running_ >= options_.max_concurrent) {
      return fail(target, absl::ResourceExhaustedError(absl::StrCat(
                              "this node runs ", options_.max_concurrent,
                              " imports already; try again in a minute")));
    }
    busy_.insert(key);
    ++running_;
  }
  const std::string path =
      absl::StrCat(options_.spool_dir, "/", kSpoolPrefix, getpid(), "-",
                   next_spool_.fetch_add(1), ".tmp");
  int fd = open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    Release(key);
    return fail(target, ErrnoStatus(absl::StrCat("cannot create ", path), err));
  }
  return std::unique_ptr<ImportJob>(new Job(
      this, std::move(viewer), ctx, options, *std::move(org), key, path, fd));
}

absl::StatusOr<v1::ImportSummary> Importer::ImportFile(
    const RequestContext& ctx, const v1::ImportOptions& options,
    const std::string& path, const ImportProgressFn& progress) {
  ASSIGN_OR_RETURN(std::unique_ptr<ImportJob> job, Begin(ctx, options));
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(absl::StrCat("cannot open ", path), errno);
  std::string buf(1 << 20, '\0');
  for (;;) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(fd);
      return ErrnoStatus(absl::StrCat("cannot read ", path), err);
    }
    if (n == 0) break;
    if (auto s = job->Append(absl::string_view(buf.data(), n)); !s.ok()) {
      close(fd);
      return s;
    }
  }
  close(fd);
  return job->Run(progress, nullptr);
}

}  // namespace unionsync
