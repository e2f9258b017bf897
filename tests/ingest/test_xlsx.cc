// libxlsxwriter side of test_files.h (kept apart from minizip's zip.h).
#include <gtest/gtest.h>
#include <xlsxwriter.h>

#include "ingest/test_files.h"

namespace unionsync::ingest::testing {

std::string WriteXlsx(const std::vector<XRow>& rows, const std::string& sheet,
                      bool constant_memory) {
  const std::string path = TempPath("w.xlsx");
  lxw_workbook_options opts = {};
  opts.constant_memory = constant_memory ? LXW_TRUE : LXW_FALSE;
  lxw_workbook* wb = workbook_new_opt(path.c_str(), &opts);
  lxw_worksheet* ws = workbook_add_worksheet(wb, sheet.c_str());
  lxw_format* date = workbook_add_format(wb);
  format_set_num_format(date, "yyyy-mm-dd");
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t c = 0; c < rows[r].size(); ++c) {
      const XCell& x = rows[r][c];
      const auto row = static_cast<lxw_row_t>(r);
      const auto col = static_cast<lxw_col_t>(c);
      switch (x.kind) {
        case XCell::kEmpty:
          break;
        case XCell::kString:
          worksheet_write_string(ws, row, col, x.s.c_str(), nullptr);
          break;
        case XCell::kNumber:
          worksheet_write_number(ws, row, col, x.n, nullptr);
          break;
        case XCell::kBool:
          worksheet_write_boolean(ws, row, col, x.n != 0, nullptr);
          break;
        case XCell::kDate: {
          lxw_datetime dt = {x.y, x.m, x.d, 0, 0, 0};
          worksheet_write_datetime(ws, row, col, &dt, date);
          break;
        }
        case XCell::kFormula:
          worksheet_write_formula(ws, row, col, x.s.c_str(), nullptr);
          break;
      }
    }
  }
  EXPECT_EQ(workbook_close(wb), LXW_NO_ERROR);
  return ReadBytes(path);
}

}  // namespace unionsync::ingest::testing
