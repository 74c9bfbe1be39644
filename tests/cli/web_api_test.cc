// web_api_test.cc - the review API without HTTP, against a real quarantine store: the list's
// filters and pages, the message view (headers, MIME/archive tree with detected types, text of
// the body), the decision trace, release/delete with roles and history, bulk actions, bad input,
// and the dashboard's numbers.
#include "cli/web_api.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <utime.h>

#include <filesystem>
#include <fstream>
#include <mutex>

#include "cli/web_dashboard.h"
#include "cli/web_message_view.h"
#include "quarantine/quarantine_store.h"
#include "tests/cli/web_test_messages.h"
#include "tests/support/test_support.h"

namespace moat::cli {
namespace {

namespace q = moat::quarantine;
using namespace std::chrono_literals;

// Records what a release sends; refuses recipients at refused.example like a 550 would.
class RecordingSender : public q::MessageSender {
 public:
  struct Sent {
    std::string sender;
    std::vector<std::string> recipients;
    std::string message;
  };
  core::Result<q::SendOutcome> Send(std::string_view envelope_sender,
                                    std::span<const std::string> recipients,
                                    std::string_view message) override {
    std::lock_guard lock(mutex_);
    sent.push_back({std::string(envelope_sender),
                    {recipients.begin(), recipients.end()},
                    std::string(message)});
    q::SendOutcome outcome;
    for (const std::string& r : recipients) {
      if (r.ends_with("@refused.example")) {
        outcome.rejected.push_back({r, "550 5.1.1 no such user", false});
      } else {
        outcome.accepted.push_back(r);
      }
    }
    return outcome;
  }
  std::mutex mutex_;
  std::vector<Sent> sent;
};

class WebApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    q::StoreOptions options;
    options.directory = dir_.Path("quarantine");
    options.clock = [this] { return now_; };
    auto store = q::QuarantineStore::Open(options);
    ASSERT_TRUE(store) << store.error().ToString();
    store_ = std::move(*store);
    now_ = base_ - 50h;
    for (int n = 0; n < 12; ++n) {  // one spam every 4 hours, from 50 h ago
      auto id = store_->Store(webtest::SpamMessage(n), webtest::SpamMetadata(n));
      ASSERT_TRUE(id) << id.error().ToString();
      spam_.push_back(*id);
      now_ += 4h;
    }
    now_ = base_ - 90min;
    auto virus = store_->Store(webtest::VirusMessage(), webtest::VirusMetadata());
    ASSERT_TRUE(virus);
    virus_ = *virus;
    now_ = base_ - 30min;
    auto hostile = store_->Store(webtest::HostileMessage(), webtest::HostileMetadata());
    ASSERT_TRUE(hostile);
    hostile_ = *hostile;
    now_ = base_;
    api_ = std::make_unique<QuarantineApi>(*store_, sender_, [this] { return now_; });
  }

  ApiReply List(std::vector<std::pair<std::string, std::string>> params) {
    return api_->List(QueryParams(params.begin(), params.end()));
  }

  std::vector<std::string> Ids(const ApiReply& reply) {
    std::vector<std::string> ids;
    for (const auto& e : reply.body["entries"]) ids.push_back(e["id"]);
    return ids;
  }

