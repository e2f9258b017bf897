#include "ingest/test_files.h"

#include <gtest/gtest.h>
#include <iconv.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/civil_time.h"
#include "common/validation.h"
#include "ingest/template.h"
#include "ingest/writer.h"
#include "synth/synth.h"

namespace unionsync::ingest::testing {

std::string TempPath(absl::string_view name) {
  static std::atomic<int> counter{0};
  return absl::StrCat(::testing::TempDir(), "/ingest_", getpid(), "_",
                      counter++, "_", name);
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteBytes(const std::string& path, absl::string_view bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), bytes.size());
}

std::string Iconv(absl::string_view utf8, const char* encoding) {
  iconv_t cd = iconv_open(encoding, "UTF-8");
  EXPECT_NE(cd, reinterpret_cast<iconv_t>(-1));
  std::string out(utf8.size() * 2 + 16, '\0');
  char* in = const_cast<char*>(utf8.data());
  size_t in_left = utf8.size();
  char* o = out.data();
  size_t o_left = out.size();
  const size_t rc = iconv(cd, &in, &in_left, &o, &o_left);
  EXPECT_NE(rc, static_cast<size_t>(-1)) << "iconv to " << encoding;
  iconv_close(cd);
  out.resize(out.size() - o_left);
  return out;
}

std::string MemberHeaderCsv() {
  std::vector<std::string> h;
  for (const ColumnSpec& c : MemberTemplate().columns) h.emplace_back(c.header);
  return absl::StrJoin(h, ",");
}

std::string CsvLine(const std::vector<std::string>& cells) {
  std::vector<std::string> out;
  for (const std::string& c : cells) {
    if (c.find_first_of(",\"\r\n") != std::string::npos) {
      out.push_back(
          absl::StrCat("\"", absl::StrReplaceAll(c, {{"\"", "\"\""}}), "\""));
    } else {
      out.push_back(c);
    }
  }
  return absl::StrCat(absl::StrJoin(out, ","), "\r\n");
}

std::string MemberCsv(const std::vector<v1::Member>& members,
                      const std::set<int>& bad_id_numbers) {
  std::string csv = MemberHeaderCsv() + "\r\n";
  const int id = ColumnIndex(MemberTemplate(), Field::kIdNumber);
  for (int i = 0; i < static_cast<int>(members.size()); ++i) {
    std::vector<std::string> cells = MemberToCells(members[i]);
    if (bad_id_numbers.count(i) > 0) {
      std::string& x = cells[id];
      x.back() = x.back() == '1' ? '2' : '1';
    }
    csv += CsvLine(cells);
  }
  return csv;
}

XRow StrRow(const std::vector<std::string>& cells) {
  XRow r;
  for (const std::string& c : cells) {
    r.push_back(c.empty() ? XCell() : XCell::Str(c));
  }
  return r;
}

namespace {
std::string XmlEscape(absl::string_view s) {
  return absl::StrReplaceAll(
      s, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}});
}
std::string Letters(size_t i) {
  std::string s;
  for (size_t n = i + 1; n > 0; n = (n - 1) / 26) {
    s.insert(s.begin(), static_cast<char>('A' + (n - 1) % 26));
  }
  return s;
}
}  // namespace

std::string WorkbookXml(absl::string_view extra_sheets) {
  return absl::StrCat(
      R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)"
      R"(<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" )"
      R"(xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">)"
      R"(<sheets>)",
      extra_sheets,
      R"(<sheet name="会员信息" sheetId="1" r:id="rId1"/></sheets></workbook>)");
}

std::string WorkbookRelsXml() {
  return R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)"
         R"(<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">)"
         R"(<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>)"
         R"(<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>)"
         R"(</Relationships>)";
}

std::string SheetXml(absl::string_view rows_xml) {
  return absl::StrCat(
      R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)"
      R"(<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>)",
      rows_xml, "</sheetData></worksheet>");
}

std::string InlineRowXml(int64_t r, const std::vector<std::string>& cells) {
  std::string out = absl::StrCat("<row r=\"", r, "\">");
  for (size_t i = 0; i < cells.size(); ++i) {
    if (cells[i].empty()) continue;
    absl::StrAppend(&out, "<c r=\"", Letters(i), r,
                    "\" t=\"inlineStr\"><is><t>", XmlEscape(cells[i]),
                    "</t></is></c>");
  }
  out += "</row>";
  return out;
}

std::string MinimalXlsx(absl::string_view sheet_xml,
                        absl::string_view shared_strings_xml) {
  std::vector<ZipEntry> e = {
      {"xl/workbook.xml", WorkbookXml()},
      {"xl/_rels/workbook.xml.rels", WorkbookRelsXml()},
      {"xl/worksheets/sheet1.xml", std::string(sheet_xml)},
  };
  if (!shared_strings_xml.empty()) {
    e.push_back({"xl/sharedStrings.xml", std::string(shared_strings_xml)});
  }
  return MakeZip(e);
}

std::vector<v1::Member> Members(int n, uint64_t first) {
  SynthGenerator gen(42 + first);
  std::vector<v1::Member> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) {
    v1::Member m = gen.Member("g1");
    m.set_id_number(UniqueIdNumber(first + i));
    const IdNumberInfo info = *ParseIdNumber(m.id_number());
    m.set_gender(info.male ? v1::MALE : v1::FEMALE);
    const absl::CivilDay join(info.birth_date.year() + 18,
                              info.birth_date.month(), 1 + i % 28);
    m.set_join_date(absl::FormatCivilTime(join));
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<RowText> ReadAll(TableReader& reader) {
  std::vector<RowText> out;
  while (true) {
    auto row = reader.Next();
    EXPECT_TRUE(row.ok()) << row.status();
    if (!row.ok() || *row == nullptr) break;
    RowText t{(*row)->number(), {}};
    for (size_t i = 0; i < (*row)->size(); ++i) {
      t.cells.emplace_back((*row)->text(i));
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace unionsync::ingest::testing
