from config.crypto import decrypt, encrypt, keyed_hash, mask_id


def test_encryption_round_trips_and_is_not_deterministic():
    first, second = encrypt("11010519491231002X"), encrypt("11010519491231002X")
    assert first != second
    assert "11010519491231002X" not in first
    assert decrypt(first) == decrypt(second) == "11010519491231002X"


def test_keyed_hash_is_stable_case_insensitive_and_depends_on_the_key(settings):
    assert keyed_hash("11010519491231002x") == keyed_hash("11010519491231002X")
    before = keyed_hash("11010519491231002X")
    settings.FIELD_ENCRYPTION_KEY = "another-key-entirely-0123456789"
    assert keyed_hash("11010519491231002X") != before


def test_mask_shows_only_the_last_four_characters():
    assert mask_id("11010519491231002X") == "**************002X"
