"""Read /metrics as Prometheus would: parsed samples, looked up by name and labels."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


class Scrape:
    def __init__(self, text: str) -> None:
        self.text = text
        self.families = {f.name: f for f in text_string_to_metric_families(text)}
        self.samples = [s for f in self.families.values() for s in f.samples]

    def value(self, name: str, **labels) -> float:
        """The one sample of `name` whose labels include `labels` (0 for none at all)."""
        hits = [
            s.value
            for s in self.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        ]
        assert len(hits) <= 1, f"{name}{labels} matches {len(hits)} samples"
        return hits[0] if hits else 0.0

    def has(self, name: str) -> bool:
        return any(s.name == name for s in self.samples) or name in self.families

    def names(self) -> set[str]:
        """Every sample name and family name served (what an alert expression may use)."""
        return {s.name for s in self.samples} | set(self.families)


def scrape(client, **headers) -> Scrape:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content[:200]
    assert response["Content-Type"].startswith("text/plain; version=")
    return Scrape(response.content.decode())
