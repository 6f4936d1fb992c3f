"""WXBizMsgCrypt on `cryptography`: Tencent's published vectors, round trips, and refusals."""

from __future__ import annotations

import base64

import pytest

from bot.platforms.wecom_crypto import CryptoError, WeComCrypto

# Vectors from Tencent's official WeCom callback samples (github.com/sbzhu/weworkapi_python,
# callback/Sample.py and callback_json/Sample.py, "企业微信团队"), and the URL-verification
# example of the WeCom developer docs (加解密方案说明, token "QDG6eK").
TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
CORP = "ww1436e0e65a779aee"
ECHO = "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
POST = (
    "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGz"
    "BhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3J"
    "WcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQH"
    "E7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYu"
    "PDGOCI8jmnKiypE+"
)
DOC_ECHO = ("P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO"
            "+FZXvnaqQ==")
DOC_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"


def test_url_verification_vector() -> None:
    c = WeComCrypto(TOKEN, KEY, CORP)
    assert c.signature("1476416373", "47744683", ECHO) == "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb"
    assert c.open("012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1476416373", "47744683",
                  ECHO) == "1288432023552776189"


def test_message_vector() -> None:
    c = WeComCrypto(TOKEN, KEY, CORP)
    xml = c.open("0c3914025cb4b4d68103f6bfc8db550f79dcf48e", "1476422779", "1597212914", POST)
    assert "<Content>你好</Content>" in xml and "<FromUserName>ChenJiaShun" in xml


def test_docs_vector() -> None:
    c = WeComCrypto("QDG6eK", DOC_KEY, "wx5823bf96d3bd56c7")
    assert c.signature("1409659589", "263014780", DOC_ECHO) == (
        "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3")
    assert c.decrypt(DOC_ECHO) == "1616140317555161061"


def test_round_trip_ai_bot_and_padding_to_32_bytes() -> None:
    c = WeComCrypto("tok", KEY)  # AI bots: receive id ""
    for msg in ["", "a", "中文" * 7, '{"msgid":"1","text":{"content":"点单"}}' * 9]:
        enc = c.encrypt(msg)
        assert len(base64.b64decode(enc)) % 32 == 0
        assert c.decrypt(enc) == msg
    env = c.seal('{"msgtype":"stream"}', "1700000000", "n1")
    assert env["nonce"] == "n1" and env["timestamp"] == "1700000000"
    assert c.open(env["msgsignature"], "1700000000", "n1", env["encrypt"]) == '{"msgtype":"stream"}'


def test_fixed_random_prefix_is_deterministic() -> None:
    c = WeComCrypto("tok", KEY, CORP)
    assert c.encrypt("hi", b"0" * 16) == c.encrypt("hi", b"0" * 16)
    assert c.encrypt("hi") != c.encrypt("hi")


def test_refusals() -> None:
    c = WeComCrypto(TOKEN, KEY, CORP)
    with pytest.raises(CryptoError):
        c.verify("0" * 40, "1476416373", "47744683", ECHO)
    with pytest.raises(CryptoError):  # wrong key: the padding or layout does not check out
        WeComCrypto(TOKEN, DOC_KEY, CORP).decrypt(ECHO)
    with pytest.raises(CryptoError):  # another receive id
        WeComCrypto(TOKEN, KEY, "ww-other").decrypt(ECHO)
    for bad in ["not base64!", "", base64.b64encode(b"x" * 15).decode()]:
        with pytest.raises(CryptoError):
            c.decrypt(bad)
    with pytest.raises(CryptoError):
        WeComCrypto(TOKEN, "short")
    with pytest.raises(CryptoError):
        WeComCrypto(TOKEN, "!" * 43)


def test_wrong_key_never_decrypts_random_messages() -> None:
    right, wrong = WeComCrypto("t", KEY), WeComCrypto("t", DOC_KEY)
    failures = 0
    for i in range(200):
        enc = right.encrypt(f'{{"msgid":"{i}"}}')
        try:
            wrong.decrypt(enc)
        except CryptoError:
            failures += 1
    assert failures >= 195  # garbage may pass the checks by chance only very rarely
