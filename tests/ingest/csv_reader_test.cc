// The streaming CSV reader: RFC 4180, UTF-8 with and without BOM, GBK and
// GB18030 detected or named, and every malformed input refused with a clear
// INVALID_ARGUMENT naming the row.
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
using testing::ReadAll;
using testing::RowText;
using ::unionsync::testing::StatusIs;

MATCHER_P2(RowIs, number, cells, "") {
  return arg.number == number && arg.cells == cells;
}

std::vector<RowText> ReadCsv(absl::string_view bytes,
                             TextEncoding encoding = TextEncoding::kAuto) {
  ReaderOptions o;
  o.format = FileFormat::kCsv;
  o.encoding = encoding;
  auto r = OpenTableBytes(bytes, o);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return {};
  return ReadAll(**r);
}

// Reads until the end or the first error, which is returned.
absl::Status ReadError(absl::string_view bytes, ReaderOptions o = {}) {
  auto r = OpenTableBytes(bytes, o);
  if (!r.ok()) return r.status();
  while (true) {
    auto row = (*r)->Next();
    if (!row.ok()) return row.status();
    if (*row == nullptr) return absl::OkStatus();
  }
}

using Cells = std::vector<std::string>;

TEST(CsvReaderTest, Rfc4180QuotingAndLineEnds) {
  const std::string csv =
      "姓名,备注\r\n"
      "张三,\"含,逗号\"\r\n"
      "李四,\"含\"\"引号\"\"\"\n"
      "王五,\"两\r\n行\"\r\n"
      "\r\n"
      ",,\r\n"
      "赵六,末行无换行";
  EXPECT_THAT(ReadCsv(csv), ElementsAre(RowIs(1, Cells{"姓名", "备注"}),
                                        RowIs(2, Cells{"张三", "含,逗号"}),
                                        RowIs(3, Cells{"李四", "含\"引号\""}),
                                        RowIs(4, Cells{"王五", "两\r\n行"}),
                                        RowIs(5, Cells{}), RowIs(6, Cells{}),
                                        RowIs(7, Cells{"赵六", "末行无换行"})));
}

TEST(CsvReaderTest, BomIsSkippedAndTrailingNewlineMakesNoRow) {
  EXPECT_THAT(ReadCsv("\xEF\xBB\xBF姓名,性别\r\n张三,男\r\n"),
              ElementsAre(RowIs(1, Cells{"姓名", "性别"}),
                          RowIs(2, Cells{"张三", "男"})));
  EXPECT_THAT(ReadCsv("姓名,性别\n张三,男\n"),
              ElementsAre(RowIs(1, Cells{"姓名", "性别"}),
                          RowIs(2, Cells{"张三", "男"})));
  EXPECT_THAT(ReadCsv(""), ElementsAre());
}

TEST(CsvReaderTest, GbkAndGb18030DetectedOrNamed) {
  const std::string utf8 = "姓名,工作单位\r\n张三,长沙市芙蓉区某某有限公司\r\n";
  const std::string gbk = testing::Iconv(utf8, "GBK");
  ASSERT_NE(gbk, utf8);
  const auto expected =
      ElementsAre(RowIs(1, Cells{"姓名", "工作单位"}),
                  RowIs(2, Cells{"张三", "长沙市芙蓉区某某有限公司"}));
  EXPECT_THAT(ReadCsv(gbk), expected);
  EXPECT_THAT(ReadCsv(gbk, TextEncoding::kGbk), expected);
  EXPECT_THAT(ReadCsv(gbk, TextEncoding::kGb18030), expected);
  // A character outside GBK: four bytes in GB18030.
  const std::string rare = "姓名\r\n𠮷\r\n";
  const std::string gb18030 = testing::Iconv(rare, "GB18030");
  EXPECT_THAT(ReadCsv(gb18030),
              ElementsAre(RowIs(1, Cells{"姓名"}), RowIs(2, Cells{"𠮷"})));
  EXPECT_THAT(ReadCsv(gb18030, TextEncoding::kGb18030),
              ElementsAre(RowIs(1, Cells{"姓名"}), RowIs(2, Cells{"𠮷"})));
}

TEST(CsvReaderTest, MultiByteCharactersAcrossChunkBoundaries) {
  // Lines of Chinese far longer than the 64 KiB read chunk, in both encodings.
  std::string utf8 = "列\r\n";
  std::vector<std::string> expected;
  for (int i = 0; i < 40; ++i) {
    std::string cell;
    for (int k = 0; k < 3000 + i; ++k) cell += (k % 2 ? "工" : "会");
    utf8 += cell + "\r\n";
    expected.push_back(cell);
  }
  for (const std::string& bytes : {utf8, testing::Iconv(utf8, "GBK")}) {
    ReaderOptions o;
    o.limits.max_cell_bytes = 1 << 20;
    auto r = OpenTableBytes(bytes, o);
    ASSERT_OK(r.status());
    const auto rows = ReadAll(**r);
    ASSERT_EQ(rows.size(), expected.size() + 1);
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(rows[i + 1].cells, Cells{expected[i]}) << i;
    }
  }
}

