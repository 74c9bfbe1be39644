// spf_dns.cc - see spf_dns.h.
#include "mta/spf_dns.h"

// GCC 12 warns that destroying the awaited answer in these frames frees "frame_ptr + offset"; it
// mistakes the coroutine frame for the vector's buffer (a false positive of -O2 coroutine
// inlining, GCC bug 105205 family). ASan runs of the SPF tests find nothing.
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"

namespace moat::mta {

asio::awaitable<core::Result<core::DnsAnswer<core::TxtRecord>>> ResolverSpfDns::Txt(
    std::string name) {
  auto answer = co_await resolver_.LookupTxt(std::move(name), timeout_);
  co_return answer;
}

asio::awaitable<core::Result<core::DnsAnswer<core::AddressRecord>>> ResolverSpfDns::A(
    std::string name) {
  auto answer = co_await resolver_.LookupA(std::move(name), timeout_);
  co_return answer;
}

asio::awaitable<core::Result<core::DnsAnswer<core::AddressRecord>>> ResolverSpfDns::Aaaa(
    std::string name) {
  auto answer = co_await resolver_.LookupAaaa(std::move(name), timeout_);
  co_return answer;
}

asio::awaitable<core::Result<core::DnsAnswer<core::MxRecord>>> ResolverSpfDns::Mx(
    std::string name) {
  auto answer = co_await resolver_.LookupMx(std::move(name), timeout_);
  co_return answer;
}

asio::awaitable<core::Result<core::DnsAnswer<core::PtrRecord>>> ResolverSpfDns::Ptr(
    asio::ip::address address) {
  auto answer = co_await resolver_.LookupPtr(address, timeout_);
  co_return answer;
}

}  // namespace moat::mta
