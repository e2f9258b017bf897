// The streaming XLSX reader: good files from libxlsxwriter, and hostile zips
// crafted with minizip, each refused with a specific INVALID_ARGUMENT.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ingest/table.h"
#include "ingest/test_files.h"
#include "testing/status_matchers.h"

namespace unionsync::ingest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::MakeZip;
using testing::MinimalXlsx;
using testing::SheetXml;
using testing::XCell;
using testing::ZipEntry;
using ::unionsync::testing::StatusIs;

using Cells = std::vector<std::string>;

absl::Status ReadError(absl::string_view bytes, ReaderOptions o = {}) {
  auto r = OpenTableBytes(bytes, o);
  if (!r.ok()) return r.status();
  while (true) {
    auto row = (*r)->Next();
    if (!row.ok()) return row.status();
    if (*row == nullptr) return absl::OkStatus();
  }
}

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

TEST(XlsxReaderTest, ReadsSharedStringsNumbersBooleansDatesAndGaps) {
  const std::string bytes = testing::WriteXlsx({
      testing::StrRow({"姓名", "数字", "布尔", "日期"}),
      {XCell::Str("张三"), XCell::Num(13812345678.0), XCell::Bool(true),
       XCell::Date(2019, 6, 1)},
      {},  // Row 3 left out.
      {XCell(), XCell::Num(1.5), XCell::Bool(false), XCell::Str("张三")},
  });
  auto r = OpenTableBytes(bytes);
  ASSERT_OK(r.status());
  std::vector<std::pair<int64_t, std::vector<std::pair<CellType, std::string>>>>
      rows;
  while (true) {
    auto row = (*r)->Next();
    ASSERT_OK(row.status());
    if (*row == nullptr) break;
    std::vector<std::pair<CellType, std::string>> cells;
    for (size_t i = 0; i < (*row)->size(); ++i) {
      cells.emplace_back((*row)->cell(i).type, (*row)->cell(i).text);
    }
    rows.emplace_back((*row)->number(), cells);
  }
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].first, 1);
  EXPECT_EQ(rows[1].first, 2);
  EXPECT_EQ(rows[1].second[0],
            std::make_pair(CellType::kText, std::string("张三")));
  EXPECT_EQ(rows[1].second[1],
            std::make_pair(CellType::kNumber, std::string("13812345678")));
  EXPECT_EQ(rows[1].second[2],
            std::make_pair(CellType::kBool, std::string("TRUE")));
  EXPECT_EQ(rows[1].second[3],
            std::make_pair(CellType::kNumber, std::string("43617")));
  EXPECT_EQ(rows[2].first, 4);
  EXPECT_EQ(rows[2].second[0], std::make_pair(CellType::kText, std::string()));
  EXPECT_EQ(rows[2].second[1],
            std::make_pair(CellType::kNumber, std::string("1.5")));
  EXPECT_EQ(rows[2].second[2],
            std::make_pair(CellType::kBool, std::string("FALSE")));
  EXPECT_EQ(rows[2].second[3],
            std::make_pair(CellType::kText, std::string("张三")));
  EXPECT_FALSE((*r)->date1904());
}

TEST(XlsxReaderTest, ReadsInlineStringsRichTextAndFromFile) {
  // libxlsxwriter's constant-memory mode writes inline strings.
  const std::string bytes = testing::WriteXlsx(
      {testing::StrRow({"姓名", "备注"}), testing::StrRow({"李四", "a&b<c>"})},
      "会员信息", /*constant_memory=*/true);
  const std::string path = testing::TempPath("in.xlsx");
  testing::WriteBytes(path, bytes);
  auto r = OpenTableFile(path);
  ASSERT_OK(r.status());
  const auto rows = testing::ReadAll(**r);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].cells, (Cells{"李四", "a&b<c>"}));

  // Rich text runs are joined, phonetic runs skipped.
  const std::string sst =
      R"(<sst xmlns="x"><si><r><t>长沙</t></r><r><rPr/><t xml:space="preserve">市 </t></r>)"
      R"(<rPh><t>ちょうさ</t></rPh></si></sst>)";
  // The bytes must outlive the reader.
  const std::string rich = MinimalXlsx(
      SheetXml(R"(<row r="1"><c r="B1" t="s"><v>0</v></c></row>)"), sst);
  auto r2 = OpenTableBytes(rich);
  ASSERT_OK(r2.status());
  const auto rows2 = testing::ReadAll(**r2);
  ASSERT_EQ(rows2.size(), 1u);
  EXPECT_EQ(rows2[0].cells, (Cells{"", "长沙市 "}));
}

