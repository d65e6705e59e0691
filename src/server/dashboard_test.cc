// The dashboard's files as eragond serves them: types, caching, and nothing but them.
#include "server/dashboard.h"

#include <gtest/gtest.h>

#include <string>

namespace eragon::server {
namespace {

std::string HeaderOf(const http::HttpResponse& r, std::string_view name) {
  return std::string(r.headers.Get(name).value_or(""));
}

TEST(DashboardTest, RootServesThePageWithItsTypeAndPolicy) {
  http::HttpResponse r = ServeWebAsset("/", "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("/assets/app.js"), std::string::npos);
  EXPECT_EQ(HeaderOf(r, "Cache-Control"), "no-cache");
  EXPECT_EQ(HeaderOf(r, "X-Content-Type-Options"), "nosniff");
  EXPECT_NE(HeaderOf(r, "Content-Security-Policy").find("frame-ancestors 'none'"),
            std::string::npos);
}

TEST(DashboardTest, ScriptAndStyleHaveTheirContentTypes) {
  http::HttpResponse js = ServeWebAsset("/assets/app.js", "");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_GT(js.body.size(), 1000u);
  http::HttpResponse css = ServeWebAsset("/assets/app.css", "");
  EXPECT_EQ(css.status, 200);
  EXPECT_EQ(css.content_type, "text/css; charset=utf-8");
}

TEST(DashboardTest, MatchingEtagAnswers304WithoutBody) {
  http::HttpResponse first = ServeWebAsset("/assets/app.js", "");
  std::string etag = HeaderOf(first, "ETag");
  ASSERT_FALSE(etag.empty());
  http::HttpResponse again = ServeWebAsset("/assets/app.js", "\"other\", " + etag);
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(ServeWebAsset("/assets/app.js", "\"other\"").status, 200);
}

TEST(DashboardTest, OnlyEmbeddedFilesAreServed) {
  for (const char* path : {"/assets/../index.html", "/assets/%2e%2e%2fapp.js", "/assets/",
                           "/assets/app.js/", "/etc/passwd", "/assets/APP.JS", "/index.htm"}) {
    http::HttpResponse r = ServeWebAsset(path, "");
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_NE(r.body.find("not_found"), std::string::npos) << path;
  }
}

}  // namespace
}  // namespace eragon::server
