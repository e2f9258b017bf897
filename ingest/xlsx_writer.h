// Internal: the XLSX TableWriter (libxlsxwriter), in its own translation unit
// so that libxlsxwriter's bundled zip headers never meet minizip's.
#ifndef UNIONSYNC_INGEST_XLSX_WRITER_H_
#define UNIONSYNC_INGEST_XLSX_WRITER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "ingest/template.h"
#include "ingest/writer.h"

namespace unionsync::ingest::internal {

absl::StatusOr<std::unique_ptr<TableWriter>> CreateXlsxWriter(
    const std::string& path, const TemplateSpec& spec,
    const WriteOptions& options);

}  // namespace unionsync::ingest::internal

#endif  // UNIONSYNC_INGEST_XLSX_WRITER_H_
