// smtp_data_reader_test.cc - DATA decoding (unstuffing, end marker, CRLF, size limit) and the
// client's dot-stuffer, checked against each other.
#include "core/smtp_data_reader.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace moat::core {
namespace {

struct Decoded {
  bool done = false;
  std::string message;
  std::string rest;  // left in the buffer after the end marker
  bool overflow = false;
  std::uint64_t size = 0;
};

Decoded Decode(std::string_view input, std::size_t chunk, std::uint64_t limit = 0) {
  SmtpInputBuffer buffer(8192);
  SmtpDataReader reader(limit);
  Decoded out;
  std::size_t pos = 0;
  while (!out.done) {
    out.done = reader.Consume(buffer, out.message);
    if (out.done || pos == input.size()) break;
    std::span<char> space = buffer.PrepareRead();
    std::size_t n = std::min({chunk, space.size(), input.size() - pos});
    std::memcpy(space.data(), input.data() + pos, n);
    buffer.CommitRead(n);
    pos += n;
  }
  out.rest = std::string(buffer.pending()) + std::string(input.substr(pos));
  out.overflow = reader.overflow();
  out.size = reader.size();
  return out;
}

TEST(SmtpDataReaderTest, Table) {
  struct Case {
    std::string name;
    std::string input;
    bool done;
    std::string message;
    std::string rest;
  };
  const Case cases[] = {
      {"plain", "Subject: x\r\n\r\nbody\r\n.\r\n", true, "Subject: x\r\n\r\nbody\r\n", ""},
      {"empty message", ".\r\n", true, "", ""},
      {"dot stuffing", "..leading\r\n...two\r\n.\r\n", true, ".leading\r\n..two\r\n", ""},
      {"dot inside line", "a.b\r\n .x\r\n.\r\n", true, "a.b\r\n .x\r\n", ""},
      {"bare LF normalised", "a\nb\n.\n", true, "a\r\nb\r\n", ""},
      {"mixed ends", "a\r\nb\n.\r\n", true, "a\r\nb\r\n", ""},
      {"LF dot CRLF", "a\n.\r\n", true, "a\r\n", ""},
      {"bare CR is content", "a\rb\r\n.\r\n", true, "a\rb\r\n", ""},
      {"dot CR other", ".\rX\r\n.\r\n", true, "\rX\r\n", ""},
      {"NUL and 8-bit", std::string("a\0b\xff\r\n.\r\n", 9), true, std::string("a\0b\xff\r\n", 6),
       ""},
      {"pipelined after end", "x\r\n.\r\nQUIT\r\n", true, "x\r\n", "QUIT\r\n"},
      {"not finished", "x\r\n.y\r\n", false, "x\r\ny\r\n", ""},
      {"dot space is not the end", "a\r\n. \r\n.\r\n", true, "a\r\n \r\n", ""},
  };
  for (const auto& c : cases) {
    for (std::size_t chunk : {1u, 2u, 3u, 5u, 8192u}) {
      Decoded d = Decode(c.input, chunk);
      EXPECT_EQ(d.done, c.done) << c.name << " chunk " << chunk;
      EXPECT_EQ(d.message, c.message) << c.name << " chunk " << chunk;
      EXPECT_EQ(d.rest, c.rest) << c.name << " chunk " << chunk;
    }
  }
}

TEST(SmtpDataReaderTest, StopsStoringPastTheLimitButReadsToTheEnd) {
  std::string body;
  for (int i = 0; i < 100; ++i) body += "0123456789012345678901234567890123456789\r\n";
  std::string input = body + ".\r\nNOOP\r\n";
  Decoded d = Decode(input, 77, 1000);
  EXPECT_TRUE(d.done);
  EXPECT_TRUE(d.overflow);
  EXPECT_LE(d.message.size(), 1000u);
  EXPECT_EQ(d.size, body.size());
  EXPECT_EQ(d.rest, "NOOP\r\n");

  Decoded exact = Decode(input, 77, body.size());
  EXPECT_FALSE(exact.overflow);
  EXPECT_EQ(exact.message, body);
}

TEST(SmtpDotStufferTest, StuffsAndTerminates) {
  const std::pair<std::string, std::string> cases[] = {
      {"", ".\r\n"},
      {"a\r\n", "a\r\n.\r\n"},
      {"a", "a\r\n.\r\n"},
      {".a\n.\n..\r\n", "..a\r\n..\r\n...\r\n.\r\n"},
      {"a\nb", "a\r\nb\r\n.\r\n"},
      {"x\r", "x\r\n.\r\n"},
  };
  for (const auto& [message, wire] : cases) {
    SmtpDotStuffer stuffer;
    std::string out;
    stuffer.Encode(message, out);
    stuffer.Finish(out);
    EXPECT_EQ(out, wire) << message;
  }
}

// Whatever the message and however it is cut, stuffing then unstuffing gives the message with
// CRLF line ends (and a final CRLF).
TEST(SmtpDotStufferTest, RoundTripsRandomMessagesThroughTheReader) {
  std::mt19937 rng(12345);
  using namespace std::string_literals;
  const std::string alphabet = ".\r\nab\0\xff "s;
  for (int round = 0; round < 500; ++round) {
    std::string message;
    std::size_t length = rng() % 300;
    for (std::size_t i = 0; i < length; ++i) message.push_back(alphabet[rng() % alphabet.size()]);
    SmtpDotStuffer stuffer;
    std::string wire;
    std::size_t pos = 0;
    while (pos < message.size()) {
      std::size_t n = 1 + rng() % 20;
      stuffer.Encode(std::string_view(message).substr(pos, n), wire);
      pos += n;
    }
    stuffer.Finish(wire);

    // The expected decoding: every LF-terminated or final line ends with CRLF.
    std::string expected;
    for (std::size_t i = 0; i < message.size(); ++i) {
      if (message[i] == '\n' && (expected.empty() || expected.back() != '\r'))
        expected.push_back('\r');
      expected.push_back(message[i]);
    }
    if (!expected.empty() && expected.back() != '\n') {
      if (expected.back() != '\r') expected.push_back('\r');
      expected.push_back('\n');
    }
    Decoded d = Decode(wire, 1 + rng() % 50);
    ASSERT_TRUE(d.done) << "round " << round;
    EXPECT_EQ(d.message, expected) << "round " << round;
    EXPECT_EQ(d.rest, "");
  }
}

}  // namespace
}  // namespace moat::core
