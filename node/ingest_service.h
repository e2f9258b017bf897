// The gRPC edge of the Ingest API (node/importer.h holds the logic).
// GetTemplate uses the synchronous API. Import, a bidirectional stream, uses
// the callback API: its reactions only record what happened and wake the
// call's own worker thread, which reads the upload one message at a time
// (flow control: the next chunk is asked for only once the last one is
// spooled), runs the import and writes progress with one write in flight
// (newer progress of the same phase replaces progress not yet sent).
#ifndef UNIONSYNC_NODE_INGEST_SERVICE_H_
#define UNIONSYNC_NODE_INGEST_SERVICE_H_

#include <memory>

namespace grpc {
class Service;
}  // namespace grpc

namespace unionsync {

class Importer;

// A gRPC service for `importer`, which must outlive it. Destroying the
// service waits for the worker threads of calls still ending (stop the
// server first: that cancels running imports).
std::unique_ptr<grpc::Service> NewIngestService(Importer* importer);

}  // namespace unionsync

#endif  // UNIONSYNC_NODE_INGEST_SERVICE_H_
