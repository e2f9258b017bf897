#include "node/ingest_service.h"

#include <atomic>
#include <deque>
#include <optional>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "monitor/monitor.h"
#include "node/admin.h"
#include "node/admin_service.h"
#include "node/importer.h"
#include "unionsync/v1/ingest.grpc.pb.h"

namespace unionsync {
namespace {

// Upload progress is sent at most this often.
constexpr int64_t kUploadReportBytes = 4 << 20;

RequestContext RequestOf(const grpc::ServerContextBase* ctx) {
  CallContext c = ContextOf(ctx);
  return RequestContext{std::move(c.token), std::move(c.peer)};
}

// Counts the calls whose worker thread is still running.
class Tracker {
 public:
  void Add() {
    absl::MutexLock lock(&mu_);
    ++active_;
  }
  void Remove() {
    absl::MutexLock lock(&mu_);
    --active_;
  }
  void WaitIdle() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](int* n) { return *n == 0; }, &active_));
  }

 private:
  absl::Mutex mu_;
  int active_ ABSL_GUARDED_BY(mu_) = 0;
};

// One Import call. The reactions (OnReadDone, OnWriteDone, OnCancel, OnDone)
// never block: they update the state under `mu_`, which the worker waits on.
// The reactor is deleted by whichever of OnDone and the worker's end comes
// last.
class ImportReactor final
    : public grpc::ServerBidiReactor<v1::ImportRequest, v1::ImportProgress> {
 public:
  ImportReactor(Importer* importer, Tracker* tracker,
                grpc::CallbackServerContext* ctx)
      : importer_(importer), tracker_(tracker), ctx_(RequestOf(ctx)) {
    tracker_->Add();
    std::thread([this] { Work(); }).detach();
  }

  void OnReadDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    read_done_ = true;
    read_ok_ = ok;
  }

  void OnWriteDone(bool ok) override {
    bool start = false;
    {
      absl::MutexLock lock(&mu_);
      if (!ok) broken_ = true;
      if (ok && !pending_.empty()) {
        current_ = std::move(pending_.front());
        pending_.pop_front();
        start = true;
      } else {
        pending_.clear();
        writing_ = false;
      }
    }
    if (start) StartWrite(&current_);
  }

  void OnCancel() override { cancelled_ = true; }

  void OnDone() override {
    bool last = false;
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
      last = worker_exited_;
    }
    if (last) delete this;
  }

 private:
  void Work() {
    std::optional<v1::ImportProgress> final_message;
    grpc::Status status = Body(&final_message);
    {
      // Let a progress write in flight complete first.
      absl::MutexLock lock(&mu_);
      pending_.clear();
      mu_.Await(absl::Condition(
          +[](bool* writing) { return !*writing; }, &writing_));
      if (broken_ && status.ok()) {
        status = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "the client stopped reading");
      }
    }
    if (status.ok() && final_message.has_value()) {
      final_ = *std::move(final_message);
      StartWriteAndFinish(&final_, grpc::WriteOptions(), grpc::Status::OK);
    } else {
      Finish(status);
    }
    Tracker* tracker = tracker_;
    bool last = false;
    {
      absl::MutexLock lock(&mu_);
      worker_exited_ = true;
      last = done_;
    }
    if (last) delete this;
    tracker->Remove();
  }

  // Reads one message; false at the end of the client's stream (or when the
  // call is cancelled).
  bool Read(v1::ImportRequest* msg) {
    {
      absl::MutexLock lock(&mu_);
      read_done_ = false;
    }
    StartRead(msg);
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&read_done_));
    return read_ok_;
  }

  // Sends progress. Progress not yet sent is replaced by newer progress of
  // the same phase, so a slow client gets every phase change but not every
  // count (the queue holds one message per phase at most).
  void Send(const v1::ImportProgress& p) {
    {
      absl::MutexLock lock(&mu_);
      if (broken_) return;
      if (writing_) {
        if (!pending_.empty() && pending_.back().phase() == p.phase()) {
          pending_.back() = p;
        } else {
          pending_.push_back(p);
        }
        return;
      }
      writing_ = true;
      current_ = p;
    }
    StartWrite(&current_);
  }

  grpc::Status Body(std::optional<v1::ImportProgress>* final_message) {
    v1::ImportRequest req;
    if (!Read(&req)) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "no options: the first message carries them");
    }
    if (req.message_case() != v1::ImportRequest::kOptions) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "the first message must carry the options");
    }
    auto job = importer_->Begin(ctx_, req.options());
    if (!job.ok()) return ToGrpcStatus(job.status());
    v1::ImportProgress p;
    p.set_phase(v1::IMPORT_UPLOADING);
    Send(p);
    int64_t reported = 0;
    while (Read(&req)) {
      if (cancelled_) break;
      if (req.message_case() != v1::ImportRequest::kChunk) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "options sent twice: send them once, first");
      }
      if (auto s = (*job)->Append(req.chunk()); !s.ok()) {
        return ToGrpcStatus(s);
      }
      if ((*job)->bytes_received() - reported >= kUploadReportBytes) {
        reported = (*job)->bytes_received();
        p.mutable_counts()->set_bytes_received(reported);
        Send(p);
      }
    }
    if (cancelled_) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "import cancelled");
    }
    auto summary = (*job)->Run(
        [this](const v1::ImportProgress& progress) { Send(progress); },
        &cancelled_);
    if (!summary.ok()) return ToGrpcStatus(summary.status());
    v1::ImportProgress last;
    last.set_phase(v1::IMPORT_DONE);
    *last.mutable_counts() = summary->counts();
    *last.mutable_summary() = *std::move(summary);
    *final_message = std::move(last);
    return grpc::Status::OK;
  }

  Importer* const importer_;
  Tracker* const tracker_;
  const RequestContext ctx_;
  std::atomic<bool> cancelled_{false};

  absl::Mutex mu_;
  bool read_done_ ABSL_GUARDED_BY(mu_) = false;
  bool read_ok_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool worker_exited_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<v1::ImportProgress> pending_ ABSL_GUARDED_BY(mu_);
  // The message being written; touched only by whoever started the write.
  v1::ImportProgress current_;
  v1::ImportProgress final_;
};

using Base =
    v1::IngestService::WithCallbackMethod_Import<v1::IngestService::Service>;

class IngestServiceImpl final : public Base {
 public:
  explicit IngestServiceImpl(Importer* importer) : importer_(importer) {}
  ~IngestServiceImpl() override { tracker_.WaitIdle(); }

  grpc::Status GetTemplate(grpc::ServerContext*,
                           const v1::GetTemplateRequest* req,
                           v1::GetTemplateResponse* resp) override {
    auto result = importer_->GetTemplate(*req);
    if (!result.ok()) return ToGrpcStatus(result.status());
    *resp = *std::move(result);
    return grpc::Status::OK;
  }

  grpc::ServerBidiReactor<v1::ImportRequest, v1::ImportProgress>* Import(
      grpc::CallbackServerContext* ctx) override {
    return new ImportReactor(importer_, &tracker_, ctx);
  }

 private:
  Importer* importer_;
  Tracker tracker_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewIngestService(Importer* importer) {
  return std::make_unique<IngestServiceImpl>(importer);
}

}  // namespace unionsync
