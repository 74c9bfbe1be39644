// received_parser_test.cc - Received lines to SpamAssassin's relay strings.
#include "rules/received_parser.h"

#include <gtest/gtest.h>

namespace moat::rules {
namespace {

std::string Parse(const std::string& line) {
  ReceivedParse p = ParseReceivedLine(line);
  if (p.kind == ReceivedParse::Kind::kIgnored) return "ignored";
  if (p.kind == ReceivedParse::Kind::kUnparseable) return "unparseable";
  return p.relay.AsString();
}

TEST(ReceivedParserTest, CommonFormats) {
  EXPECT_EQ(
      Parse("from mx.example.org (mx.example.org [192.0.2.10]) by mail.example.net (Postfix) "
            "with ESMTP id 4F1A2 for <bob@example.net>; Mon, 3 Mar 2025 10:15:00 +0100 (CET)"),
      "[ ip=192.0.2.10 rdns=mx.example.org helo=mx.example.org by=mail.example.net ident= "
      "envfrom= intl=0 id=4F1A2 auth= msa=0 ]");
  EXPECT_EQ(
      Parse("from helo.example (unknown [198.51.100.7]) by mx.example.net (Postfix) with SMTP id "
            "AB12"),
      "[ ip=198.51.100.7 rdns= helo=helo.example by=mx.example.net ident= envfrom= intl=0 id=AB12 "
      "auth= msa=0 ]");
  EXPECT_EQ(
      Parse("from [203.0.113.5] (helo=laptop) by smtp.example.com with esmtpsa (Exim 4.96) "
            "(envelope-from <u@example.com>) id 1abc-000"),
      "[ ip=203.0.113.5 rdns= helo=laptop by=smtp.example.com ident= envfrom=u@example.com intl=0 "
      "id=1abc-000 auth=esmtpsa msa=0 ]");
  EXPECT_EQ(
      Parse("from godzilla.justlinux.com (ns1.userchoice.com [209.90.19.2]) by webnote.net "
            "(8.9.3/8.9.3) with ESMTP id GAA09378"),
      "[ ip=209.90.19.2 rdns=ns1.userchoice.com helo=godzilla.justlinux.com by=webnote.net ident= "
      "envfrom= intl=0 id=GAA09378 auth= msa=0 ]");
  EXPECT_EQ(Parse("by mail.example.net (Postfix, from userid 500) id 66ADCD88BE"), "ignored");
  EXPECT_EQ(Parse("from localhost (localhost [127.0.0.1]) by x with local for <a@b>"), "ignored");
  EXPECT_EQ(Parse("from somewhere by something odd"), "unparseable");
}

TEST(ReceivedParserTest, TrustStopsAtTheFirstPublicUnauthenticatedRelay) {
  RelayPath path = AnalyzeRelays({
      "from internal.example (internal.example [10.1.2.3]) by gw.example.net (Postfix) with ESMTP "
      "id 1",
      "from mx.example.org (mx.example.org [192.0.2.10]) by internal.example (Postfix) with ESMTP "
      "id 2",
      "from client.example (client.example [10.9.9.9]) by mx.example.org (Postfix) with ESMTP id 3",
  });
  ASSERT_EQ(path.trusted.size(), 1u);
  ASSERT_EQ(path.untrusted.size(), 2u);  // everything below the first untrusted hop too
  EXPECT_EQ(path.trusted[0].ip, "10.1.2.3");
  EXPECT_EQ(path.last_trusted_index, 0);
  EXPECT_NE(path.trusted_text.find("intl=1"), std::string::npos);
  EXPECT_EQ(path.untrusted_text.rfind("[ ip=192.0.2.10 ", 0), 0u);
}

}  // namespace
}  // namespace moat::rules
