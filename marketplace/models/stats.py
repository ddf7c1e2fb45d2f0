"""Daily rollup of the O2O journey (placing -> handover at the counter) for supervision."""

from django.db import models


class JourneyDay(models.Model):
    """Per Asia/Shanghai day placed, merchant and counter: pickup orders handed over, total
    journey seconds and a histogram (bounds as customs' release latency, plus "longer")."""

    day = models.DateField()
    merchant_code = models.CharField(max_length=10)
    counter_code = models.CharField(max_length=32)
    delivered = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0)
    j_0 = models.PositiveIntegerField(default=0)
    j_1 = models.PositiveIntegerField(default=0)
    j_2 = models.PositiveIntegerField(default=0)
    j_3 = models.PositiveIntegerField(default=0)
    j_4 = models.PositiveIntegerField(default=0)
    j_5 = models.PositiveIntegerField(default=0)
    j_6 = models.PositiveIntegerField(default=0)
    j_7 = models.PositiveIntegerField(default=0)
    j_8 = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "merchant_code", "counter_code"], name="journeyday_once"
            )
        ]
        indexes = [models.Index(fields=["merchant_code", "day"], name="journeyday_merchant")]

    def __str__(self) -> str:
        return f"{self.day} {self.merchant_code} {self.counter_code}"


class JourneyRollupMark(models.Model):
    """Every day up to `through` is rolled up (one row)."""

    through = models.DateField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"journey days through {self.through}"
