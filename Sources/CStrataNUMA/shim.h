// libnuma (Debian: libnuma-dev): node discovery, CPU binding and node-local memory.
#include <numa.h>
