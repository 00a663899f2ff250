#ifndef STIPPLE_CLZ4_SHIM_H
#define STIPPLE_CLZ4_SHIM_H
// Debian's liblz4-dev. Only the block API is used: LZ4_loadDict,
// LZ4_compress_fast_continue, LZ4_decompress_safe_usingDict.
#include <lz4.h>
#endif
