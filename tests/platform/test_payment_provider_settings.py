"""Production with a real payment adapter (WeChat Pay, Alipay) refuses to pass its checks
without the adapter's merchant ids and keys; named (and readable), it passes."""

import pytest

from marketplace.payment_keys import new_rsa_pair
from tests.platform.test_settings import check_deploy

WECHATPAY = {
    "PAYMENT_PROVIDER": "wechatpay",
    "WECHATPAY_MCHID": "1900000109",
    "WECHATPAY_APPID": "wxd678efh567hg6787",
    "WECHATPAY_CERT_SERIAL_NO": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
    "WECHATPAY_PUBLIC_KEY_ID": "PUB_KEY_ID_0114232806052025031300000000",
    "WECHATPAY_APIV3_KEY": "0123456789abcdef0123456789abcdef",
    "WECHATPAY_CUSTOMS": "ZHENGZHOU_BS",
}
ALIPAY = {"PAYMENT_PROVIDER": "alipay", "ALIPAY_APP_ID": "2021000000000001"}


def _keys(tmp_path, *names):
    private, public = new_rsa_pair()
    paths = {}
    for name in names:
        path = tmp_path / f"{name}.pem"
        path.write_text(public if "PUBLIC" in name else private)
        paths[name] = str(path)
    return paths


@pytest.mark.parametrize(
    ("env", "missing"),
    [(WECHATPAY, "WECHATPAY_PRIVATE_KEY_PATH"), (ALIPAY, "ALIPAY_APP_PRIVATE_KEY_PATH")],
    ids=["wechatpay", "alipay"],
)
def test_production_refuses_a_real_payment_adapter_without_its_keys(tmp_path, env, missing):
    result = check_deploy(tmp_path, **env)
    assert result.returncode != 0
    assert f"{missing} must be set in production" in result.stderr + result.stdout


def test_production_with_wechatpay_keys_named_passes_and_a_missing_file_does_not(tmp_path):
    paths = _keys(tmp_path, "WECHATPAY_PRIVATE_KEY_PATH", "WECHATPAY_PUBLIC_KEY_PATH")
    result = check_deploy(tmp_path, **WECHATPAY, **paths)
    assert result.returncode == 0, result.stdout + result.stderr
    gone = {**paths, "WECHATPAY_PUBLIC_KEY_PATH": str(tmp_path / "nowhere.pem")}
    result = check_deploy(tmp_path, **WECHATPAY, **gone)
    assert result.returncode != 0 and "names no readable file" in result.stderr + result.stdout


def test_production_with_alipay_keys_named_passes(tmp_path):
    paths = _keys(tmp_path, "ALIPAY_APP_PRIVATE_KEY_PATH", "ALIPAY_PUBLIC_KEY_PATH")
    result = check_deploy(tmp_path, **ALIPAY, **paths)
    assert result.returncode == 0, result.stdout + result.stderr