  testing::TempDir dir_;
  // A fixed "now" in the middle of an hour: 2026-11-21 10:30 UTC.
  q::TimePoint base_ = q::FromUnixMicros(int64_t{1'795'257'000} * 1'000'000);
  q::TimePoint now_;
  std::unique_ptr<q::QuarantineStore> store_;
  RecordingSender sender_;
  std::unique_ptr<QuarantineApi> api_;
  std::vector<std::string> spam_;
  std::string virus_, hostile_;
  WebActor admin_{"alice", WebRole::kAdmin};
  WebActor reviewer_{"bob", WebRole::kReviewer};
};

TEST_F(WebApiTest, ListsNewestFirstWithTotalAndPages) {
  ApiReply all = List({});
  ASSERT_EQ(all.status, 200) << all.body.dump();
  EXPECT_EQ(all.body["total"], 14);
  EXPECT_EQ(all.body["limit"], 50);
  std::vector<std::string> ids = Ids(all);
  ASSERT_EQ(ids.size(), 14u);
  EXPECT_EQ(ids[0], hostile_);
  EXPECT_EQ(ids[1], virus_);
  EXPECT_EQ(all.body["entries"][0].count("history"), 0u);

  ApiReply page2 = List({{"limit", "5"}, {"offset", "5"}});
  ASSERT_EQ(page2.status, 200);
  EXPECT_EQ(page2.body["total"], 14);
  EXPECT_EQ(Ids(page2), std::vector<std::string>(ids.begin() + 5, ids.begin() + 10));
  ApiReply oldest = List({{"order", "asc"}, {"limit", "1"}});
  EXPECT_EQ(Ids(oldest), std::vector<std::string>{spam_[0]});
}

TEST_F(WebApiTest, FiltersCombine) {
  EXPECT_EQ(Ids(List({{"class", "VIRUS"}})), std::vector<std::string>{virus_});
  EXPECT_EQ(List({{"class", "VIRUS,SPAMMY"}}).body["total"], 5);  // n = 0, 3, 6, 9 are spammy
  EXPECT_EQ(List({{"class", "virus"}, {"class", "spammy"}}).body["total"], 5);
  EXPECT_EQ(Ids(List({{"subject", "WATCHES 11"}})), std::vector<std::string>{spam_[11]});
  EXPECT_EQ(Ids(List({{"sender", "offers7@"}})), std::vector<std::string>{spam_[7]});
  EXPECT_EQ(List({{"rcpt", "dave@corp"}}).body["total"], 12);
  EXPECT_EQ(Ids(List({{"rcpt", "alice@"}})), std::vector<std::string>{virus_});
  EXPECT_EQ(Ids(List({{"from", "billing"}})), std::vector<std::string>{virus_});
  // Scores 5..16 for spam, 42.5 for the hostile one; the virus has none.
  EXPECT_EQ(List({{"min_score", "10"}, {"max_score", "15.5"}}).body["total"], 6);
  EXPECT_EQ(Ids(List({{"sort", "score"}, {"limit", "1"}})), std::vector<std::string>{hostile_});
  // Date range: the last 2 hours, and an explicit day.
  EXPECT_EQ(List({{"since", "2h"}}).body["total"], 2);
  EXPECT_EQ(List({{"since", "2026-11-21"}, {"until", "2026-11-22"}}).body["total"], 4);
  EXPECT_EQ(List({{"until", "2026-11-19T09:00:00Z"}}).body["total"], 1);  // spam_[0] only
}

TEST_F(WebApiTest, BadListParametersAreClearErrors) {
  struct Case {
    std::vector<std::pair<std::string, std::string>> params;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{{"klass", "VIRUS"}}, "unknown parameter 'klass'"},
           {{{"class", "SPAMMIER"}}, "class: unknown 'SPAMMIER'"},
           {{{"since", "yesterday"}}, "since: not a time"},
           {{{"min_score", "ten"}}, "min_score: not a number"},
           {{{"max_score", "inf"}}, "max_score"},
           {{{"limit", "0"}}, "limit: 1..1000"},
           {{{"limit", "1001"}}, "limit: 1..1000"},
           {{{"offset", "-1"}}, "offset: not a number"},
           {{{"sort", "size"}}, "sort: time or score"},
           {{{"order", "up"}}, "order: asc or desc"},
           {{{"state", "gone"}}, "state:"},
           {{{"subject", "a\r\nb"}}, ""},
       }) {
    ApiReply reply = List(c.params);
    EXPECT_EQ(reply.status, 400) << c.params[0].first;
    EXPECT_NE(reply.body["error"].get<std::string>().find(c.message), std::string::npos)
        << reply.body.dump();
  }
}

TEST_F(WebApiTest, ShowsHeadersTreeTraceAndBodyText) {
  ApiReply reply = api_->Show(admin_, virus_);
  ASSERT_EQ(reply.status, 200) << reply.body.dump();
  const nlohmann::json& body = reply.body;
  EXPECT_EQ(body["class"], "VIRUS");
  EXPECT_EQ(body["can_release"], true);
  EXPECT_EQ(body["trace"]["findings"][0]["name"], "Eicar-Test-Signature");
  const nlohmann::json& view = body["view"];
  ASSERT_TRUE(view.is_object()) << body.dump();
  EXPECT_EQ(view["headers"][3]["name"], "Subject");
  EXPECT_EQ(view["headers"][3]["value"], "Your invoice 4711");
  // The MIME and archive tree, with names and the types libmagic detected.
  bool saw_zip = false, saw_member = false;
  for (const auto& part : view["parts"]) {
    if (part["name"] == "invoice.zip") {
      saw_zip = true;
      EXPECT_EQ(part["declared_type"], "application/zip");
      EXPECT_EQ(part["detected_type"], "application/zip");
      EXPECT_EQ(part["container_format"].get<std::string>().substr(0, 3), "ZIP");
    }
    if (part["path"] == "2/invoice.zip/eicar.com") {
      saw_member = true;
      EXPECT_EQ(part["name"], "eicar.com");
      EXPECT_EQ(part["kind"], "member");
      EXPECT_EQ(part["size"], 68);
      EXPECT_EQ(part["detected_type"], "text/plain");
    }
  }
  EXPECT_TRUE(saw_zip && saw_member) << view["parts"].dump(2);
  ASSERT_EQ(view["body"].size(), 1u);
  EXPECT_EQ(view["body"][0]["text"], "Please find the invoice attached.");
}

