#include "ingest/xlsx_writer.h"

#include <xlsxwriter.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "ingest/internal.h"
#include "ingest/template.h"
#include "ingest/writer.h"

namespace unionsync::ingest::internal {
namespace {

constexpr absl::string_view kListsSheetName = "下拉选项";
constexpr lxw_row_t kLastRow = LXW_ROW_MAX - 1;

absl::Status Check(lxw_error err, absl::string_view what) {
  if (err == LXW_NO_ERROR) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat("写入 XLSX 失败（", what, "）：", lxw_strerror(err)));
}

// At most `max_chars` code points of `s`.
std::string Cut(absl::string_view s, size_t max_chars) {
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
    if (chars++ == max_chars) return std::string(s.substr(0, i));
  }
  return std::string(s);
}

class XlsxTableWriter final : public TableWriter {
 public:
  XlsxTableWriter(lxw_workbook* wb, const TemplateSpec& spec)
      : wb_(wb), spec_(spec) {}
  ~XlsxTableWriter() override {
    // Unfinished: close to free the workbook (the file is left incomplete for
    // the caller to remove).
    if (wb_ != nullptr) workbook_close(wb_);
  }

  absl::Status Start(const std::string& fingerprint);

  absl::Status AddRow(absl::Span<const std::string> cells) override {
    if (cells.size() != spec_.columns.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("AddRow: ", cells.size(), " cells for ",
                       spec_.columns.size(), " columns"));
    }
    if (row_ > kLastRow) {
      return absl::InvalidArgumentError(absl::StrCat(
          "XLSX 工作表最多 ", kLastRow, " 行数据，请分成多个文件导出"));
    }
    for (size_t i = 0; i < cells.size(); ++i) {
      if (cells[i].empty()) continue;
      const std::string v = EscapeFormula(cells[i]);
      RETURN_IF_ERROR(
          Check(worksheet_write_string(
                    data_, row_, static_cast<lxw_col_t>(i), v.c_str(),
                    spec_.columns[i].text_format ? text_ : nullptr),
                "单元格"));
    }
    ++row_;
    return absl::OkStatus();
  }

  absl::Status Finish() override {
    lxw_workbook* wb = wb_;
    wb_ = nullptr;
    if (wb == nullptr) return absl::FailedPreconditionError("已经完成");
    return Check(workbook_close(wb), "保存文件");
  }

 private:
  absl::Status WriteNotes(const std::string& fingerprint);
  absl::Status AddValidations();

  lxw_workbook* wb_;
  const TemplateSpec& spec_;
  lxw_worksheet* data_ = nullptr;
  lxw_worksheet* notes_ = nullptr;
  lxw_worksheet* lists_ = nullptr;
  lxw_format* header_ = nullptr;
  lxw_format* header_required_ = nullptr;
  lxw_format* text_ = nullptr;
  lxw_format* bold_ = nullptr;
  lxw_format* wrap_ = nullptr;
  lxw_row_t row_ = 1;
};

