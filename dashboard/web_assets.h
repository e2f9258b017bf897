// The workbench's files (dashboard/web/ and the Debian libjs-* libraries),
// embedded in the binary at build time by cmake/embed_files.cmake. Private to
// dashboard/.
#ifndef UNIONSYNC_DASHBOARD_WEB_ASSETS_H_
#define UNIONSYNC_DASHBOARD_WEB_ASSETS_H_

#include <cstddef>

namespace unionsync::web_assets {

struct WebAsset {
  const char* name;  // e.g. "workbench.js"; nullptr ends the table.
  const unsigned char* bytes;
  size_t size;
};

extern const WebAsset kWebAssets[];

}  // namespace unionsync::web_assets

#endif  // UNIONSYNC_DASHBOARD_WEB_ASSETS_H_
