#include "node/uplink.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/client_callback.h"
#include "node/admin_service.h"

namespace unionsync {
namespace {

constexpr int kMaxMessageBytes = 64 << 20;

// The client reactor of one Link stream. Every Start* call comes from the
// LinkWorker's thread (through LinkTransport); the reactions only post events.
// A hold taken before StartCall keeps gRPC from finishing the reactor while the
// worker may still use it; Close releases it, and OnDone deletes the reactor.
class UplinkReactor final
    : public grpc::ClientBidiReactor<v1::LinkMessage, v1::LinkMessage>,
      public LinkTransport {
 public:
  UplinkReactor(v1::ReplicationService::Stub* stub,
                std::shared_ptr<LinkEventQueue> events, uint64_t stream_id)
      : events_(std::move(events)), id_(stream_id) {
    events_->ReactorStarted();
    stub->async()->Link(&ctx_, this);
    AddHold();
    StartCall();
  }

  // LinkTransport (worker thread).
  void Read() override { StartRead(&read_); }
  void Write(v1::LinkMessage message) override {
    write_ = std::move(message);
    StartWrite(&write_);
  }
  void Close(const absl::Status& status) override {
    ctx_.TryCancel();
    RemoveHold();
  }

  // Reactions (gRPC threads): post and return.
  void OnReadDone(bool ok) override {
    LinkEvent e;
    e.stream = id_;
    if (!ok) {
      e.kind = LinkEvent::Kind::kReadFailed;
      events_->Post(std::move(e));
      return;
    }
    e.kind = LinkEvent::Kind::kRead;
    e.message = std::move(read_);
    read_.Clear();
    if (first_read_) {
      // The channel verified the parent's certificate against the CA; which
      // organisation it names is checked by the worker before anything but
      // the Hello is sent.
      first_read_ = false;
      std::shared_ptr<const grpc::AuthContext> auth = ctx_.auth_context();
      e.peer_org =
          auth != nullptr
              ? PeerOrgId(*auth)
              : absl::UnauthenticatedError("no authentication context");
    }
    events_->Post(std::move(e));
  }
  void OnWriteDone(bool ok) override {
    LinkEvent e;
    e.kind = LinkEvent::Kind::kWriteDone;
    e.stream = id_;
    e.ok = ok;
    events_->Post(std::move(e));
  }
  void OnDone(const grpc::Status& status) override {
    LinkEvent e;
    e.kind = LinkEvent::Kind::kDone;
    e.stream = id_;
    e.status = absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                            status.error_message());
    events_->Post(std::move(e));
    std::shared_ptr<LinkEventQueue> events = std::move(events_);
    delete this;
    events->ReactorDone();
  }

 private:
  grpc::ClientContext ctx_;
  std::shared_ptr<LinkEventQueue> events_;
  const uint64_t id_;
  bool first_read_ = true;  // Reads are serialised: no lock needed.
  v1::LinkMessage read_;
  v1::LinkMessage write_;
};

}  // namespace

Backoff::Backoff(int64_t initial_ms, int64_t max_ms, uint32_t seed)
    : initial_ms_(std::max<int64_t>(initial_ms, 1)),
      max_ms_(std::max(max_ms, initial_ms_)),
      rng_(seed) {}

int64_t Backoff::NextDelayMs() {
  int64_t cap = initial_ms_;
  for (int i = 0; i < attempt_ && cap < max_ms_; ++i) cap *= 2;
  cap = std::min(cap, max_ms_);
  if (cap < max_ms_) ++attempt_;
  return std::uniform_int_distribution<int64_t>(0, cap)(rng_);
}

absl::StatusOr<std::unique_ptr<Uplink>> Uplink::Create(UplinkOptions options) {
  if (options.parent_address.empty() || options.parent_id.empty()) {
    return absl::InvalidArgumentError(
        "uplink: both the parent's address and its id are required");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> creds,
                   MakeChannelCredentials(options.tls));
  grpc::ChannelArguments args;
  // Detect a dead parent (or a silently dropped NAT mapping) within ~15 s
  // even while the stream is idle.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  // The channel's own reconnection must not lag behind ours (its default
  // grows to 120 s).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
              static_cast<int>(options.initial_backoff_ms));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              static_cast<int>(options.max_backoff_ms));
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(options.parent_address, creds, args);
  if (channel == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "uplink: cannot create a channel to '", options.parent_address, "'"));
  }
  return std::unique_ptr<Uplink>(
      new Uplink(std::move(options), std::move(channel)));
}

Uplink::Uplink(UplinkOptions options, std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      stub_(v1::ReplicationService::NewStub(channel_)),
      backoff_(options_.initial_backoff_ms, options_.max_backoff_ms,
               std::random_device()()) {}

LinkTransport* Uplink::Open(std::shared_ptr<LinkEventQueue> events,
                            uint64_t stream_id) {
  return new UplinkReactor(stub_.get(), std::move(events), stream_id);
}

}  // namespace unionsync
