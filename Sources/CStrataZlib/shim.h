// zlib (Debian: zlib1g-dev): compress2 for PNG image data, and uncompress/crc32 for the tests that read it back.
#include <zlib.h>
