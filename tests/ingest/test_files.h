// Helpers for the ingest tests: temporary files, encodings, XLSX files made
// with libxlsxwriter (good ones) and zips crafted with minizip (hostile ones),
// and synthetic members with unique ID numbers.
#ifndef UNIONSYNC_TESTS_INGEST_TEST_FILES_H_
#define UNIONSYNC_TESTS_INGEST_TEST_FILES_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "ingest/table.h"
#include "unionsync/v1/model.pb.h"

namespace unionsync::ingest::testing {

// A fresh path under the test's temporary directory.
std::string TempPath(absl::string_view name);
std::string ReadBytes(const std::string& path);
void WriteBytes(const std::string& path, absl::string_view bytes);

// `utf8` converted with iconv to `encoding` ("GBK", "GB18030").
std::string Iconv(absl::string_view utf8, const char* encoding);

// The member template's headers joined with commas, and a CSV line of cells.
std::string MemberHeaderCsv();
std::string CsvLine(const std::vector<std::string>& cells);
// The member CSV (template headers) of `members`; the ID numbers of the rows
// at the 0-based indexes `bad_id_numbers` get a wrong check character.
std::string MemberCsv(const std::vector<v1::Member>& members,
                      const std::set<int>& bad_id_numbers = {});

// ---- XLSX made with libxlsxwriter (shared strings unless constant_memory)
// ----
struct XCell {
  enum Kind { kEmpty, kString, kNumber, kBool, kDate, kFormula };
  Kind kind = kEmpty;
  std::string s;            // kString, kFormula ("=1+1")
  double n = 0;             // kNumber, kBool (0/1)
  int y = 0, m = 0, d = 0;  // kDate
  static XCell Str(std::string s) { return {kString, std::move(s)}; }
  static XCell Num(double n) { return {kNumber, "", n}; }
  static XCell Bool(bool b) { return {kBool, "", b ? 1.0 : 0.0}; }
  static XCell Date(int y, int m, int d) { return {kDate, "", 0, y, m, d}; }
  static XCell Formula(std::string f) { return {kFormula, std::move(f)}; }
};
using XRow = std::vector<XCell>;
// Writes a workbook whose first sheet is `sheet` holding `rows` (row 1 first;
// an empty XRow leaves the row out); returns the file's bytes.
std::string WriteXlsx(const std::vector<XRow>& rows,
                      const std::string& sheet = "会员信息",
                      bool constant_memory = false);
// Strings for every cell.
XRow StrRow(const std::vector<std::string>& cells);

// ---- Zips crafted with minizip ----
struct ZipEntry {
  ZipEntry(std::string name, std::string data)
      : name(std::move(name)), data(std::move(data)) {}
  ZipEntry(std::string name, std::string data, std::string fill,
           uint64_t repeat, std::string tail)
      : name(std::move(name)),
        data(std::move(data)),
        fill(std::move(fill)),
        repeat(repeat),
        tail(std::move(tail)) {}
  std::string name;
  std::string data;
  // If repeat > 0, the entry is data + repeat copies of `fill` + tail,
  // streamed (for huge, highly compressible parts).
  std::string fill;
  uint64_t repeat = 0;
  std::string tail;
};
std::string MakeZip(const std::vector<ZipEntry>& entries);
// The uncompressed content of part `name` of the zip in `bytes` ("" if none).
std::string UnzipPart(absl::string_view bytes, const std::string& name);

// The parts of a minimal XLSX: workbook (one sheet "会员信息" -> rId1),
// relationships (sheet1.xml and sharedStrings.xml), and a sheet whose
// <sheetData> holds `rows_xml`.
std::string WorkbookXml(absl::string_view extra_sheets = "");
std::string WorkbookRelsXml();
std::string SheetXml(absl::string_view rows_xml);
// <row r=".."> of inline strings.
std::string InlineRowXml(int64_t r, const std::vector<std::string>& cells);
// A zip with workbook, rels, sheet1 (and sharedStrings when not empty).
std::string MinimalXlsx(absl::string_view sheet_xml,
                        absl::string_view shared_strings_xml = "");

// ---- Data ----
// `n` valid synthetic members of org "g1" with distinct ID numbers
// (UniqueIdNumber(first..first+n-1)) and every field filled.
std::vector<v1::Member> Members(int n, uint64_t first = 0);
// Every row of `reader` as its cells' texts (number, cells).
struct RowText {
  int64_t number;
  std::vector<std::string> cells;
};
std::vector<RowText> ReadAll(TableReader& reader);

}  // namespace unionsync::ingest::testing

#endif  // UNIONSYNC_TESTS_INGEST_TEST_FILES_H_