TEST_F(WebApiTest, HostileContentIsKeptAsTextAndHtmlIsOnlyRenderedToText) {
  ApiReply reply = api_->Show(reviewer_, hostile_);
  ASSERT_EQ(reply.status, 200);
  const nlohmann::json& body = reply.body;
  EXPECT_EQ(body["subject"], webtest::kHostileSubject);
  const nlohmann::json& view = body["view"];
  bool saw_name = false;
  for (const auto& part : view["parts"])
    saw_name = saw_name || part["name"] == webtest::kHostileFileName;
  EXPECT_TRUE(saw_name);
  std::string plain, html_text, html_source;
  for (const auto& part : view["body"]) {
    if (part["content_type"] == "text/plain") plain = part["text"];
    if (part["content_type"] == "text/html" && !part["attachment"].get<bool>()) {
      html_text = part["text"];
      html_source = part["source"];
    }
  }
  EXPECT_NE(plain.find("<script>window.__moatPwned=8</script>"), std::string::npos);
  // Rendered as SpamAssassin sees HTML: the script's text and the tags are gone ...
  EXPECT_NE(html_text.find("Bold offer inside HTML"), std::string::npos) << html_text;
  EXPECT_EQ(html_text.find("__moatPwned"), std::string::npos) << html_text;
  EXPECT_EQ(html_text.find('<'), std::string::npos) << html_text;
  // ... and the source is there to read, as text.
  EXPECT_NE(html_source.find("<script>window.__moatPwned=4</script>"), std::string::npos);
}

TEST_F(WebApiTest, ReleaseRecordsWhoAndWhenAndSendsTheHeader) {
  ApiReply reply = api_->Release(admin_, virus_, nlohmann::json());
  ASSERT_EQ(reply.status, 200) << reply.body.dump();
  EXPECT_EQ(reply.body["accepted"], nlohmann::json({"alice@corp.example"}));
  ASSERT_EQ(sender_.sent.size(), 1u);
  EXPECT_EQ(sender_.sent[0].sender, "billing@invoices.example");
  EXPECT_TRUE(sender_.sent[0].message.starts_with("X-Quarantine-Released: id " + virus_))
      << sender_.sent[0].message.substr(0, 200);
  EXPECT_NE(sender_.sent[0].message.find("by web:alice;"), std::string::npos);

  ApiReply shown = api_->Show(admin_, virus_);
  EXPECT_EQ(shown.body["state"], "released");
  ASSERT_EQ(shown.body["history"].size(), 1u);
  const nlohmann::json& event = shown.body["history"][0];
  EXPECT_EQ(event["kind"], "release");
  EXPECT_EQ(event["actor"], "web:alice");
  EXPECT_EQ(event["time"], q::FormatUtc(base_));
  EXPECT_EQ(event["recipients"], nlohmann::json({"alice@corp.example"}));

  // Again only with force; to a chosen address; refusals are reported per recipient.
  EXPECT_EQ(api_->Release(admin_, virus_, nlohmann::json::object()).status, 409);
  ApiReply again = api_->Release(
      admin_, virus_, {{"force", true}, {"to", {"postmaster@corp.example", "x@refused.example"}}});
  ASSERT_EQ(again.status, 200) << again.body.dump();
  EXPECT_EQ(again.body["accepted"], nlohmann::json({"postmaster@corp.example"}));
  EXPECT_EQ(again.body["rejected"][0]["reply"], "550 5.1.1 no such user");
  EXPECT_EQ(api_->Show(admin_, virus_).body["history"][1]["detail"],
            "forced; rejected <x@refused.example>: 550 5.1.1 no such user");
}

