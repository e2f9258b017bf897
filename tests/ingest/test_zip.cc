// minizip side of test_files.h: crafts zips byte by byte for hostile inputs.
#include <gtest/gtest.h>
#include <unzip.h>
#include <zip.h>

#include <algorithm>

#include "ingest/test_files.h"

namespace unionsync::ingest::testing {

std::string MakeZip(const std::vector<ZipEntry>& entries) {
  const std::string path = TempPath("z.zip");
  zipFile zf = zipOpen64(path.c_str(), APPEND_STATUS_CREATE);
  EXPECT_NE(zf, nullptr);
  for (const ZipEntry& e : entries) {
    zip_fileinfo info = {};
    EXPECT_EQ(zipOpenNewFileInZip64(zf, e.name.c_str(), &info, nullptr, 0,
                                    nullptr, 0, nullptr, Z_DEFLATED, 9,
                                    /*zip64=*/1),
              ZIP_OK);
    zipWriteInFileInZip(zf, e.data.data(),
                        static_cast<unsigned>(e.data.size()));
    if (e.repeat > 0) {
      std::string block;
      for (int i = 0; i < 4096; ++i) block += e.fill;
      uint64_t left = e.repeat;
      while (left > 0) {
        const uint64_t k = std::min<uint64_t>(left, 4096);
        zipWriteInFileInZip(zf, block.data(),
                            static_cast<unsigned>(k * e.fill.size()));
        left -= k;
      }
    }
    zipWriteInFileInZip(zf, e.tail.data(),
                        static_cast<unsigned>(e.tail.size()));
    EXPECT_EQ(zipCloseFileInZip(zf), ZIP_OK);
  }
  EXPECT_EQ(zipClose(zf, nullptr), ZIP_OK);
  return ReadBytes(path);
}

std::string UnzipPart(absl::string_view bytes, const std::string& name) {
  const std::string path = TempPath("u.zip");
  WriteBytes(path, bytes);
  unzFile uf = unzOpen64(path.c_str());
  if (uf == nullptr) return "";
  std::string out;
  if (unzLocateFile(uf, name.c_str(), 1) == UNZ_OK &&
      unzOpenCurrentFile(uf) == UNZ_OK) {
    char buf[65536];
    int n;
    while ((n = unzReadCurrentFile(uf, buf, sizeof(buf))) > 0)
      out.append(buf, n);
    unzCloseCurrentFile(uf);
  }
  unzClose(uf);
  return out;
}

}  // namespace unionsync::ingest::testing
