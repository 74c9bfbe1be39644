// moat-filterd - placeholder until the config loader lands (issue 2). See README.md.
#include <cstdio>
int main() {
  std::puts("moat-filterd: not built yet");
  return 1;
}