TEST_F(WebApiTest, ReviewerCannotReleaseVirusMail) {
  ApiReply shown = api_->Show(reviewer_, virus_);
  EXPECT_EQ(shown.body["can_release"], false);
  ApiReply reply = api_->Release(reviewer_, virus_, nlohmann::json());
  EXPECT_EQ(reply.status, 403);
  EXPECT_NE(reply.body["error"].get<std::string>().find("reviewer cannot release VIRUS"),
            std::string::npos);
  EXPECT_TRUE(sender_.sent.empty());
  EXPECT_TRUE(api_->Show(admin_, virus_).body["history"].empty());
  // Spam is theirs to release.
  EXPECT_EQ(api_->Release(reviewer_, spam_[1], nlohmann::json()).status, 200);
  EXPECT_EQ(api_->Show(admin_, spam_[1]).body["history"][0]["actor"], "web:bob");
}

TEST_F(WebApiTest, UnknownMalformedAndBadRequests) {
  const std::string unknown = "20261121-080757.123456-9f3ac2e17b4d";
  EXPECT_EQ(api_->Show(admin_, unknown).status, 404);
  EXPECT_EQ(api_->Release(admin_, unknown, nlohmann::json()).status, 404);
  EXPECT_EQ(api_->Delete(admin_, unknown).status, 404);
  EXPECT_EQ(api_->Raw(unknown).error().code(), core::ErrorCode::kNotFound);
  ApiReply malformed = api_->Show(admin_, "../../etc/passwd");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_NE(malformed.body["error"].get<std::string>().find("not a quarantine ID"),
            std::string::npos);
  for (const nlohmann::json& bad :
       {nlohmann::json({{"to", "not an address"}}),
        nlohmann::json({{"to", "a@b>\r\nRCPT TO:<c@d"}}), nlohmann::json({{"to", 5}}),
        nlohmann::json({{"force", "yes"}}), nlohmann::json::array()}) {
    EXPECT_EQ(api_->Release(admin_, spam_[0], bad).status, 400) << bad.dump();
  }
  EXPECT_TRUE(sender_.sent.empty());
}

TEST_F(WebApiTest, DeleteThenShowHistoryAndRaw) {
  auto raw = api_->Raw(spam_[2]);
  ASSERT_TRUE(raw);
  EXPECT_EQ(*raw, webtest::SpamMessage(2));
  ApiReply deleted = api_->Delete(reviewer_, spam_[2]);
  ASSERT_EQ(deleted.status, 200) << deleted.body.dump();
  ApiReply shown = api_->Show(admin_, spam_[2]);
  ASSERT_EQ(shown.status, 200);
  EXPECT_EQ(shown.body["state"], "deleted");
  EXPECT_EQ(shown.body["history"][0]["actor"], "web:bob");
  EXPECT_EQ(shown.body["can_release"], false);
  EXPECT_FALSE(shown.body.contains("view"));
  EXPECT_EQ(api_->Delete(admin_, spam_[2]).status, 404);
  EXPECT_FALSE(api_->Raw(spam_[2]));
  EXPECT_EQ(List({}).body["total"], 13);
  EXPECT_EQ(List({{"state", "deleted"}}).body["total"], 1);
}

TEST_F(WebApiTest, BulkActionsReportEachEntry) {
  ApiReply release = api_->Bulk(
      reviewer_,
      {{"action", "release"}, {"ids", {spam_[3], virus_, "20261121-080757.123456-9f3ac2e17b4d"}}});
  ASSERT_EQ(release.status, 200) << release.body.dump();
  EXPECT_EQ(release.body["ok"], 1);
  EXPECT_EQ(release.body["failed"], 2);
  EXPECT_EQ(release.body["results"][0]["status"], 200);
  EXPECT_EQ(release.body["results"][1]["status"], 403);
  EXPECT_EQ(release.body["results"][2]["status"], 404);

  ApiReply remove = api_->Bulk(admin_, {{"action", "delete"}, {"ids", {spam_[4], spam_[5]}}});
  EXPECT_EQ(remove.body["ok"], 2);
  EXPECT_EQ(List({}).body["total"], 12);

  EXPECT_EQ(api_->Bulk(admin_, {{"action", "purge"}, {"ids", {spam_[6]}}}).status, 400);
  EXPECT_EQ(api_->Bulk(admin_, {{"action", "delete"}, {"ids", nlohmann::json::array()}}).status,
            400);
  EXPECT_EQ(api_->Bulk(admin_, {{"action", "delete"}, {"ids", {1, 2}}}).status, 400);
  nlohmann::json many = nlohmann::json::array();
  for (size_t i = 0; i <= kMaxBulkIds; ++i) many.push_back(spam_[6]);
  EXPECT_EQ(api_->Bulk(admin_, {{"action", "delete"}, {"ids", many}}).status, 400);
}

