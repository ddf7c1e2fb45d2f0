"""Demo data for the whole product (sits on top of every app)."""