TEST(XlsxReaderTest, PrefersNamedSheetAndSkipsHiddenOnes) {
  const std::string wb = testing::WorkbookXml(
      R"(<sheet name="隐藏" sheetId="9" state="hidden" r:id="rId9"/>)");
  const std::string rels =
      R"(<Relationships xmlns="r"><Relationship Id="rId1" Type="a/worksheet" Target="worksheets/sheet1.xml"/>)"
      R"(<Relationship Id="rId9" Type="a/worksheet" Target="/xl/worksheets/sheet9.xml"/></Relationships>)";
  const std::string bytes = MakeZip({
      {"xl/workbook.xml", wb},
      {"xl/_rels/workbook.xml.rels", rels},
      {"xl/worksheets/sheet1.xml",
       SheetXml(testing::InlineRowXml(1, {"可见"}))},
      {"xl/worksheets/sheet9.xml",
       SheetXml(testing::InlineRowXml(1, {"隐藏"}))},
  });
  auto r = OpenTableBytes(bytes);
  ASSERT_OK(r.status());
  EXPECT_EQ(testing::ReadAll(**r)[0].cells, Cells{"可见"});
  ReaderOptions o;
  o.sheet_name = "隐藏";
  auto r2 = OpenTableBytes(bytes, o);
  ASSERT_OK(r2.status());
  EXPECT_EQ(testing::ReadAll(**r2)[0].cells, Cells{"隐藏"});
}

TEST(XlsxReaderTest, NotAZipOrTruncatedZip) {
  ReaderOptions xlsx;
  xlsx.format = FileFormat::kXlsx;
  EXPECT_THAT(ReadError("this is not a zip at all", xlsx),
              StatusIs(kInvalid, HasSubstr("不是有效的 XLSX 文件")));
  EXPECT_THAT(ReadError(std::string("PK\x03\x04garbage", 11)),
              StatusIs(kInvalid, HasSubstr("不是有效的 XLSX 文件")));
  const std::string good = testing::WriteXlsx(
      {testing::StrRow({"姓名"}), testing::StrRow({"张三"})});
  EXPECT_OK(ReadError(good));
  for (size_t cut : {good.size() / 2, good.size() - 10, size_t{30}}) {
    EXPECT_THAT(ReadError(good.substr(0, cut)),
                StatusIs(kInvalid, HasSubstr("不是有效的 XLSX 文件")))
        << cut;
  }
}

TEST(XlsxReaderTest, CorruptedEntryData) {
  // Flip bytes inside the compressed sheet: inflate or CRC check fails.
  std::string rows;
  for (int i = 1; i <= 200; ++i)
    rows += testing::InlineRowXml(i, {"张三", "男"});
  std::string bytes = MinimalXlsx(SheetXml(rows));
  const size_t pos = bytes.find("xl/worksheets/sheet1.xml") + 200;
  for (size_t i = pos; i < pos + 50; ++i) bytes[i] ^= 0x5A;
  EXPECT_THAT(ReadError(bytes), StatusIs(kInvalid));
}

TEST(XlsxReaderTest, MissingPartsAndSheets) {
  EXPECT_THAT(ReadError(MakeZip({{"hello.txt", "hi"}})),
              StatusIs(kInvalid, HasSubstr("找不到 xl/workbook.xml")));
  EXPECT_THAT(ReadError(MakeZip({{"xl/workbook.xml", testing::WorkbookXml()},
                                 {"xl/_rels/workbook.xml.rels",
                                  testing::WorkbookRelsXml()}})),
              StatusIs(kInvalid, HasSubstr("找不到工作表“会员信息”")));
  EXPECT_THAT(ReadError(MakeZip({{"xl/workbook.xml", testing::WorkbookXml()}})),
              StatusIs(kInvalid, HasSubstr("缺少 xl/_rels/workbook.xml.rels")));
  EXPECT_THAT(
      ReadError(MakeZip(
          {{"xl/workbook.xml", "<workbook><sheets/></workbook>"},
           {"xl/_rels/workbook.xml.rels", testing::WorkbookRelsXml()}})),
      StatusIs(kInvalid, HasSubstr("没有可见的工作表")));
}

