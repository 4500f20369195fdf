#!/usr/bin/env python3
"""Independent implementation of the two interop formats, for TestPythonInterop.

Written with the Python `cryptography` package, the way the vectors in
interop/ were made (interop/README.md §3): AESGCM in the hosted platform's
byte layout, and PBKDF2HMAC + Fernet in the call sequence of Flet's
flet/security/__init__.py. It reads one JSON request on stdin and writes one
JSON answer on stdout. Plaintexts travel as JSON strings one way and as
base64 of their UTF-8 bytes the other, so bytes compare exactly.

Request:  {"anvil_decrypt": [{"key", "payload"}], "flet_decrypt": [{"passphrase", "token"}],
           "anvil_encrypt": [{"key", "plaintext"}], "flet_encrypt": [{"passphrase", "plaintext"}]}
Answer:   the same four lists; each decrypt item {"plaintext_b64"} or {"error"},
          each encrypt item {"payload"} / {"token"}.
"""
import base64
import json
import os
import sys

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC


# --- the hosted platform (App Server): IV12 || AES-GCM(ct || tag16), no AD ---

def anvil_encrypt(key_b64, text):
    key = base64.b64decode(key_b64, validate=True)
    iv = os.urandom(12)
    return base64.b64encode(iv + AESGCM(key).encrypt(iv, text.encode("utf-8"), None)).decode("ascii")


def anvil_decrypt(key_b64, payload):
    key = base64.b64decode(key_b64, validate=True)
    raw = base64.b64decode(payload, validate=True)
    return AESGCM(key).decrypt(raw[:12], raw[12:], None).decode("utf-8")


# --- Flet: flet.security.encrypt / decrypt ---

def _get_key_for_secret(secret_key, salt, iterations=600000):
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=iterations)
    return base64.urlsafe_b64encode(kdf.derive(secret_key.encode("utf-8")))


def flet_encrypt(plain_text, secret_key):
    salt = os.urandom(16)
    f = Fernet(_get_key_for_secret(secret_key, salt))
    return base64.urlsafe_b64encode(salt + f.encrypt(plain_text.encode("utf-8"))).decode("utf-8")


def flet_decrypt(encrypted_data, secret_key):
    data = base64.urlsafe_b64decode(encrypted_data)
    f = Fernet(_get_key_for_secret(secret_key, data[:16]))
    return f.decrypt(data[16:]).decode("utf-8")  # no ttl, as Flet


def _decrypted(fn, *args):
    try:
        return {"plaintext_b64": base64.b64encode(fn(*args).encode("utf-8")).decode("ascii")}
    except Exception as e:  # the test only needs to know that it failed
        return {"error": type(e).__name__}


def main():
    req = json.load(sys.stdin)
    out = {
        "anvil_decrypt": [_decrypted(anvil_decrypt, c["key"], c["payload"]) for c in req.get("anvil_decrypt", [])],
        "flet_decrypt": [_decrypted(flet_decrypt, c["token"], c["passphrase"]) for c in req.get("flet_decrypt", [])],
        "anvil_encrypt": [{"payload": anvil_encrypt(c["key"], c["plaintext"])} for c in req.get("anvil_encrypt", [])],
        "flet_encrypt": [{"token": flet_encrypt(c["plaintext"], c["passphrase"])} for c in req.get("flet_encrypt", [])],
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
