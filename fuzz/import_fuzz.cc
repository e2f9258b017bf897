// libFuzzer target: the import entry point (R5) as the node runs it on an
// uploaded file: detect CSV (UTF-8/GBK/GB18030) or XLSX, stream the rows, map
// them with the member template. Any input must end in rows or a clear error,
// within the reader's memory limits; never a crash or an unbounded read.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/strings/string_view.h"
#include "ingest/import.h"
#include "ingest/table.h"
#include "unionsync/v1/model.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace unionsync::ingest;  // NOLINT
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto reader = OpenTableBytes(bytes);
  if (!reader.ok()) return 0;
  ImportOptions options;
  options.org_id = "g1";
  options.today = absl::CivilDay(2026, 12, 2);
  options.max_errors = 100;
  MemberRowMapper mapper(options);
  bool header = false;
  std::vector<CellError> errors;
  for (int rows = 0; rows < 10000; ++rows) {
    auto row = (*reader)->Next();
    if (!row.ok() || *row == nullptr) break;
    if (!header) {
      header = mapper.SetHeader(**row).ok();
      if (!header) break;
      continue;
    }
    if ((*row)->IsBlank()) continue;
    unionsync::v1::Member m;
    mapper.Map(**row, &m, &errors);
    if (errors.size() > 100) errors.clear();
  }
  return 0;
}
