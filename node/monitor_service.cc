#include "node/monitor_service.h"

#include <deque>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "dues/ledger.h"
#include "monitor/monitor.h"
#include "node/admin.h"
#include "node/admin_service.h"
#include "unionsync/v1/monitor.grpc.pb.h"

namespace unionsync {
namespace {

// A watcher that falls this far behind is dropped (it reconnects and gets
// the open warnings again).
constexpr size_t kMaxQueued = 1024;

RequestContext RequestOf(const grpc::ServerContextBase* ctx) {
  CallContext c = ContextOf(ctx);
  return RequestContext{std::move(c.token), std::move(c.peer)};
}

template <typename Resp, typename Call>
grpc::Status Run(grpc::ServerContext* ctx, Resp* resp, Call call) {
  absl::StatusOr<Resp> result = call(RequestOf(ctx));
  if (!result.ok()) return ToGrpcStatus(result.status());
  *resp = *std::move(result);
  return grpc::Status::OK;
}

// One WatchWarnings stream. Updates arrive on committing threads; the
// reactor writes them one at a time. No lock is held while calling into gRPC
// (a reaction may run inline); a reactor stays alive while a write is in
// flight because Finish is only called when none is.
class WatchReactor final : public grpc::ServerWriteReactor<v1::WarningUpdate> {
 public:
  // Shared with the sink, which may outlive the reactor by a moment.
  struct State {
    absl::Mutex mu;
    WatchReactor* reactor ABSL_GUARDED_BY(mu) = nullptr;
    std::deque<v1::WarningUpdate> queue ABSL_GUARDED_BY(mu);
    bool writing ABSL_GUARDED_BY(mu) = false;
    bool finished ABSL_GUARDED_BY(mu) = false;
    std::optional<grpc::Status> finish_pending ABSL_GUARDED_BY(mu);
  };

  WatchReactor(Monitor* monitor, grpc::CallbackServerContext* ctx,
               const v1::WatchWarningsRequest& req)
      : monitor_(monitor), state_(std::make_shared<State>()) {
    {
      absl::MutexLock lock(&state_->mu);
      state_->reactor = this;
    }
    std::shared_ptr<State> state = state_;
    auto id = monitor_->Watch(
        RequestOf(ctx), req,
        [state](v1::WarningUpdate u) { Push(*state, std::move(u)); });
    if (!id.ok()) {
      RequestFinish(*state_, ToGrpcStatus(id.status()));
      return;
    }
    id_ = *id;
  }

  void OnWriteDone(bool ok) override {
    State& st = *state_;
    std::optional<grpc::Status> finish;
    bool write = false;
    {
      absl::MutexLock lock(&st.mu);
      st.writing = false;
      if (!ok) {
        st.finish_pending =
            grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed");
      }
      if (st.finish_pending.has_value()) {
        if (!st.finished) {
          st.finished = true;
          finish = st.finish_pending;
        }
      } else if (!st.queue.empty() && !st.finished) {
        current_ = std::move(st.queue.front());
        st.queue.pop_front();
        st.writing = true;
        write = true;
      }
    }
    if (finish.has_value()) Finish(*finish);
    if (write) StartWrite(&current_);
  }

  void OnCancel() override { RequestFinish(*state_, grpc::Status::CANCELLED); }

  void OnDone() override {
    if (id_ != 0) monitor_->Unwatch(id_);
    {
      absl::MutexLock lock(&state_->mu);
      state_->reactor = nullptr;
      state_->queue.clear();
    }
    delete this;
  }

 private:
  // Finishes now when no write is in flight, else after it completes.
  static void RequestFinish(State& st, grpc::Status status) {
    WatchReactor* reactor = nullptr;
    {
      absl::MutexLock lock(&st.mu);
      if (st.finished || st.reactor == nullptr) return;
      if (st.writing) {
        if (!st.finish_pending.has_value()) st.finish_pending = status;
        return;
      }
      st.finished = true;
      reactor = st.reactor;
    }
    reactor->Finish(status);
  }

  static void Push(State& st, v1::WarningUpdate u) {
    WatchReactor* reactor = nullptr;
    {
      absl::MutexLock lock(&st.mu);
      if (st.reactor == nullptr || st.finished ||
          st.finish_pending.has_value()) {
        return;
      }
      if (st.queue.size() >= kMaxQueued) {
        // Dropped below; the watcher reconnects and gets the snapshot.
      } else {
        st.queue.push_back(std::move(u));
        if (st.writing) return;
        reactor = st.reactor;
        reactor->current_ = std::move(st.queue.front());
        st.queue.pop_front();
        st.writing = true;
      }
    }
    if (reactor == nullptr) {
      RequestFinish(st, grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                     "watcher too slow: more than 1024 "
                                     "updates queued; reconnect"));
      return;
    }
    reactor->StartWrite(&reactor->current_);
  }

  Monitor* monitor_;
  std::shared_ptr<State> state_;
  uint64_t id_ = 0;
  v1::WarningUpdate current_;
};

using Base = v1::MonitorService::WithCallbackMethod_WatchWarnings<
    v1::MonitorService::Service>;

class MonitorServiceImpl final : public Base {
 public:
  MonitorServiceImpl(Monitor* monitor, DuesLedger* dues)
      : monitor_(monitor), dues_(dues) {}

#define US_MONITOR_RPC(object, Name)                                        \
  grpc::Status Name(grpc::ServerContext* ctx, const v1::Name##Request* req, \
                    v1::Name##Response* resp) override {                    \
    return Run(ctx, resp, [&](const RequestContext& c) {                    \
      return object->Name(c, *req);                                         \
    });                                                                     \
  }
  US_MONITOR_RPC(monitor_, GetProgress)
  US_MONITOR_RPC(monitor_, GetTimeSeries)
  US_MONITOR_RPC(monitor_, ExportProgressCsv)
  US_MONITOR_RPC(monitor_, ListWarnings)
  US_MONITOR_RPC(monitor_, ListConflicts)
  US_MONITOR_RPC(monitor_, ResolveConflict)
  US_MONITOR_RPC(monitor_, GetSyncFreshness)
  US_MONITOR_RPC(dues_, ImportDues)
  US_MONITOR_RPC(dues_, GetDuesCoverage)
#undef US_MONITOR_RPC

  grpc::ServerWriteReactor<v1::WarningUpdate>* WatchWarnings(
      grpc::CallbackServerContext* ctx,
      const v1::WatchWarningsRequest* req) override {
    return new WatchReactor(monitor_, ctx, *req);
  }

 private:
  Monitor* monitor_;
  DuesLedger* dues_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewMonitorService(Monitor* monitor,
                                                 DuesLedger* dues) {
  return std::make_unique<MonitorServiceImpl>(monitor, dues);
}

}  // namespace unionsync