absl::Status XlsxTableWriter::Start(const std::string& fingerprint) {
  const std::string data_name(spec_.sheet_name);
  const std::string notes_name(kNotesSheetName);
  const std::string lists_name(kListsSheetName);
  data_ = workbook_add_worksheet(wb_, data_name.c_str());
  notes_ = workbook_add_worksheet(wb_, notes_name.c_str());
  lists_ = workbook_add_worksheet(wb_, lists_name.c_str());
  if (data_ == nullptr || notes_ == nullptr || lists_ == nullptr) {
    return absl::InternalError("写入 XLSX 失败（工作表）");
  }
  worksheet_hide(lists_);
  worksheet_activate(data_);

  header_ = workbook_add_format(wb_);
  format_set_bold(header_);
  format_set_bg_color(header_, 0xDDEBF7);
  format_set_border(header_, LXW_BORDER_THIN);
  format_set_align(header_, LXW_ALIGN_CENTER);
  header_required_ = workbook_add_format(wb_);
  format_set_bold(header_required_);
  format_set_bg_color(header_required_, 0xDDEBF7);
  format_set_border(header_required_, LXW_BORDER_THIN);
  format_set_align(header_required_, LXW_ALIGN_CENTER);
  format_set_font_color(header_required_, LXW_COLOR_RED);
  text_ = workbook_add_format(wb_);
  format_set_num_format(text_, "@");
  bold_ = workbook_add_format(wb_);
  format_set_bold(bold_);
  wrap_ = workbook_add_format(wb_);
  format_set_text_wrap(wrap_);
  format_set_align(wrap_, LXW_ALIGN_VERTICAL_TOP);

  // The data sheet: widths, text format, header, frozen header row.
  for (size_t i = 0; i < spec_.columns.size(); ++i) {
    const ColumnSpec& c = spec_.columns[i];
    const auto col = static_cast<lxw_col_t>(i);
    RETURN_IF_ERROR(Check(worksheet_set_column(data_, col, col, c.width,
                                               c.text_format ? text_ : nullptr),
                          "列宽"));
    const std::string header(c.header);
    RETURN_IF_ERROR(
        Check(worksheet_write_string(data_, 0, col, header.c_str(),
                                     c.required ? header_required_ : header_),
              "表头"));
  }
  worksheet_freeze_panes(data_, 1, 0);
  RETURN_IF_ERROR(AddValidations());
  RETURN_IF_ERROR(WriteNotes(fingerprint));

  // Document properties.
  const std::string title(spec_.title);
  const std::string comments =
      fingerprint.empty() ? std::string("由 unionsync 生成的统一采集模板")
                          : absl::StrCat(kFingerprintPrefix, " ", fingerprint);
  lxw_doc_properties props = {};
  props.title = const_cast<char*>(title.c_str());
  props.author = const_cast<char*>("unionsync");
  props.comments = const_cast<char*>(comments.c_str());
  if (!fingerprint.empty())
    props.keywords = const_cast<char*>(fingerprint.c_str());
  RETURN_IF_ERROR(Check(workbook_set_properties(wb_, &props), "文档属性"));
  if (!fingerprint.empty()) {
    const std::string name(kFingerprintProperty);
    RETURN_IF_ERROR(Check(workbook_set_custom_property_string(
                              wb_, name.c_str(), fingerprint.c_str()),
                          "自定义属性"));
    // The printed footer; '&' is a control character there.
    const std::string footer = absl::StrCat(
        "&L", absl::StrReplaceAll(
                  Cut(absl::StrCat(kFingerprintPrefix, " ", fingerprint), 100),
                  {{"&", "&&"}}));
    RETURN_IF_ERROR(Check(worksheet_set_footer(data_, footer.c_str()), "页脚"));
  }
  return absl::OkStatus();
}

absl::Status XlsxTableWriter::AddValidations() {
  // The values of the drop-down lists go on the hidden sheet, one column per
  // coded field (a literal list is limited to 255 characters, which the
  // organisation kinds exceed). Constant-memory mode writes row by row.
  std::vector<const ColumnSpec*> listed;
  size_t longest = 0;
  for (const ColumnSpec& c : spec_.columns) {
    if (c.allowed_values.empty()) continue;
    listed.push_back(&c);
    longest = std::max(longest, c.allowed_values.size());
  }
  for (size_t r = 0; r <= longest; ++r) {
    for (size_t k = 0; k < listed.size(); ++k) {
      const ColumnSpec& c = *listed[k];
      if (r > c.allowed_values.size()) continue;
      const std::string value(r == 0 ? c.header : c.allowed_values[r - 1]);
      RETURN_IF_ERROR(
          Check(worksheet_write_string(lists_, static_cast<lxw_row_t>(r),
                                       static_cast<lxw_col_t>(k), value.c_str(),
                                       r == 0 ? bold_ : nullptr),
                "下拉选项"));
    }
  }
  size_t list_col = 0;
  for (size_t i = 0; i < spec_.columns.size(); ++i) {
    const ColumnSpec& c = spec_.columns[i];
    const auto col = static_cast<lxw_col_t>(i);
    const std::string title = Cut(c.header, 30);
    const std::string message = Cut(c.note, 250);
    std::string formula;
    lxw_data_validation v = {};
    v.input_title = const_cast<char*>(title.c_str());
    v.input_message = const_cast<char*>(message.c_str());
    v.ignore_blank = LXW_VALIDATION_ON;
    if (c.allowed_values.empty()) {
      v.validate = LXW_VALIDATION_TYPE_ANY;
    } else {
      const std::string letters = ColumnLetters(list_col++);
      formula = absl::StrCat("='", kListsSheetName, "'!$", letters, "$2:$",
                             letters, "$", c.allowed_values.size() + 1);
      v.validate = LXW_VALIDATION_TYPE_LIST_FORMULA;
      v.value_formula = formula.data();
      v.dropdown = LXW_VALIDATION_ON;
      if (c.kind == ValueKind::kCode) {
        v.error_type = LXW_VALIDATION_ERROR_TYPE_STOP;
        v.error_title = const_cast<char*>("填写错误");
        v.error_message = const_cast<char*>("请从下拉列表中选择。");
      } else {
        // Suggestions only (民族): other values are accepted.
        v.error_type = LXW_VALIDATION_ERROR_TYPE_INFORMATION;
        v.show_error = LXW_VALIDATION_OFF;
      }
    }
    RETURN_IF_ERROR(
        Check(worksheet_data_validation_range(data_, 1, col, kLastRow, col, &v),
              "数据验证"));
  }
  return absl::OkStatus();
}

