// html_renderer_test.cc - HTML rendered to text and links, as SpamAssassin's HTML.pm does.
#include "rules/html_renderer.h"

#include <gtest/gtest.h>

namespace moat::rules {
namespace {

TEST(HtmlRendererTest, DropsTagsAndDecodesEntities) {
  HtmlRendering r = RenderHtml(
      "<p>Caf&eacute; &amp; cr&#232;me&nbsp;br&#xFB;l&eacute;e &copy2024 &euro &bogus;</p>");
  EXPECT_EQ(r.text, "\n\nCafé & crème brûlée ©2024 &euro &bogus;\n\n");
}

TEST(HtmlRendererTest, LineBreaksFollowHtmlPm) {
  EXPECT_EQ(RenderHtml("a<br>b<br/>c").text, "a\nb\nc");
  EXPECT_EQ(RenderHtml("a<div>b</div>c").text, "a\nb\nc");
  EXPECT_EQ(RenderHtml("a<p>b</p>c").text, "a\n\nb\n\nc");
  EXPECT_EQ(RenderHtml("<td>a</td><td>b</td>").text, " a  b ");  // collapsed later, per paragraph
  EXPECT_EQ(RenderHtml("a   <b>bold</b>\n\n  text").text, "a bold text");
  // A trailing space before a block break is dropped, a leading one after it too.
  EXPECT_EQ(RenderHtml("one <br> two").text, "one\ntwo");
}

TEST(HtmlRendererTest, ScriptAndStyleAreDroppedTitleIsKept) {
  HtmlRendering r = RenderHtml(
      "<html><head><title>The &amp; title</title><style>p { color: red; } <b>x</b></style>"
      "<script>if (a < b) { document.write(\"</b>hidden\"); }</script></head>"
      "<body>visible<!-- comment --> text<![CDATA[ raw <i>cdata</i> ]]></body></html>");
  EXPECT_EQ(r.text, "\n\nThe & title\n\nvisible text raw <i>cdata</i> ");
  EXPECT_TRUE(r.tags.count("script"));
  EXPECT_TRUE(r.tags.count("title"));
}

TEST(HtmlRendererTest, BrokenMarkupIsText) {
  EXPECT_EQ(RenderHtml("1 < 2 and 3 > 2").text, "1 < 2 and 3 > 2");
  EXPECT_EQ(RenderHtml("tail <unterminated").text, "tail <unterminated");
  EXPECT_EQ(RenderHtml("Bu</ donkey >lk e-< nope >mail").text, "Bu</ donkey >lk e-< nope >mail");
  EXPECT_EQ(RenderHtml("ma<himum>il w<himum>as").text, "mail was");
}

TEST(HtmlRendererTest, CollectsLinksResolvedAgainstBase) {
  HtmlRendering r = RenderHtml(
      "<base href=\"http://example.com/dir/index.html\">"
      "<a href=\"page.html\">x</a><a HREF='/abs?q=1'>y</a><img src=\"img/p.gif\">"
      "<form action=\"https://other.example/post\"></form><a href=\"mailto:a@b.example\">m</a>"
      "<meta http-equiv=\"Refresh\" content=\"0; URL=http://go.example/x\">"
      "<table background=\"bg.png\"><tr><td>t</td></tr></table><iframe "
      "src=\"//cdn.example/f\"></iframe>");
  std::vector<std::string> expected = {"http://example.com/dir/index.html",
                                       "http://example.com/dir/page.html",
                                       "http://example.com/abs?q=1",
                                       "http://example.com/dir/img/p.gif",
                                       "https://other.example/post",
                                       "mailto:a@b.example",
                                       "http://go.example/x",
                                       "http://example.com/dir/bg.png",
                                       "http://cdn.example/f"};
  EXPECT_EQ(r.links, expected);
  EXPECT_EQ(r.link_tags[2], "a");
  EXPECT_EQ(r.link_tags[4], "form");
}

TEST(HtmlRendererTest, ResolvesRelativeUris) {
  EXPECT_EQ(ResolveUri("http://a/b/c/d;p?q", "g"), "http://a/b/c/g");
  EXPECT_EQ(ResolveUri("http://a/b/c/d;p?q", "../g"), "http://a/b/g");
  EXPECT_EQ(ResolveUri("http://a/b/c/d;p?q", "//g"), "http://g");
  EXPECT_EQ(ResolveUri("http://a/b/c/d;p?q", "?y"), "http://a/b/c/d;p?y");
  EXPECT_EQ(ResolveUri("", "www.example.com/x"), "www.example.com/x");
  EXPECT_EQ(ResolveUri("", "//www.example.com/x"), "http://www.example.com/x");
}

TEST(HtmlRendererTest, LengthCountsCharacters) { EXPECT_EQ(RenderHtml("<p>é</p>").length, 8u); }

}  // namespace
}  // namespace moat::rules
