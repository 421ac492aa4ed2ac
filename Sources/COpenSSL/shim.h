#ifndef LOGSHIP_COPENSSL_SHIM_H
#define LOGSHIP_COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>
#endif
