"""WeCom callback crypto (WXBizMsgCrypt): SHA-1 signatures and AES-256-CBC message envelopes."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WeCom pads with PKCS#7 to multiples of 32 bytes (not AES's 16)


class CryptoError(Exception):
    """A callback that cannot be trusted or read: bad signature, key, padding or layout."""


class WeComCrypto:
    """Signs, verifies, encrypts and decrypts WeCom callback payloads.

    `receive_id` is "" for AI bots (智能机器人) and the CorpID for self-built apps; when it
    is set, a decrypted message must carry exactly that id.
    """

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str = "") -> None:
        if len(encoding_aes_key) != 43:
            raise CryptoError("EncodingAESKey must be 43 characters")
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error:
            raise CryptoError("EncodingAESKey is not valid base64") from None
        if len(key) != 32:
            raise CryptoError("EncodingAESKey must decode to 32 bytes")
        self.token = token
        self.receive_id = receive_id
        self._key = key
        self._iv = key[:16]

    @property
    def media_key(self) -> bytes:
        """The AES key WeCom also encrypts a callback's pictures and files with (doc 接收消息,
        document/path/100719: "加密AESKey与回调加解密的AESKey相同")."""
        return self._key

    def signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        """sha1 over the sorted concatenation of token, timestamp, nonce and ciphertext."""
        parts = sorted([self.token, timestamp, nonce, encrypt])
        return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()

    def verify(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        """Raise CryptoError unless `msg_signature` signs this ciphertext."""
        expected = self.signature(timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected, msg_signature.lower()):
            raise CryptoError("signature mismatch")

    def decrypt(self, encrypt: str) -> str:
        """The message inside a base64 ciphertext; CryptoError when it does not decrypt."""
        try:
            data = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError):
            raise CryptoError("ciphertext is not valid base64") from None
        if not data or len(data) % 16:
            raise CryptoError("ciphertext length is not a multiple of the AES block")
        decryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise CryptoError("bad padding (wrong EncodingAESKey?)")
        plain = plain[:-pad]
        if len(plain) < 20:
            raise CryptoError("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise CryptoError("bad message length (wrong EncodingAESKey?)")
        message, receive_id = plain[20:20 + length], plain[20 + length:]
        try:
            text = message.decode("utf-8")
            rid = receive_id.decode("utf-8")
        except UnicodeDecodeError:
            raise CryptoError("plaintext is not UTF-8 (wrong EncodingAESKey?)") from None
        if self.receive_id and rid != self.receive_id:
            raise CryptoError("receive id mismatch")
        return text

    def encrypt(self, message: str, random16: bytes | None = None) -> str:
        """Base64 ciphertext of `message` (16 random bytes, length, message, receive id)."""
        prefix = random16 if random16 is not None else os.urandom(16)
        if len(prefix) != 16:
            raise ValueError("random prefix must be 16 bytes")
        body = message.encode("utf-8")
        plain = prefix + struct.pack(">I", len(body)) + body + self.receive_id.encode("utf-8")
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        encryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")

    def open(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> str:
        """Verify then decrypt one callback."""
        self.verify(msg_signature, timestamp, nonce, encrypt)
        return self.decrypt(encrypt)

    def seal(self, message: str, timestamp: str, nonce: str) -> dict[str, str]:
        """The encrypted reply envelope WeCom expects for a passive reply."""
        encrypt = self.encrypt(message)
        return {
            "encrypt": encrypt,
            "msgsignature": self.signature(timestamp, nonce, encrypt),
            "timestamp": timestamp,
            "nonce": nonce,
        }
