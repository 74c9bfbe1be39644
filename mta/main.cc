// moat-mta - placeholder until the config loader lands (issue 2). See README.md.
#include <cstdio>
int main() {
  std::puts("moat-mta: not built yet");
  return 1;
}
