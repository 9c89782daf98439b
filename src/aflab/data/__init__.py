"""Measured data shipped with aflab (stability of the quick verdicts; see aflab.core.stability)."""