TEST(XlsxReaderTest, FormulaIsRefusedNamingTheCell) {
  EXPECT_THAT(ReadError(testing::WriteXlsx({testing::StrRow({"姓名", "a", "b"}),
                                            {XCell::Str("张三"), XCell::Num(1),
                                             XCell::Formula("=B2*2")}})),
              StatusIs(kInvalid, HasSubstr("单元格 C2 含有公式")));
}

TEST(XlsxReaderTest, BillionLaughsIsRefused) {
  const std::string dtd =
      R"(<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">)"
      R"(<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">)"
      R"(<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">)"
      R"(<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>)";
  const std::string sst = dtd + R"(<sst><si><t>&lol9;</t></si></sst>)";
  EXPECT_THAT(
      ReadError(MinimalXlsx(SheetXml(""), sst)),
      StatusIs(kInvalid, HasSubstr("xl/sharedStrings.xml 含有 DTD 声明")));
  const std::string sheet =
      dtd +
      R"(<worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>)";
  EXPECT_THAT(
      ReadError(MinimalXlsx(sheet)),
      StatusIs(kInvalid, HasSubstr("xl/worksheets/sheet1.xml 含有 DTD 声明")));
  // Without a DTD an undefined entity is just malformed XML.
  EXPECT_THAT(
      ReadError(MinimalXlsx(SheetXml(
          R"(<row r="1"><c r="A1" t="inlineStr"><is><t>&lol;</t></is></c></row>)"))),
      StatusIs(kInvalid, HasSubstr("不是格式正确的 XML")));
}

TEST(XlsxReaderTest, ZipBombIsRefused) {
  // 64 MiB of one byte repeated compresses about 1000:1.
  ZipEntry bomb{
      "xl/worksheets/sheet1.xml",
      R"(<worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>)",
      " ", uint64_t{64} << 20, "</t></is></c></row></sheetData></worksheet>"};
  const std::string bytes =
      MakeZip({{"xl/workbook.xml", testing::WorkbookXml()},
               {"xl/_rels/workbook.xml.rels", testing::WorkbookRelsXml()},
               bomb});
  EXPECT_LT(bytes.size(), 1u << 20);
  EXPECT_THAT(ReadError(bytes), StatusIs(kInvalid, HasSubstr("压缩比异常")));
  // The total bound holds whatever the ratio (here allowed up to 1e6).
  ReaderOptions o;
  o.limits.max_compression_ratio = 1000000;
  o.limits.max_uncompressed_bytes = 16 << 20;
  EXPECT_THAT(ReadError(bytes, o),
              StatusIs(kInvalid, HasSubstr("解压后超过 16 MiB")));
}

// `n` pseudo-random characters from `alphabet`: compresses only a little, so
// the limits under test trip before the zip-bomb guard.
std::string Noise(size_t n, absl::string_view alphabet) {
  std::string s(n, ' ');
  uint64_t x = 88172645463325252ull;
  for (char& c : s) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = alphabet[x % alphabet.size()];
  }
  return s;
}

