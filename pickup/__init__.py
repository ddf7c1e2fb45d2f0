"""O2O pickup counter: kiosks, pickup codes, handover."""
