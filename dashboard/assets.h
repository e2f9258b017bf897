// The dashboard's page, stylesheet and script, embedded in the binary so the
// hub serves everything itself (no CDN, no external fonts or scripts). Private
// to dashboard/.
#ifndef UNIONSYNC_DASHBOARD_ASSETS_H_
#define UNIONSYNC_DASHBOARD_ASSETS_H_

namespace unionsync::dashboard_assets {

// GET / : the dashboard page; its data comes from /api/* via /static/app.js.
extern const char kIndexHtml[];
// The login page is kLoginHtmlHead + [error paragraph] + kLoginHtmlFormStart
// + HTML-escaped username + kLoginHtmlFormEnd.
extern const char kLoginHtmlHead[];
extern const char kLoginHtmlFormStart[];
extern const char kLoginHtmlFormEnd[];
extern const char kAppCss[];
extern const char kAppJs[];

}  // namespace unionsync::dashboard_assets

#endif  // UNIONSYNC_DASHBOARD_ASSETS_H_