TEST_F(WebApiTest, DashboardCountsPerHourQueuesAndClamavAge) {
  std::string queue = dir_.Path("queue");
  for (auto [name, count] : std::vector<std::pair<std::string, int>>{
           {"incoming", 1}, {"active", 3}, {"deferred/A", 2}, {"deferred/B", 1}}) {
    for (int i = 0; i < count; ++i) dir_.WriteFile("queue/" + name + "/q" + std::to_string(i), "x");
  }
  std::string clamav = dir_.Path("clamav");
  std::string daily = dir_.WriteFile("clamav/daily.cld", "x");
  dir_.WriteFile("clamav/freshclam.dat", "newer but not a database");
  struct utimbuf times {};
  times.actime = times.modtime = std::chrono::system_clock::to_time_t(base_ - 5h);
  ::utime(daily.c_str(), &times);

  auto dashboard = BuildDashboard(store_->index(), {queue, clamav}, base_);
  ASSERT_TRUE(dashboard) << dashboard.error().ToString();
  const nlohmann::json& d = *dashboard;
  EXPECT_EQ(d["day"]["buckets"], 24);
  EXPECT_EQ(d["week"]["buckets"], 168);
  EXPECT_EQ(d["day"]["start"], "2026-11-20T11:00:00Z");  // 24 whole hours up to 11:00 today
  // Spam every 4 h from 50 h ago (08:30 two days ago), 5 of them in the last 24 h, and the
  // hostile spam.
  uint64_t day_spam =
      d["day"]["totals"]["SPAM"].get<uint64_t>() + d["day"]["totals"]["SPAMMY"].get<uint64_t>();
  EXPECT_EQ(day_spam, 6u);
  EXPECT_EQ(
      d["week"]["totals"]["SPAM"].get<uint64_t>() + d["week"]["totals"]["SPAMMY"].get<uint64_t>(),
      13u);
  // The virus (09:00) and the hostile spam (10:00) sit in the last two buckets.
  EXPECT_EQ(d["day"]["series"]["VIRUS"][22], 1);
  EXPECT_EQ(d["day"]["series"]["SPAM"][23], 1);
  EXPECT_EQ(d["queues"]["counts"]["incoming"], 1);
  EXPECT_EQ(d["queues"]["counts"]["active"], 3);
  EXPECT_EQ(d["queues"]["counts"]["deferred"], 3);
  EXPECT_EQ(d["queues"]["counts"]["hold"], 0);
  EXPECT_EQ(d["clamav"]["newest_file"], "daily.cld");
  EXPECT_EQ(d["clamav"]["age_seconds"], 5 * 3600);

  auto missing = BuildDashboard(store_->index(), {"", dir_.Path("nope")}, base_);
  ASSERT_TRUE(missing);
  EXPECT_TRUE((*missing)["queues"].contains("error"));
  EXPECT_TRUE((*missing)["clamav"].contains("error"));
}

TEST(WebMessageViewTest, CutsLongTextAndSurvivesGarbage) {
  std::string big = "Subject: big\r\n\r\n" + std::string(kMaxPartText + 5000, 'a') + "\r\n";
  auto view = BuildMessageView(big);
  ASSERT_TRUE(view);
  EXPECT_EQ((*view)["body"][0]["text"].get<std::string>().size(), kMaxPartText);
  EXPECT_EQ((*view)["body"][0]["truncated"], true);

  // A multi-byte character at the cut is not split.
  std::string euro = "Subject: euro\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
                     std::string(kMaxPartText - 1, 'a') + "\xe2\x82\xac";
  auto cut = BuildMessageView(euro);
  ASSERT_TRUE(cut);
  EXPECT_EQ((*cut)["body"][0]["text"].get<std::string>().size(), kMaxPartText - 1);

  for (std::string garbage :
       {std::string(), std::string("\0\0\xff\xfe", 4), std::string("no header"),
        std::string("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n--x")}) {
    auto v = BuildMessageView(garbage);
    ASSERT_TRUE(v);
    EXPECT_NO_THROW(v->dump());
  }
}

}  // namespace
}  // namespace moat::cli
