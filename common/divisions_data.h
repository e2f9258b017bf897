// The generated table of administrative division codes (common/gb2260/
// convert.py writes its definition at build time). Read it through
// common/divisions.h.
#ifndef UNIONSYNC_COMMON_DIVISIONS_DATA_H_
#define UNIONSYNC_COMMON_DIVISIONS_DATA_H_

namespace unionsync::divisions_internal {

struct DivisionRow {
  int code;
  const char* name;
  bool current;
  int first_revision;  // yyyymm of the first GB/T 2260 revision listing it; 0
                       // if none.
  int last_revision;   // yyyymm of the last one; 0 if none.
};

extern const char kSource[];
extern const int kFirstRevision;
extern const int kLastRevision;
extern const DivisionRow kRows[];  // Sorted by code.
extern const int kRowCount;

}  // namespace unionsync::divisions_internal

#endif  // UNIONSYNC_COMMON_DIVISIONS_DATA_H_
