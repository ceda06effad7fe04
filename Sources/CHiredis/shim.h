#ifndef FEDERATION_CHIREDIS_SHIM_H
#define FEDERATION_CHIREDIS_SHIM_H

#include <hiredis/hiredis.h>
#include <signal.h>

/// The i-th element of an array reply (Swift cannot index `redisReply **` ergonomically).
static inline redisReply *chiredis_reply_element(const redisReply *reply, size_t index) {
    return reply->element[index];
}

/// Ignores SIGPIPE for the whole process: hiredis writes with plain write().
static inline void chiredis_ignore_sigpipe(void) {
    signal(SIGPIPE, SIG_IGN);
}

#endif