TEST(XlsxReaderTest, HugeCellsAndTagsAreRefused) {
  const std::string big =
      Noise(10 << 20, "abcdefghijklmnopqrstuvwxyz");  // 10 MB.
  // Inline string.
  const std::string inline_big =
      MinimalXlsx(SheetXml(testing::InlineRowXml(1, {"a", big})));
  auto r = OpenTableBytes(inline_big);
  ASSERT_OK(r.status());
  EXPECT_THAT(
      (*r)->Next().status(),
      StatusIs(kInvalid, HasSubstr("单元格 B1 的内容超过了 32768 字节")));
  EXPECT_LT((*r)->BytesHeld(), 1u << 20);
  // Shared string.
  EXPECT_THAT(
      ReadError(
          MinimalXlsx(SheetXml(""), "<sst><si><t>" + big + "</t></si></sst>")),
      StatusIs(kInvalid, HasSubstr("共享字符串表中第 1 段文字超过了单元格")));
  // A number of 10 MB.
  EXPECT_THAT(ReadError(MinimalXlsx(SheetXml(R"(<row r="1"><c r="A1"><v>)" +
                                             Noise(10 << 20, "0123456789") +
                                             "</v></c></row>"))),
              StatusIs(kInvalid, HasSubstr("单元格 A1 的内容超过了")));
  // A 10 MB attribute (expat would buffer the whole tag).
  EXPECT_THAT(
      ReadError(MinimalXlsx(SheetXml(R"(<row r="1" x=")" + big + R"("/>)"))),
      StatusIs(kInvalid, HasSubstr("含有超过")));
  // A 10 MB entity reference.
  EXPECT_THAT(ReadError(MinimalXlsx(SheetXml("&" + big + ";"))),
              StatusIs(kInvalid, HasSubstr("过长的实体引用")));
  // The shared-string table as a whole.
  std::string sst = "<sst>";
  for (int i = 0; i < 2000; ++i)
    sst += "<si><t>" + Noise(1000, "abcdef") + "</t></si>";
  sst += "</sst>";
  ReaderOptions o;
  o.limits.max_shared_strings_bytes = 1 << 20;
  EXPECT_THAT(ReadError(MinimalXlsx(SheetXml(""), sst), o),
              StatusIs(kInvalid, HasSubstr("共享字符串表超过 1 MiB")));
}

TEST(XlsxReaderTest, ColumnAndRowLimits) {
  ReaderOptions o;
  o.limits.max_columns = 3;
  o.limits.max_rows = 2;
  EXPECT_OK(ReadError(
      MinimalXlsx(SheetXml(
          testing::InlineRowXml(1, {"a", "b", "c"}) +
          R"(<row r="2"><c r="XFD2" s="1"/></row>)" +  // Styled, empty.
          R"(<row r="1048576" s="1"/>)")),
      o));
  EXPECT_THAT(
      ReadError(
          MinimalXlsx(SheetXml(testing::InlineRowXml(1, {"a", "b", "c", "d"}))),
          o),
      StatusIs(kInvalid, HasSubstr("单元格 D1 超出了最多 3 列")));
  EXPECT_THAT(
      ReadError(MinimalXlsx(SheetXml(testing::InlineRowXml(3, {"a"}))), o),
      StatusIs(kInvalid, HasSubstr("超过了最多 2 行")));
  EXPECT_THAT(ReadError(MinimalXlsx(SheetXml(testing::InlineRowXml(2, {"a"}) +
                                             testing::InlineRowXml(1, {"b"})))),
              StatusIs(kInvalid, HasSubstr("行顺序错误")));
}

TEST(XlsxReaderTest, Date1904AndFingerprintProperty) {
  const std::string wb =
      R"(<workbook xmlns:r="r"><workbookPr date1904="1"/><sheets><sheet name="s" sheetId="1" r:id="rId1"/></sheets></workbook>)";
  const std::string custom =
      R"(<Properties xmlns:vt="v"><property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="导出指纹"><vt:lpwstr>审批2019-01 abc</vt:lpwstr></property></Properties>)";
  const std::string bytes =
      MakeZip({{"xl/workbook.xml", wb},
               {"xl/_rels/workbook.xml.rels", testing::WorkbookRelsXml()},
               {"xl/worksheets/sheet1.xml", SheetXml("")},
               {"docProps/custom.xml", custom}});
  auto r = OpenTableBytes(bytes);
  ASSERT_OK(r.status());
  EXPECT_TRUE((*r)->date1904());
  EXPECT_EQ((*r)->fingerprint(), "审批2019-01 abc");
}

}  // namespace
}  // namespace unionsync::ingest
