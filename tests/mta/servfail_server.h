// servfail_server.h - a UDP "DNS server" on a free loopback port that answers every query with
// SERVFAIL, from its own thread (the DNSBL and SPF tests' broken list / broken domain).
#pragma once

#include <array>
#include <thread>

#include <asio.hpp>

namespace moat::mta::testing {

class ServfailServer {
 public:
  ServfailServer() : socket_(io_, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    Receive();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~ServfailServer() {
    io_.stop();
    thread_.join();
  }
  int port() const { return socket_.local_endpoint().port(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }

 private:
  void Receive() {
    socket_.async_receive_from(asio::buffer(buffer_), peer_, [this](std::error_code ec, size_t n) {
      if (ec) return;
      if (n >= 12) {
        buffer_[2] |= static_cast<char>(0x80);     // QR: a response
        buffer_[3] = static_cast<char>(0x80 | 2);  // RA, RCODE 2 = SERVFAIL
        socket_.send_to(asio::buffer(buffer_, n), peer_);
      }
      Receive();
    });
  }
  asio::io_context io_;
  asio::ip::udp::socket socket_;
  asio::ip::udp::endpoint peer_;
  std::array<char, 1500> buffer_{};
  std::thread thread_;
};

}  // namespace moat::mta::testing
