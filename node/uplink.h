// The child side of replication: the mutual-TLS channel to the parent node and
// the client reactor of one Link stream. The LinkWorker decides when to
// connect (reconnecting with Backoff after any failure) and drives the stream;
// nothing in the Admin path waits for the uplink, so a node serves its users
// while its parent is unreachable.
#ifndef UNIONSYNC_NODE_UPLINK_H_
#define UNIONSYNC_NODE_UPLINK_H_

#include <cstdint>
#include <memory>
#include <random>
#include <string>

#include "absl/status/statusor.h"
#include "node/link_worker.h"
#include "tls/tls.h"
#include "unionsync/v1/replication.grpc.pb.h"

namespace unionsync {

// Exponential backoff with full jitter (AWS architecture blog, "Exponential
// Backoff and Jitter"): the n-th consecutive failure waits a uniformly random
// time in [0, min(max, initial * 2^n)], so many children whose parent comes
// back do not reconnect in lockstep. Not thread-safe.
class Backoff {
 public:
  Backoff(int64_t initial_ms, int64_t max_ms, uint32_t seed);
  // The wait before the next attempt; advances the exponent.
  int64_t NextDelayMs();
  // After a healthy session: start again from `initial_ms`.
  void Reset() { attempt_ = 0; }
  int attempt() const { return attempt_; }

 private:
  const int64_t initial_ms_;
  const int64_t max_ms_;
  int attempt_ = 0;
  std::mt19937 rng_;
};

struct UplinkOptions {
  std::string parent_address;  // host:port of the parent's replication port.
  std::string parent_id;       // The organisation id its certificate must name.
  TlsFiles tls;
  int64_t initial_backoff_ms = 200;
  int64_t max_backoff_ms = 30'000;
  // A session that streamed this long resets the backoff.
  int64_t healthy_session_ms = 10'000;
};

// Thread-safety: Open may be called from any thread (it is called by the
// LinkWorker's thread); backoff() belongs to the LinkWorker's thread.
class Uplink {
 public:
  // Builds the channel (no connection is made yet). Fails when the TLS files
  // are unusable (see MakeChannelCredentials) or the options are incomplete.
  static absl::StatusOr<std::unique_ptr<Uplink>> Create(UplinkOptions options);

  // Starts one Link call to the parent. Its reactor posts events for
  // `stream_id` to `events`; the caller drives it through the returned
  // transport until it calls Close.
  LinkTransport* Open(std::shared_ptr<LinkEventQueue> events,
                      uint64_t stream_id);

  const UplinkOptions& options() const { return options_; }
  Backoff& backoff() { return backoff_; }

 private:
  Uplink(UplinkOptions options, std::shared_ptr<grpc::Channel> channel);

  const UplinkOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ReplicationService::Stub> stub_;
  Backoff backoff_;
};

}  // namespace unionsync

#endif  // UNIONSYNC_NODE_UPLINK_H_
