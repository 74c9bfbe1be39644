// html_renderer.h - HTML to the text SpamAssassin's body rules see, and the links in it.
//
// RenderHtml() reproduces Mail::SpamAssassin::HTML on top of HTML::Parser's tokenization:
//  - tags, comments, declarations and processing instructions are dropped; `<![CDATA[..]]>` is
//    text; character references are decoded (named ones from HTML::Entities, `&copy` style
//    legacy names also without ';', numeric ones in decimal and hex); "&nbsp;" is a space.
//  - <script> and <style> content is dropped; <title>, <textarea>, <xmp>, <iframe> and
//    <plaintext> content is text (the latter three not entity-decoded), as HTML::Parser does.
//  - whitespace as HTML.pm renders it: <br> and <div> give "\n"; <li>, <td>, <th>, <dt>, <dd>,
//    <embed>, <h1>..<h6> give " "; <p>, <hr>, <blockquote>, <pre>, <listing>, <plaintext>,
//    <xmp> and <title> give "\n\n" (opening and closing tags alike); runs of whitespace inside
//    text become one space.
//  - text hidden by colours or sizes is still part of the rendered text (SpamAssassin's
//    `body` rules see it; only Bayes separates it).
//  - links: href of <a>, <area>, <link> (and data-saferedirecturl), src of <img>, <frame>,
//    <iframe>, <embed>, <script>, <bgsound>, action of <form>, background of <body>, <table>,
//    <tr>, <td>, <meta http-equiv=refresh> URLs and <base href>; relative links are resolved
//    against <base> (RFC 2396 steps, as HTML.pm's target_uri), data:/mailto:/file:/cid:/tel:
//    kept as they are. `link_tags` says which tag each link came from.
//
// Input and output are UTF-8 (or any ASCII-compatible bytes). Pure, thread-safe; linear time.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace moat::rules {

struct HtmlRendering {
  std::string text;
  std::vector<std::string> links;      // in document order, duplicates kept
  std::vector<std::string> link_tags;  // the tag of each link ("a", "img", "form", ...)
  std::set<std::string> tags;          // every tag name seen, opening or closing (lower-case)
  size_t length = 0;                   // characters of HTML source (HTML.pm's "length")
};

HtmlRendering RenderHtml(std::string_view html);

// Resolves `relative` against `base` as SpamAssassin's HTML.pm target_uri() does.
std::string ResolveUri(std::string_view base, std::string_view relative);

}  // namespace moat::rules