TEST(CsvReaderTest, FingerprintLineIsSkippedButKeepsItsRowNumber) {
  auto r =
      OpenTableBytes("\xEF\xBB\xBF\"# 导出指纹: ab,12\"\r\n姓名\r\n张三\r\n");
  ASSERT_OK(r.status());
  EXPECT_THAT(ReadAll(**r),
              ElementsAre(RowIs(2, Cells{"姓名"}), RowIs(3, Cells{"张三"})));
  EXPECT_EQ((*r)->fingerprint(), "ab,12");
}

TEST(CsvReaderTest, InvalidUtf8DeclaredAsUtf8NamesTheRow) {
  ReaderOptions o;
  o.encoding = TextEncoding::kUtf8;
  EXPECT_THAT(ReadError("姓名\r\n张三\r\n\xC3\x28坏\r\n", o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("第3行含有不符合 UTF-8 编码的字节")));
  // Detected as UTF-8 from the start of the file, broken later on.
  std::string mixed = "姓名\r\n";
  for (int i = 0; i < 10000; ++i) mixed += "张三\r\n";  // > one chunk.
  mixed += testing::Iconv("李四\r\n", "GBK");
  EXPECT_THAT(ReadError(mixed),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("第10002行含有不是 UTF-8 编码的字节")));
}

TEST(CsvReaderTest, WrongEncodingNamedIsRefused) {
  // UTF-8 with BOM named GBK.
  ReaderOptions gbk;
  gbk.encoding = TextEncoding::kGbk;
  EXPECT_THAT(ReadError("\xEF\xBB\xBF姓名\r\n", gbk),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("指定的编码是 GBK")));
  // GBK named UTF-8.
  ReaderOptions utf8;
  utf8.encoding = TextEncoding::kUtf8;
  EXPECT_THAT(ReadError(testing::Iconv("姓名\r\n张三\r\n", "GBK"), utf8),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("第1行含有不符合 UTF-8 编码的字节")));
  // Bytes that are neither: invalid GBK named GBK (0xFF is never valid).
  EXPECT_THAT(
      ReadError(testing::Iconv("姓名\r\n", "GBK") + "\xFF\xFF\r\n", gbk),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("第2行含有不符合 GBK 编码的字节")));
  // A file cut in the middle of a GBK character.
  const std::string cut = testing::Iconv("姓名\r\n张", "GBK");
  EXPECT_THAT(ReadError(cut.substr(0, cut.size() - 1), gbk),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("在一个字符的中间结束")));
}

TEST(CsvReaderTest, Utf16AndBinaryAreRefused) {
  EXPECT_THAT(
      ReadError(std::string("\xFF\xFE\x53\x59", 4)),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("UTF-16")));
  EXPECT_THAT(
      ReadError(std::string("a\0b\0", 4)),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("空字节")));
  EXPECT_THAT(ReadError("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 rest"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(".xls")));
}

TEST(CsvReaderTest, HugeCellIsRefusedWithBoundedMemory) {
  std::string csv = "姓名,备注\r\n张三,";
  csv.append(10 << 20, 'x');  // A 10 MB cell.
  csv += "\r\n";
  auto r = OpenTableBytes(csv);
  ASSERT_OK(r.status());
  ASSERT_OK((*r)->Next().status());
  EXPECT_THAT(
      (*r)->Next().status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("第2行第2列（B列）的内容超过了单元格 32768 字节")));
  EXPECT_LT((*r)->BytesHeld(), 512u * 1024);
  // The same inside quotes (an unbalanced quote swallowing the file).
  std::string quoted = "姓名\r\n\"";
  quoted.append(1 << 20, 'y');
  EXPECT_THAT(ReadError(quoted), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("长度上限")));
}

TEST(CsvReaderTest, MalformedQuotingIsRefused) {
  EXPECT_THAT(ReadError("a\r\n\"未闭合"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("第2行第1列：引号没有闭合")));
  EXPECT_THAT(ReadError("a,b\r\n\"x\"y,z\r\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("第2行第1列（A列）：结束的双引号后面")));
}

TEST(CsvReaderTest, ColumnAndRowLimits) {
  ReaderOptions o;
  o.limits.max_columns = 3;
  o.limits.max_rows = 3;
  // Empty trailing columns (as Excel pads rows) are fine.
  EXPECT_OK(ReadError("a,b,c,,,,\r\n", o));
  EXPECT_THAT(ReadError("a,b,c,d\r\n", o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("第1行第4列（D列）有内容，超过了最多 3 列")));
  EXPECT_OK(ReadError("1\r\n2\r\n3\r\n", o));
  EXPECT_THAT(ReadError("1\r\n2\r\n3\r\n4\r\n", o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("超过了最多 3 行")));
}

TEST(CsvReaderTest, ReadsFromFile) {
  const std::string path = testing::TempPath("a.csv");
  testing::WriteBytes(path, testing::Iconv("姓名\r\n张三\r\n", "GBK"));
  auto r = OpenTableFile(path);
  ASSERT_OK(r.status());
  EXPECT_THAT(ReadAll(**r),
              ElementsAre(RowIs(1, Cells{"姓名"}), RowIs(2, Cells{"张三"})));
  EXPECT_THAT(OpenTableFile(path + ".missing").status(),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace unionsync::ingest