absl::Status XlsxTableWriter::WriteNotes(const std::string& fingerprint) {
  worksheet_set_column(notes_, 0, 0, 20, nullptr);
  worksheet_set_column(notes_, 1, 1, 10, nullptr);
  worksheet_set_column(notes_, 2, 2, 60, wrap_);
  worksheet_set_column(notes_, 3, 3, 40, wrap_);
  lxw_row_t r = 0;
  const auto put = [&](lxw_row_t row, lxw_col_t col, absl::string_view s,
                       lxw_format* f) {
    const std::string v(s);
    return Check(worksheet_write_string(notes_, row, col, v.c_str(), f),
                 "填写说明");
  };
  RETURN_IF_ERROR(put(r++, 0, absl::StrCat(spec_.title, " 填写说明"), bold_));
  if (!fingerprint.empty()) {
    RETURN_IF_ERROR(
        put(r++, 0,
            absl::StrCat(kFingerprintPrefix, " ", fingerprint,
                         "（本文件为导出文件，请按规定保管，不得外传）"),
            nullptr));
  }
  RETURN_IF_ERROR(put(
      r++, 0,
      absl::StrCat("请在“", spec_.sheet_name,
                   "”工作表中从第2行起每行填写一条记录；不要修改、删除或增加"
                   "表头，不要合并单元格，不要使用公式。红色表头为必填项。"),
      nullptr));
  RETURN_IF_ERROR(put(
      r++, 0, "可以保存为 .xlsx，也可以另存为 CSV（UTF-8 或 GBK 编码）后导入。",
      nullptr));
  ++r;
  const absl::string_view heads[] = {"列名", "是否必填", "填写说明", "可选值"};
  for (lxw_col_t c = 0; c < 4; ++c)
    RETURN_IF_ERROR(put(r, c, heads[c], header_));
  ++r;
  for (const ColumnSpec& c : spec_.columns) {
    RETURN_IF_ERROR(put(r, 0, c.header, c.required ? bold_ : nullptr));
    RETURN_IF_ERROR(put(r, 1, c.required ? "必填" : "选填", nullptr));
    RETURN_IF_ERROR(put(r, 2, c.note, wrap_));
    if (!c.allowed_values.empty()) {
      RETURN_IF_ERROR(
          put(r, 3,
              absl::StrCat(c.kind == ValueKind::kCode ? "" : "参考：",
                           absl::StrJoin(c.allowed_values, "、")),
              wrap_));
    }
    ++r;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<TableWriter>> CreateXlsxWriter(
    const std::string& path, const TemplateSpec& spec,
    const WriteOptions& options) {
  lxw_workbook_options opts = {};
  opts.constant_memory = LXW_TRUE;  // Rows go to a temporary file as written.
  lxw_workbook* wb = workbook_new_opt(path.c_str(), &opts);
  if (wb == nullptr) {
    return absl::InternalError(absl::StrCat("无法创建 XLSX 文件 ", path));
  }
  auto writer = std::make_unique<XlsxTableWriter>(wb, spec);
  RETURN_IF_ERROR(writer->Start(options.fingerprint));
  return std::unique_ptr<TableWriter>(std::move(writer));
}

}  // namespace unionsync::ingest::internal
