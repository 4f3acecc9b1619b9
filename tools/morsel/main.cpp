// The morsel CLI: one subcommand per file (convert, inspect, predict).
#include <cstdio>
int main() { std::puts("morsel"); return 0; }
